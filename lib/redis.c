/* redis.c: hiredis with timeouts, lazy connect, reconnect after loss, and a back-off while down. */
#include "redis.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"

#define REDIS_RETRY_MS 1000

struct redis_conn *redis_conn_new(const struct store_config *cfg)
{
	struct redis_conn *r = calloc(1, sizeof(*r));
	if (r)
		r->cfg = cfg;
	return r;
}

static void drop(struct redis_conn *r, const char *why)
{
	if (r->c) {
		r->err = r->c->err ? r->c->err : REDIS_ERR_IO;
		snprintf(r->errstr, sizeof(r->errstr), "%s: %.100s", why, r->c->errstr[0] ? r->c->errstr : "no reply");
		redisFree(r->c);
	}
	r->c = NULL;
}

void redis_conn_free(struct redis_conn *r)
{
	if (!r)
		return;
	if (r->c)
		redisFree(r->c);
	free(r);
}

static int ensure(struct redis_conn *r)
{
	const struct store_config *cfg = r->cfg;
	long ms = cfg->redis_timeout_ms;
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	redisReply *reply;

	if (r->c)
		return 0;
	if (clock_now_ms() < r->retry_at_ms) {
		r->err = REDIS_ERR_IO;
		snprintf(r->errstr, sizeof(r->errstr), "down; next attempt later");
		return -1;
	}
	r->c = redisConnectWithTimeout(cfg->redis_host, (int)cfg->redis_port, tv);
	if (!r->c || r->c->err) {
		if (r->c)
			drop(r, "connect");
		r->retry_at_ms = clock_now_ms() + REDIS_RETRY_MS;
		return -1;
	}
	redisSetTimeout(r->c, tv);
	redisEnableKeepAlive(r->c);
	if (cfg->redis_password) {
		reply = redisCommand(r->c, "AUTH %s", cfg->redis_password);
		int ok = reply && reply->type == REDIS_REPLY_STATUS;
		if (reply)
			freeReplyObject(reply);
		if (!ok) {
			drop(r, "auth");
			r->retry_at_ms = clock_now_ms() + REDIS_RETRY_MS;
			return -1;
		}
	}
	r->err = 0;
	r->retry_at_ms = 0;
	return 0;
}

/*
 * A connection that was fine when last used fails at once after Redis restarted (the old
 * socket is closed). Such a failure is retried once on a new connection; a server that is
 * really down then fails the reconnect, and the back-off applies from there. (Our commands
 * tolerate a repeat: reads, idempotent writes, and at-least-once job entries.)
 */
static bool stale(const struct redis_conn *r)
{
	return r->c && (r->c->err == REDIS_ERR_EOF || r->c->err == REDIS_ERR_IO);
}

redisReply *redis_cmd(struct redis_conn *r, const char *fmt, ...)
{
	va_list ap;
	redisReply *reply = NULL;

	for (int attempt = 0; attempt < 2 && !reply; attempt++) {
		if (ensure(r) != 0)
			return NULL;
		va_start(ap, fmt);
		reply = redisvCommand(r->c, fmt, ap);
		va_end(ap);
		if (!reply) {
			bool retry = attempt == 0 && stale(r);
			drop(r, "command");
			if (!retry)
				break;
		}
	}
	return reply;
}

redisReply *redis_cmd_argv(struct redis_conn *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply = NULL;

	for (int attempt = 0; attempt < 2 && !reply; attempt++) {
		if (ensure(r) != 0)
			return NULL;
		reply = redisCommandArgv(r->c, argc, argv, lens);
		if (!reply) {
			bool retry = attempt == 0 && stale(r);
			drop(r, "command");
			if (!retry)
				break;
		}
	}
	return reply;
}

int redis_ping(struct redis_conn *r)
{
	redisReply *reply = redis_cmd(r, "PING");
	int ok = reply && reply->type == REDIS_REPLY_STATUS && strcmp(reply->str, "PONG") == 0;

	if (reply)
		freeReplyObject(reply);
	return ok ? 0 : -1;
}
