/* settings.h: the worker's own settings (SMTP, retries, consumer name, templates). */
#ifndef STORE_WORKER_SETTINGS_H
#define STORE_WORKER_SETTINGS_H

#include "config.h"

struct worker_settings {
	char *smtp_url;        /* STORE_SMTP_URL (required), e.g. smtp://127.0.0.1:2525 */
	char *smtp_from;       /* STORE_SMTP_FROM (required) */
	char *smtp_user;       /* STORE_SMTP_USER, optional */
	char *smtp_password;   /* STORE_SMTP_PASSWORD, optional */
	long smtp_timeout;     /* STORE_SMTP_TIMEOUT seconds 1..300, default 30 */
	long smtp_starttls;    /* STORE_SMTP_STARTTLS 0..1, default 0; 1: smtp:// must switch to TLS */
	long job_max_attempts; /* STORE_JOB_MAX_ATTEMPTS 1..100, default 8 */
	long job_idle_ms;      /* STORE_JOB_IDLE_MS 1000..3600000, default 60000 */
	char *worker_name;     /* STORE_WORKER_NAME, default hostname-pid */
	long job_backoff_ms;   /* STORE_JOB_BACKOFF_MS 100..3600000, default 30000: first retry wait, doubling */
	char *template_dir;    /* STORE_TEMPLATE_DIR, default: the installed worker templates */
	char *metrics_file;    /* STORE_METRICS_FILE, optional: Prometheus text file rewritten every 5 s */
};

#define WORKER_SETTINGS_NVARS 12
extern const struct config_var worker_settings_vars[WORKER_SETTINGS_NVARS];

#endif
