/* catalog.c: the catalogue version lease in Redis (catalog.h): read with a page, renewed from MariaDB, published by writers. */
#include "catalog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "ctx.h"
#include "db.h"
#include "log.h"
#include "redis.h"
#include "repo.h"
#include "validate.h"

#define VERSION_KEY "catalog:version"

/* KEYS[1] the lease; ARGV[1], ARGV[2] what goes before and after the version in a page's key.
 * Returns {version, page or nil}, or {nil, Redis's time in ms} when there is no lease. */
static const char script_page[] =
	"local v = redis.call('GET', KEYS[1]) "
	"if not v then local t = redis.call('TIME') "
	"return {false, tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)} end "
	"return {v, redis.call('GET', ARGV[1] .. v .. ARGV[2])}";

/* KEYS[1] the lease; ARGV[1] a version MariaDB had at ARGV[2] (ms, Redis's clock), ARGV[3] the
 * lease's length: held until ARGV[2] + ARGV[3], unless the key holds a newer version. Returns 1
 * when the key holds that version or a newer one; 0 when it does not and the lease would already
 * have ended (nothing is written then). */
static const char script_lease[] =
	"local t = redis.call('TIME') "
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) "
	"local v, at = tonumber(ARGV[1]), tonumber(ARGV[2]) + tonumber(ARGV[3]) "
	"local cur = tonumber(redis.call('GET', KEYS[1])) "
	"if cur and cur > v then return 1 end "
	"if at <= now then return cur == v and 1 or 0 end "
	"if cur == v then redis.call('PEXPIREAT', KEYS[1], at, 'GT') "
	"else redis.call('SET', KEYS[1], ARGV[1], 'PXAT', at) end "
	"return 1";

static void page_affixes(const char *hash, char suffix[CATALOG_HASH_MAX + 1])
{
	snprintf(suffix, CATALOG_HASH_MAX + 1, ":%s", hash);
}

enum catalog_page_result catalog_page(struct ctx *ctx, const char *hash, int64_t *version, char **page,
				      size_t *len, long long *lease_from)
{
	char suffix[CATALOG_HASH_MAX + 1];
	page_affixes(hash, suffix);
	*page = NULL;
	*len = 0;
	redisReply *rep =
		redis_cmd(ctx->redis, "EVAL %s 1 %s %s %s", script_page, VERSION_KEY, LIST_KEY_PREFIX, suffix);
	enum catalog_page_result res = CATALOG_DOWN;

	if (!rep)
		return CATALOG_DOWN;
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
		redisReply *v = rep->element[0], *p = rep->element[1];
		char *end;
		if (v->type == REDIS_REPLY_NIL && p->type == REDIS_REPLY_INTEGER) {
			*lease_from = p->integer;
			res = CATALOG_UNKNOWN;
		} else if (v->type == REDIS_REPLY_STRING && (*version = strtoll(v->str, &end, 10), *end == '\0')) {
			res = CATALOG_MISS;
			if (p->type == REDIS_REPLY_STRING && (*page = malloc(p->len + 1))) {
				memcpy(*page, p->str, p->len);
				(*page)[p->len] = '\0';
				*len = p->len;
				res = CATALOG_HIT;
			}
		}
	}
	if (res == CATALOG_DOWN)
		log_msg(LOG_WARN, "-", "catalogue version lease: unexpected reply (type %d)", rep->type);
	freeReplyObject(rep);
	return res;
}

int catalog_lease(struct ctx *ctx, int64_t version, long long from)
{
	redisReply *rep = redis_cmd(ctx->redis, "EVAL %s 1 %s %lld %lld %d", script_lease, VERSION_KEY,
				    (long long)version, from, CATALOG_LEASE_MS);
	int ok = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

/* Redis's time in ms (what a lease is counted from). Returns 0 or -1. */
static int redis_time_ms(struct ctx *ctx, long long *ms)
{
	redisReply *rep = redis_cmd(ctx->redis, "TIME");
	int ok = rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
		 rep->element[0]->type == REDIS_REPLY_STRING && rep->element[1]->type == REDIS_REPLY_STRING;
	if (ok)
		*ms = strtoll(rep->element[0]->str, NULL, 10) * 1000 + strtoll(rep->element[1]->str, NULL, 10) / 1000;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : -1;
}

void catalog_publish(struct ctx *ctx, const char *request_id)
{
	long long after_write = clock_now_ms(), from;
	int64_t version;
	/* The write's own error is what the caller answers with: the read below must not replace it. */
	enum db_err err = ctx->db->err;
	char errstr[sizeof(ctx->db->errstr)];
	memcpy(errstr, ctx->db->errstr, sizeof(errstr));

	int published = redis_time_ms(ctx, &from) == 0 && repo_catalog_version(ctx->db, &version) == 0 &&
			catalog_lease(ctx, version, from) == 0;
	ctx->db->err = err;
	memcpy(ctx->db->errstr, errstr, sizeof(errstr));
	if (published)
		return;
	/* A reader may have leased the version from before the write just before it committed:
	 * that lease ends within CATALOG_LEASE_MS. The answer waits until it has. */
	log_msg(LOG_WARN, request_id, "catalogue version not published (%s); answering after the lease ends",
		ctx->redis->err ? ctx->redis->errstr : "no lease taken");
	long long until = after_write + CATALOG_LEASE_MS + CATALOG_LEASE_MARGIN_MS, now;
	while ((now = clock_now_ms()) < until)
		clock_sleep_ms((long)(until - now));
}
