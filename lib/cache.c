/* cache.c: cache-aside on Redis with keys that carry the value's version (GET to read, SET EX to fill). */
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "redis.h"

enum cache_result cache_get(struct redis_conn *r, const char *key, char **value, size_t *len)
{
	redisReply *rep = redis_cmd(r, "GET %s", key);
	enum cache_result res = CACHE_DOWN;

	*value = NULL;
	*len = 0;
	if (!rep)
		return CACHE_DOWN;
	if (rep->type == REDIS_REPLY_STRING) {
		*value = malloc(rep->len + 1);
		if (*value) {
			memcpy(*value, rep->str, rep->len);
			(*value)[rep->len] = '\0';
			*len = rep->len;
			res = CACHE_HIT;
		}
	} else if (rep->type == REDIS_REPLY_NIL) {
		res = CACHE_MISS;
	}
	freeReplyObject(rep);
	return res;
}

int cache_put(struct redis_conn *r, const char *key, const char *value, size_t len, long ttl)
{
	char ttls[24];
	snprintf(ttls, sizeof(ttls), "%ld", ttl);
	const char *argv[] = {"SET", key, value, "EX", ttls};
	size_t lens[] = {3, strlen(key), len, 2, strlen(ttls)};
	redisReply *rep = redis_cmd_argv(r, 5, argv, lens);
	int ok = rep && rep->type == REDIS_REPLY_STATUS;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}
