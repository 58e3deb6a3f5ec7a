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

/* Redis's time, then MariaDB's version (after it), then the lease of that version.
 * Returns 0 (leased, or a newer version is), 1 (*version read but not leased), or -1 (MariaDB). */
static int lease_from_db(struct ctx *ctx, int64_t *version)
{
	long long from = 0;
	int timed = redis_time_ms(ctx, &from) == 0;
	if (repo_catalog_version(ctx->db, version) != 0)
		return -1;
	if (!timed)
		return 1;
	redisReply *rep = redis_cmd(ctx->redis, "EVAL %s 1 %s %lld %lld %d", script_lease, VERSION_KEY,
				    (long long)*version, from, CATALOG_LEASE_MS);
	int ok = rep && rep->type == REDIS_REPLY_INTEGER && rep->integer == 1;
	if (rep)
		freeReplyObject(rep);
	return ok ? 0 : 1;
}

enum catalog_page_result catalog_page(struct ctx *ctx, const char *key, int64_t *version, char **page,
				      size_t *len)
{
	*page = NULL;
	*len = 0;
	redisReply *rep = redis_cmd(ctx->redis, "MGET %s %s", VERSION_KEY, key);
	if (!rep)
		return CATALOG_DOWN;
	if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 2) {
		log_msg(LOG_WARN, "-", "catalogue lease: unexpected reply (type %d)", rep->type);
		freeReplyObject(rep);
		return CATALOG_DOWN;
	}
	redisReply *v = rep->element[0], *p = rep->element[1];
	enum catalog_page_result res = CATALOG_MISS;
	char *end;
	if (v->type == REDIS_REPLY_STRING && (*version = strtoll(v->str, &end, 10), *end == '\0' && end != v->str)) {
		/* leased */
	} else if (lease_from_db(ctx, version) < 0) {
		res = CATALOG_DB_ERROR;
	}
	size_t at;
	if (res == CATALOG_MISS && p->type == REDIS_REPLY_STRING &&
	    (at = list_page_body(p->str, p->len, *version)) > 0 && (*page = malloc(p->len - at + 1))) {
		memcpy(*page, p->str + at, p->len - at);
		(*page)[p->len - at] = '\0';
		*len = p->len - at;
		res = CATALOG_HIT;
	}
	freeReplyObject(rep);
	return res;
}

int catalog_page_put(struct ctx *ctx, const char *key, int64_t version, const char *page, size_t len, long ttl)
{
	char head[LIST_PAGE_HEAD_MAX], ttls[24];
	size_t hn = list_page_head(head, version);
	char *value = malloc(hn + len);
	if (!value)
		return -1;
	memcpy(value, head, hn);
	memcpy(value + hn, page, len);
	snprintf(ttls, sizeof(ttls), "%ld", ttl);
	const char *argv[] = {"SET", key, value, "EX", ttls};
	size_t lens[] = {3, strlen(key), hn + len, 2, strlen(ttls)};
	redisReply *rep = redis_cmd_argv(ctx->redis, 5, argv, lens);
	int ok = rep && rep->type == REDIS_REPLY_STATUS;
	if (rep)
		freeReplyObject(rep);
	free(value);
	return ok ? 0 : -1;
}

void catalog_publish(struct ctx *ctx, const char *request_id)
{
	long long after_write = clock_now_ms();
	int64_t version;
	/* The write's own error is what the caller answers with: the read below must not replace it. */
	enum db_err err = ctx->db->err;
	char errstr[sizeof(ctx->db->errstr)];
	memcpy(errstr, ctx->db->errstr, sizeof(errstr));
	int rc = lease_from_db(ctx, &version);
	ctx->db->err = err;
	memcpy(ctx->db->errstr, errstr, sizeof(errstr));
	if (rc == 0)
		return;
	/* A reader may have leased the version from before the write just before it committed:
	 * that lease ends within CATALOG_LEASE_MS. The answer waits until it has. */
	log_msg(LOG_WARN, request_id, "catalogue version not published (%s); answering after the lease ends",
		rc < 0 ? "MariaDB" : ctx->redis->err ? ctx->redis->errstr : "no lease taken");
	long long until = after_write + CATALOG_LEASE_MS + CATALOG_LEASE_MARGIN_MS, now;
	while ((now = clock_now_ms()) < until)
		clock_sleep_ms((long)(until - now));
}
