/* redis.h: hiredis with connect/command timeouts, lazy connect and reconnect after loss. */
#ifndef STORE_REDIS_H
#define STORE_REDIS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

struct store_config;

struct redis_conn {
	int err;            /* 0, or the hiredis REDIS_ERR_* of the last failure */
	char errstr[128];   /* for the log only */
	redisContext *c;    /* NULL while disconnected */
	const struct store_config *cfg;
	long long retry_at_ms; /* no reconnect attempt before this (monotonic ms) */
};

/* Creates an unconnected handle (cfg borrowed). Returns NULL on allocation failure. */
struct redis_conn *redis_conn_new(const struct store_config *cfg);

/* Disconnects and frees; accepts NULL. */
void redis_conn_free(struct redis_conn *r);

/*
 * Runs one command (hiredis format). Connects first if needed; after a refused
 * connection, further attempts wait 1 s so a down Redis costs callers nothing. A connection
 * the server has closed (Redis restarted) is replaced before the command is written; once
 * written, a command is never sent again (it may have run: a timeout is not "not done"),
 * so callers decide what a retry means.
 * Returns the reply (caller frees with freeReplyObject), an error reply included;
 * or NULL when Redis is unreachable, with r->err set and the connection dropped.
 */
redisReply *redis_cmd(struct redis_conn *r, const char *fmt, ...);

/* As redis_cmd with an argument vector (binary-safe). */
redisReply *redis_cmd_argv(struct redis_conn *r, int argc, const char **argv, const size_t *lens);

/* What every connection of the process has met so far, for lib/metrics: connections made,
 * attempts refused (or AUTH refused), and connections dropped (a failed command, or one the
 * server had closed, found before a command). */
struct redis_stats {
	unsigned long connects, connect_failures, drops;
};
void redis_stats(struct redis_stats *out);

/* Returns 0 if PING answers PONG, -1 otherwise. */
int redis_ping(struct redis_conn *r);

#endif
