/* ctx.h: the per-thread context a handler reaches through req->ctx: config, DB, Redis, client. */
#ifndef STORE_CTX_H
#define STORE_CTX_H

struct store_config;
struct db_conn;
struct redis_conn;
struct client;

/* One per thread; nothing in it is shared, so the request path takes no locks. */
struct ctx {
	const struct store_config *cfg;
	const char *service;      /* the program's name ("cart"): sent as the caller on internal calls */
	struct db_conn *db;       /* connects lazily; NULL if the service has no database */
	struct redis_conn *redis; /* connects lazily */
	struct client *client;    /* service-to-service HTTP, one kept-alive handle; never NULL in a server */
	void *data;               /* the service's own per-thread state */
	int thread_no;
};

#endif
