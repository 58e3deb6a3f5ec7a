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
	CONFIG_NEED_SMTP = 1u << 3,   /* STORE_SMTP_URL, STORE_SMTP_FROM */
};

struct store_config {
	char *listen;      /* STORE_LISTEN: unix path, host:port, or "fd:0" (default) */
	long threads;      /* STORE_THREADS 1..256, default 8 */
	long socket_mode;  /* STORE_SOCKET_MODE (octal) for a unix socket, default 0660 */
	long max_body;     /* STORE_MAX_BODY bytes 1..16 MiB, default 1 MiB */
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
	long refresh_ttl;   /* STORE_REFRESH_TTL seconds 300..31536000, default 2592000 */
	long pwhash_memlimit_kib; /* STORE_PWHASH_MEMLIMIT_KIB 19456..1048576, default 19456 */
	long pwhash_opslimit;     /* STORE_PWHASH_OPSLIMIT 2..10, default 2 */

	char *internal_url; /* STORE_INTERNAL_URL, default http://127.0.0.1:8081 */
	char *alert_email;  /* STORE_ALERT_EMAIL: where staff alerts (low stock) go, default ops@localhost */

	char *smtp_url;      /* STORE_SMTP_URL, e.g. smtp://127.0.0.1:2525 */
	char *smtp_from;     /* STORE_SMTP_FROM */
	char *smtp_user;     /* STORE_SMTP_USER, optional */
	char *smtp_password; /* STORE_SMTP_PASSWORD, optional */
	long smtp_timeout;   /* STORE_SMTP_TIMEOUT seconds 1..300, default 30 */
	long smtp_starttls;  /* STORE_SMTP_STARTTLS 0..1, default 0; 1: smtp:// must switch to TLS (STARTTLS) */
	long job_max_attempts; /* STORE_JOB_MAX_ATTEMPTS 1..100, default 8 */
	long job_idle_ms;      /* STORE_JOB_IDLE_MS 1000..3600000, default 60000 */
	char *worker_name;     /* STORE_WORKER_NAME, default hostname-pid */
	long job_backoff_ms;   /* STORE_JOB_BACKOFF_MS 100..3600000, default 30000: first retry wait, doubling */
	char *job_stream;      /* STORE_JOB_STREAM, default "jobs:email": the stream the worker drains */
	char *template_dir;    /* STORE_TEMPLATE_DIR, default: the installed worker templates */
};

/*
 * Fills `cfg` from the environment. Variables flagged by `need` must be set.
 * Returns 0, or -1 with a one-line message naming the variable in `err`;
 * on error `cfg` holds nothing that needs freeing. Free with config_free().
 */
int config_load(struct store_config *cfg, unsigned need, char *err, size_t errlen);

/* Frees the strings of `cfg` (not `cfg` itself); accepts a zeroed struct. */
void config_free(struct store_config *cfg);

#endif
