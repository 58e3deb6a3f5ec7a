/* redis.c: hiredis with timeouts, lazy connect, reconnect after loss, and a back-off while down. */
#include "redis.h"

#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
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

/* Process-wide counts for lib/metrics (redis_stats). */
static atomic_ulong stat_connects, stat_connect_failures, stat_drops;

void redis_stats(struct redis_stats *out)
{
	out->connects = atomic_load_explicit(&stat_connects, memory_order_relaxed);
	out->connect_failures = atomic_load_explicit(&stat_connect_failures, memory_order_relaxed);
	out->drops = atomic_load_explicit(&stat_drops, memory_order_relaxed);
}

static void drop(struct redis_conn *r, const char *why)
{
	atomic_fetch_add_explicit(&stat_drops, 1, memory_order_relaxed);
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
		atomic_fetch_add_explicit(&stat_connect_failures, 1, memory_order_relaxed);
		if (r->c) {
			drop(r, "connect");
			atomic_fetch_sub_explicit(&stat_drops, 1, memory_order_relaxed); /* never connected */
		}
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
			/* Counted as a failed connect (a wrong password is "cannot connect"), not a drop. */
			atomic_fetch_sub_explicit(&stat_drops, 1, memory_order_relaxed);
			atomic_fetch_add_explicit(&stat_connect_failures, 1, memory_order_relaxed);
			r->retry_at_ms = clock_now_ms() + REDIS_RETRY_MS;
			return -1;
		}
	}
	r->err = 0;
	r->retry_at_ms = 0;
	atomic_fetch_add_explicit(&stat_connects, 1, memory_order_relaxed);
	return 0;
}

/*
 * Redis sends nothing unasked on a RESP2 connection, so an idle socket that is readable
 * (end of file, a reset) was closed by the server: restarted, or its idle timeout. Such a
 * connection is replaced *before* a command is written to it. A command that fails once
 * written is never sent again: it may have run (a timeout, a reply lost), and sending an
 * INCR, an XADD or a token rotation twice is not the same as sending it once.
 */
static bool closed_by_server(const struct redis_conn *r)
{
	struct pollfd p = {.fd = r->c->fd, .events = POLLIN};
	return poll(&p, 1, 0) != 0;
}

static int ready(struct redis_conn *r)
{
	if (r->c && closed_by_server(r))
		drop(r, "closed by the server");
	return ensure(r);
}

redisReply *redis_cmd(struct redis_conn *r, const char *fmt, ...)
{
	va_list ap;
	redisReply *reply;

	if (ready(r) != 0)
		return NULL;
	va_start(ap, fmt);
	reply = redisvCommand(r->c, fmt, ap);
	va_end(ap);
	if (!reply)
		drop(r, "command");
	return reply;
}

redisReply *redis_cmd_argv(struct redis_conn *r, int argc, const char **argv, const size_t *lens)
{
	redisReply *reply;

	if (ready(r) != 0)
		return NULL;
	reply = redisCommandArgv(r->c, argc, argv, lens);
	if (!reply)
		drop(r, "command");
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
