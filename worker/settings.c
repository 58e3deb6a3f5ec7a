/* settings.c: the worker's settings table (the job stream, STORE_JOB_STREAM, is shared: lib/config). */
#include "settings.h"

#include <stddef.h>

#include "config.h"

#define STR(f) CONFIG_STR, offsetof(struct worker_settings, f)
#define INT(f) CONFIG_INT, offsetof(struct worker_settings, f)

const struct config_var worker_settings_vars[WORKER_SETTINGS_NVARS] = {
	{"STORE_SMTP_URL", STR(smtp_url), NULL, 8, 1024, CONFIG_REQUIRED},
	{"STORE_SMTP_FROM", STR(smtp_from), NULL, 3, 254, CONFIG_REQUIRED},
	{"STORE_SMTP_USER", STR(smtp_user), NULL, 1, 256, 0},
	{"STORE_SMTP_PASSWORD", STR(smtp_password), NULL, 1, 256, 0},
	{"STORE_SMTP_TIMEOUT", INT(smtp_timeout), "30", 1, 300, 0},
	{"STORE_SMTP_STARTTLS", INT(smtp_starttls), "0", 0, 1, 0},
	{"STORE_JOB_MAX_ATTEMPTS", INT(job_max_attempts), "8", 1, 100, 0},
	{"STORE_JOB_IDLE_MS", INT(job_idle_ms), "60000", 1000, 3600000, 0},
	{"STORE_WORKER_NAME", STR(worker_name), NULL, 1, 128, 0},
	{"STORE_JOB_BACKOFF_MS", INT(job_backoff_ms), "30000", 100, 3600000, 0},
	{"STORE_TEMPLATE_DIR", STR(template_dir), NULL, 1, 1024, 0},
	{"STORE_METRICS_FILE", STR(metrics_file), NULL, 1, 1024, 0},
};
