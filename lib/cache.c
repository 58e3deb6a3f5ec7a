/* cache.c: versioned cache-aside on Redis (MGET to read, Lua check-and-set to fill, INCR+DEL to invalidate). */
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

/* KEYS[1] value, KEYS[2] version; ARGV value, expected version ("" = none yet), ttl. */
static const char put_lua[] = "if (redis.call('GET', KEYS[2]) or '') == ARGV[2] then "
			      "  redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3]) "
			      "end "
			      "return 1";

/* KEYS[1] value, KEYS[2] version. The version outlives values so a late put always sees the bump. */
static const char inval_lua[] = "redis.call('INCR', KEYS[2]) "
				"redis.call('EXPIRE', KEYS[2], 86400) "
				"redis.call('DEL', KEYS[1]) "
				"return 1";

enum cache_result cache_get(struct redis_conn *r, const char *key, char **value, size_t *len,
			    char ver[CACHE_VER_MAX])
{
	redisReply *rep = redis_cmd(r, "MGET %s %s:v", key, key);
	enum cache_result res = CACHE_DOWN;

	*value = NULL;
	*len = 0;
	ver[0] = '\0';
	if (!rep)
		return CACHE_DOWN;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
		redisReply *v = rep->element[0], *n = rep->element[1];
		if (v->type == REDIS_REPLY_STRING) {
			*value = malloc(v->len + 1);
			if (*value) {
				memcpy(*value, v->str, v->len);
				(*value)[v->len] = '\0';
				*len = v->len;
				res = CACHE_HIT;
			}
		} else {
			if (n->type == REDIS_REPLY_STRING)
				snprintf(ver, CACHE_VER_MAX, "%s", n->str);
			res = CACHE_MISS;
		}
	}
	freeReplyObject(rep);
	return res;
}

int cache_put(struct redis_conn *r, const char *key, const char *ver, const char *value, size_t len, long ttl)
{
	char vkey[256], ttls[24];
	snprintf(vkey, sizeof(vkey), "%s:v", key);
	snprintf(ttls, sizeof(ttls), "%ld", ttl);
	const char *argv[] = {"EVAL", put_lua, "2", key, vkey, value, ver, ttls};
	size_t lens[] = {4, sizeof(put_lua) - 1, 1, strlen(key), strlen(vkey), len, strlen(ver), strlen(ttls)};
	redisReply *rep = redis_cmd_argv(r, 8, argv, lens);
	int ok = rep && rep->type == REDIS_REPLY_INTEGER;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

int cache_invalidate(struct redis_conn *r, const char *key)
{
	redisReply *rep = redis_cmd(r, "EVAL %s 2 %s %s:v", inval_lua, key, key);
	int ok = rep && rep->type == REDIS_REPLY_INTEGER;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}
