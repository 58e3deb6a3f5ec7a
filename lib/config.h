/* config.h: STORE_* environment variables read once into one struct, with defaults and bounds. */
#ifndef STORE_CONFIG_H
#define STORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* What a program needs; config_load() requires the matching variables. */
enum config_need {
	CONFIG_NEED_LISTEN = 1u << 0, /* STORE_LISTEN */
	CONFIG_NEED_DB = 1u << 1,     /* STORE_DB_NAME, STORE_DB_USER, STORE_DB_PASSWORD */
	CONFIG_NEED_JWT = 1u << 2,    /* STORE_JWT_SECRET (32+ bytes) */
	CONFIG_REQUIRED = 1u << 30,   /* a program's own variable that must be set */
};

/* What every program shares. A program's own settings are a table of its own (config_var). */
struct store_config {
	char *listen;      /* STORE_LISTEN: unix path, host:port, or "fd:0" (default) */
	long threads;      /* STORE_THREADS 1..256, default 8 */
	long socket_mode;  /* STORE_SOCKET_MODE (octal) for a unix socket, default 0660 */
	long max_body;     /* STORE_MAX_BODY bytes 1..16 MiB, default 1 MiB: the cap on a request body */
	char *log_level;   /* STORE_LOG_LEVEL: debug|info|warn|error, default info */

	char *db_host;     /* STORE_DB_HOST, default 127.0.0.1 */
	long db_port;      /* STORE_DB_PORT, default 3306 */
	char *db_socket;   /* STORE_DB_SOCKET, optional unix socket (wins over host) */
	char *db_name;     /* STORE_DB_NAME */
	char *db_user;     /* STORE_DB_USER */
	char *db_password; /* STORE_DB_PASSWORD */
	long db_timeout;   /* STORE_DB_TIMEOUT seconds 1..60, default 5 */

	char *redis_host;     /* STORE_REDIS_HOST, default 127.0.0.1 */
	long redis_port;      /* STORE_REDIS_PORT, default 6379 */
	char *redis_password; /* STORE_REDIS_PASSWORD, optional */
	long redis_timeout_ms;/* STORE_REDIS_TIMEOUT_MS 10..60000, default 500 */

	char *jwt_secret;   /* STORE_JWT_SECRET, at least 32 bytes */
	char *jwt_issuer;   /* STORE_JWT_ISSUER, default "store" */
	char *jwt_audience; /* STORE_JWT_AUDIENCE, default "store-api" */
	long access_ttl;    /* STORE_ACCESS_TTL seconds 60..86400, default 900 */

	char *internal_url; /* STORE_INTERNAL_URL, default http://127.0.0.1:8081 */
	char *job_stream;   /* STORE_JOB_STREAM, default JOBS_STREAM ("jobs:email"): where services
			       put e-mail jobs and the worker takes them */
};

/*
 * Fills `cfg` from the environment. Variables flagged by `need` must be set, and
 * STORE_REDIS_PASSWORD whenever STORE_REDIS_HOST is not loopback.
 * Returns 0, or -1 with a one-line message naming the variable in `err`;
 * on error `cfg` holds nothing that needs freeing. Free with config_free().
 */
int config_load(struct store_config *cfg, unsigned need, char *err, size_t errlen);

/* true for "localhost", "::1" and 127.0.0.0/8 (a dotted address starting "127.", digits and dots only). */
bool config_host_is_loopback(const char *host);

/* Frees the strings of `cfg` (not `cfg` itself); accepts a zeroed struct. */
void config_free(struct store_config *cfg);

/* --- a program's own settings ------------------------------------------------------ */

enum config_kind { CONFIG_STR, CONFIG_INT, CONFIG_OCTAL };

/* One variable: where it goes in the program's settings struct (a char * for CONFIG_STR, a
 * long otherwise), its default, its bounds, and when it is required. */
struct config_var {
	const char *name;
	enum config_kind kind;
	size_t offset;
	const char *def; /* NULL: no default */
	long min, max;   /* numbers: value bounds; strings: byte length bounds */
	unsigned need;   /* required when any of these bits is asked for; CONFIG_REQUIRED: always */
};

/*
 * Fills the struct at `dest` from the environment by vars[0..n) (the offsetof pattern of
 * lib/config.c's own table). Returns 0, or -1 with a one-line message naming the variable
 * in `err`, leaving nothing to free. Free with config_free_vars().
 */
int config_load_vars(const struct config_var *vars, size_t n, void *dest, char *err, size_t errlen);

/* Frees the strings the table put in `dest` and zeroes them; accepts NULL. */
void config_free_vars(const struct config_var *vars, size_t n, void *dest);

#endif
