/* server.h: a FastCGI service: socket, N accepting threads with their own context, SIGTERM. */
#ifndef STORE_SERVER_H
#define STORE_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"
#include "ctx.h"

struct store_config;
struct config_var;
struct route;
struct request;

struct service {
	const char *name;           /* "user": log tag */
	unsigned need;              /* config_need flags besides LISTEN */
	const struct route *routes;
	size_t nroutes;
	/* Checks a caller against a route's role (writes the 401/403/503 and returns -1 on refusal).
	 * NULL: auth_require when the service needs JWT, else signed-in routes answer 500. */
	int (*authorize)(struct request *req, enum role need);
	/* Optional: once at start after config (return -1 to abort), and per thread. */
	int (*init)(const struct store_config *cfg);
	int (*thread_init)(struct ctx *ctx);
	void (*thread_free)(struct ctx *ctx);
	/* Optional: runs in its own thread with its own context (e.g. a sweeper) until
	 * server_stopping() turns true; it should check at least once a second. */
	void (*background)(struct ctx *ctx);
	/* Optional: the program's own settings, a table filled into `settings_dest` at start after
	 * the shared configuration (a missing required variable stops the program with its name). */
	const struct config_var *settings;
	size_t nsettings;
	void *settings_dest;
	/* true: the service writes outbox rows (lib/outbox.h, table from sql/shared/outbox.sql) and
	 * a relay thread of its own delivers them. */
	bool outbox;
};

/* true once SIGTERM/SIGINT arrived: background loops end, no new request is accepted. */
bool server_stopping(void);

/*
 * Loads configuration, opens the socket named by STORE_LISTEN (unix path,
 * host:port, ":port", or "fd:0" / systemd socket activation), runs cfg.threads
 * accepting threads and serves until SIGTERM or SIGINT, then stops accepting,
 * waits for requests in flight and returns 0. Returns 1 on a start-up error
 * (after printing one line saying why).
 */
int server_main(const struct service *svc);

#endif
