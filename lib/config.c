/* config.c: STORE_* environment variables read once into struct store_config. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"
#include "parse.h"

#define STR(f) CONFIG_STR, offsetof(struct store_config, f)
#define INT(f) CONFIG_INT, offsetof(struct store_config, f)
#define OCT(f) CONFIG_OCTAL, offsetof(struct store_config, f)

static const struct config_var vars[] = {
	{"STORE_LISTEN", STR(listen), "fd:0", 1, 1024, 0},
	{"STORE_THREADS", INT(threads), "8", 1, 256, 0},
	{"STORE_SOCKET_MODE", OCT(socket_mode), "0660", 0, 0777, 0},
	{"STORE_MAX_BODY", INT(max_body), "1048576", 1, 16777216, 0},
	{"STORE_LOG_LEVEL", STR(log_level), "info", 1, 16, 0},

	{"STORE_DB_HOST", STR(db_host), "127.0.0.1", 1, 255, 0},
	{"STORE_DB_PORT", INT(db_port), "3306", 1, 65535, 0},
	{"STORE_DB_SOCKET", STR(db_socket), NULL, 1, 1024, 0},
	{"STORE_DB_NAME", STR(db_name), NULL, 1, 64, CONFIG_NEED_DB},
	{"STORE_DB_USER", STR(db_user), NULL, 1, 80, CONFIG_NEED_DB},
	{"STORE_DB_PASSWORD", STR(db_password), NULL, 1, 256, CONFIG_NEED_DB},
	{"STORE_DB_TIMEOUT", INT(db_timeout), "5", 1, 60, 0},

	{"STORE_REDIS_HOST", STR(redis_host), "127.0.0.1", 1, 255, 0},
	{"STORE_REDIS_PORT", INT(redis_port), "6379", 1, 65535, 0},
	{"STORE_REDIS_PASSWORD", STR(redis_password), NULL, 1, 512, 0},
	{"STORE_REDIS_TIMEOUT_MS", INT(redis_timeout_ms), "500", 10, 60000, 0},

	{"STORE_JWT_SECRET", STR(jwt_secret), NULL, 32, 1024, CONFIG_NEED_JWT},
	{"STORE_JWT_ISSUER", STR(jwt_issuer), "store", 1, 128, 0},
	{"STORE_JWT_AUDIENCE", STR(jwt_audience), "store-api", 1, 128, 0},
	{"STORE_ACCESS_TTL", INT(access_ttl), "900", 60, 86400, 0},

	{"STORE_INTERNAL_URL", STR(internal_url), "http://127.0.0.1:8081", 8, 1024, 0},
	{"STORE_JOB_STREAM", STR(job_stream), JOBS_STREAM, 1, 200, 0},
};
#define NVARS (sizeof(vars) / sizeof(vars[0]))

static int set_one(void *dest, const struct config_var *v, const char *val, char *err, size_t errlen)
{
	char *base = (char *)dest + v->offset;
	int64_t n;

	switch (v->kind) {
	case CONFIG_STR: {
		size_t len = strlen(val);
		if (len < (size_t)v->min || len > (size_t)v->max) {
			snprintf(err, errlen, "%s must be %ld to %ld bytes long", v->name, v->min, v->max);
			return -1;
		}
		char *copy = strdup(val);
		if (!copy) {
			snprintf(err, errlen, "out of memory reading %s", v->name);
			return -1;
		}
		memcpy(base, &copy, sizeof(copy));
		return 0;
	}
	case CONFIG_INT:
		if (!parse_i64(val, v->min, v->max, &n)) {
			snprintf(err, errlen, "%s must be an integer from %ld to %ld", v->name, v->min, v->max);
			return -1;
		}
		break;
	case CONFIG_OCTAL: {
		char *end;
		errno = 0;
		unsigned long u = strtoul(val, &end, 8);
		if (errno || end == val || *end || val[0] == '-' || u > (unsigned long)v->max) {
			snprintf(err, errlen, "%s must be an octal mode from 0 to %lo", v->name, v->max);
			return -1;
		}
		n = (int64_t)u;
		break;
	}
	default:
		return -1;
	}
	long l = (long)n;
	memcpy(base, &l, sizeof(l));
	return 0;
}

bool config_host_is_loopback(const char *host)
{
	if (!host)
		return true;
	return strcmp(host, "localhost") == 0 || strcmp(host, "::1") == 0 ||
	       (strncmp(host, "127.", 4) == 0 && strspn(host, "0123456789.") == strlen(host));
}

/* Loads a table into `dest` asking for `need`; on error frees what it set and returns -1. */
static int load_table(const struct config_var *tab, size_t n, void *dest, unsigned need, char *err, size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		const struct config_var *v = &tab[i];
		const char *val = getenv(v->name);

		if (val && !*val)
			val = NULL; /* an empty variable counts as unset */
		if (!val && (v->need & need)) {
			snprintf(err, errlen, "%s is required but not set", v->name);
			goto fail;
		}
		if (!val)
			val = v->def;
		if (!val)
			continue;
		if (set_one(dest, v, val, err, errlen) != 0)
			goto fail;
	}
	return 0;
fail:
	config_free_vars(tab, n, dest);
	return -1;
}

int config_load_vars(const struct config_var *tab, size_t n, void *dest, char *err, size_t errlen)
{
	return load_table(tab, n, dest, CONFIG_REQUIRED, err, errlen);
}

void config_free_vars(const struct config_var *tab, size_t n, void *dest)
{
	if (!dest)
		return;
	for (size_t i = 0; i < n; i++) {
		if (tab[i].kind != CONFIG_STR)
			continue;
		char *p, *none = NULL;
		memcpy(&p, (char *)dest + tab[i].offset, sizeof(p));
		free(p);
		memcpy((char *)dest + tab[i].offset, &none, sizeof(none));
	}
}

int config_load(struct store_config *cfg, unsigned need, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	if (load_table(vars, NVARS, cfg, need, err, errlen) != 0)
		goto fail;
	/* Redis holds sessions: one reachable beyond this host must not be open to whoever can reach it. */
	if (!config_host_is_loopback(cfg->redis_host) && !cfg->redis_password) {
		snprintf(err, errlen, "STORE_REDIS_PASSWORD is required when STORE_REDIS_HOST (%.100s) is not loopback",
			 cfg->redis_host);
		goto fail;
	}
	const char *store_listen = getenv("STORE_LISTEN"), *fds = getenv("LISTEN_FDS");
	/* Empty counts as unset here too, as in the table. */
	if ((need & CONFIG_NEED_LISTEN) && !(store_listen && *store_listen) && !(fds && *fds)) {
		snprintf(err, errlen, "STORE_LISTEN is required but not set");
		goto fail;
	}
	return 0;
fail:
	config_free(cfg);
	return -1;
}

void config_free(struct store_config *cfg)
{
	if (!cfg)
		return;
	config_free_vars(vars, NVARS, cfg);
	memset(cfg, 0, sizeof(*cfg));
}
