/* test_config.c: STORE_* environment loading with defaults, bounds and required variables (lib/config.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

extern char **environ;

/* Each test runs in its own process; start it from an environment without STORE_* or LISTEN_FDS. */
static void clean_env(void)
{
	char names[256][128];
	size_t n = 0;

	for (char **e = environ; e && *e && n < 256; e++) {
		const char *eq = strchr(*e, '=');
		size_t len = eq ? (size_t)(eq - *e) : strlen(*e);
		if (len < sizeof(names[0]) && (strncmp(*e, "STORE_", 6) == 0 || strncmp(*e, "LISTEN_FDS=", 11) == 0)) {
			memcpy(names[n], *e, len);
			names[n][len] = '\0';
			n++;
		}
	}
	for (size_t i = 0; i < n; i++)
		unsetenv(names[i]);
}

TestSuite(config, .init = clean_env);

static char err[256];

/* Loads with `need`, expecting success. */
static void load_ok(struct store_config *cfg, unsigned need)
{
	err[0] = '\0';
	int rc = config_load(cfg, need, err, sizeof(err));
	cr_assert(eq(int, rc, 0), "config_load failed: %s", err);
}

/* Loads with `need`, expecting failure with a message naming `var`; checks nothing is left to free. */
static void load_fails_naming(unsigned need, const char *var)
{
	struct store_config cfg;
	memset(&cfg, 0xa5, sizeof(cfg));
	err[0] = '\0';
	cr_assert(eq(int, config_load(&cfg, need, err, sizeof(err)), -1), "config_load accepted (wanted %s error)", var);
	cr_assert(not(zero(ptr, strstr(err, var))), "message \"%s\" does not name %s", err, var);
	cr_assert(zero(ptr, strchr(err, '\n')), "message is not one line: \"%s\"", err);
	/* "on error cfg holds nothing that needs freeing" */
	cr_assert(zero(ptr, cfg.listen));
	cr_assert(zero(ptr, cfg.log_level));
	cr_assert(zero(ptr, cfg.db_host));
	cr_assert(zero(ptr, cfg.jwt_issuer));
}

static const char secret32[] = "0123456789abcdef0123456789abcdef";

/* --- defaults ---------------------------------------------------------------- */

Test(config, defaults_when_nothing_set)
{
	struct store_config cfg;
	load_ok(&cfg, 0);
	cr_assert(eq(str, cfg.listen, "fd:0"));
	cr_assert(eq(long, cfg.threads, 8));
	cr_assert(eq(long, cfg.socket_mode, 0660));
	cr_assert(eq(long, cfg.max_body, 1048576));
	cr_assert(eq(str, cfg.log_level, "info"));
	cr_assert(eq(str, cfg.db_host, "127.0.0.1"));
	cr_assert(eq(long, cfg.db_port, 3306));
	cr_assert(zero(ptr, cfg.db_socket));
	cr_assert(zero(ptr, cfg.db_name));
	cr_assert(zero(ptr, cfg.db_user));
	cr_assert(zero(ptr, cfg.db_password));
	cr_assert(eq(long, cfg.db_timeout, 5));
	cr_assert(eq(str, cfg.redis_host, "127.0.0.1"));
	cr_assert(eq(long, cfg.redis_port, 6379));
	cr_assert(zero(ptr, cfg.redis_password));
	cr_assert(eq(long, cfg.redis_timeout_ms, 500));
	cr_assert(zero(ptr, cfg.jwt_secret));
	cr_assert(eq(str, cfg.jwt_issuer, "store"));
	cr_assert(eq(str, cfg.jwt_audience, "store-api"));
	cr_assert(eq(long, cfg.access_ttl, 900));
	cr_assert(eq(str, cfg.internal_url, "http://127.0.0.1:8081"));
	cr_assert(eq(str, cfg.job_stream, "jobs:email"));
	config_free(&cfg);
}

Test(config, values_are_read)
{
	struct store_config cfg;
	setenv("STORE_THREADS", "3", 1);
	setenv("STORE_DB_HOST", "db.internal", 1);
	setenv("STORE_DB_SOCKET", "/run/mysqld/mysqld.sock", 1);
	setenv("STORE_REDIS_PASSWORD", "hunter2", 1);
	setenv("STORE_JWT_ISSUER", "shop", 1);
	load_ok(&cfg, 0);
	cr_assert(eq(long, cfg.threads, 3));
	cr_assert(eq(str, cfg.db_host, "db.internal"));
	cr_assert(eq(str, cfg.db_socket, "/run/mysqld/mysqld.sock"));
	cr_assert(eq(str, cfg.redis_password, "hunter2"));
	cr_assert(eq(str, cfg.jwt_issuer, "shop"));
	config_free(&cfg);
}

Test(config, free_zeroes_and_accepts_null_and_zeroed)
{
	struct store_config cfg;
	load_ok(&cfg, 0);
	config_free(&cfg);
	cr_assert(zero(ptr, cfg.listen));
	cr_assert(eq(long, cfg.threads, 0));
	config_free(&cfg); /* freeing twice is harmless: the struct was zeroed */
	config_free(NULL);
	struct store_config zeroed = {0};
	config_free(&zeroed);
}

/* --- empty counts as unset ---------------------------------------------------- */

Test(config, empty_number_takes_default)
{
	struct store_config cfg;
	setenv("STORE_THREADS", "", 1);
	setenv("STORE_LOG_LEVEL", "", 1);
	load_ok(&cfg, 0);
	cr_assert(eq(long, cfg.threads, 8));
	cr_assert(eq(str, cfg.log_level, "info"));
	config_free(&cfg);
}

Test(config, empty_optional_string_stays_unset)
{
	struct store_config cfg;
	setenv("STORE_REDIS_PASSWORD", "", 1);
	setenv("STORE_DB_SOCKET", "", 1);
	load_ok(&cfg, 0);
	cr_assert(zero(ptr, cfg.redis_password));
	cr_assert(zero(ptr, cfg.db_socket));
	config_free(&cfg);
}

Test(config, empty_required_variable_is_missing)
{
	setenv("STORE_DB_NAME", "", 1);
	setenv("STORE_DB_USER", "user", 1);
	setenv("STORE_DB_PASSWORD", "pw", 1);
	load_fails_naming(CONFIG_NEED_DB, "STORE_DB_NAME");
}

/* Was accepted: the STORE_LISTEN check looked at getenv() != NULL, so "" passed as set. */
Test(config, empty_store_listen_is_missing)
{
	setenv("STORE_LISTEN", "", 1);
	load_fails_naming(CONFIG_NEED_LISTEN, "STORE_LISTEN");
}

Test(config, empty_listen_fds_is_missing)
{
	setenv("LISTEN_FDS", "", 1);
	load_fails_naming(CONFIG_NEED_LISTEN, "STORE_LISTEN");
}

/* --- required variables ----------------------------------------------------------- */

Test(config, listen_required_names_it)
{
	load_fails_naming(CONFIG_NEED_LISTEN, "STORE_LISTEN");
}

Test(config, listen_satisfied_by_store_listen)
{
	struct store_config cfg;
	setenv("STORE_LISTEN", "127.0.0.1:9001", 1);
	load_ok(&cfg, CONFIG_NEED_LISTEN);
	cr_assert(eq(str, cfg.listen, "127.0.0.1:9001"));
	config_free(&cfg);
}

Test(config, listen_satisfied_by_socket_activation)
{
	struct store_config cfg;
	setenv("LISTEN_FDS", "1", 1);
	load_ok(&cfg, CONFIG_NEED_LISTEN);
	cr_assert(eq(str, cfg.listen, "fd:0"));
	config_free(&cfg);
}

Test(config, db_required_names_first_missing)
{
	load_fails_naming(CONFIG_NEED_DB, "STORE_DB_NAME");
}

Test(config, db_required_names_user)
{
	setenv("STORE_DB_NAME", "store_user", 1);
	load_fails_naming(CONFIG_NEED_DB, "STORE_DB_USER");
}

Test(config, db_required_names_password)
{
	setenv("STORE_DB_NAME", "store_user", 1);
	setenv("STORE_DB_USER", "user_svc", 1);
	load_fails_naming(CONFIG_NEED_DB, "STORE_DB_PASSWORD");
}

Test(config, db_complete)
{
	struct store_config cfg;
	setenv("STORE_DB_NAME", "store_user", 1);
	setenv("STORE_DB_USER", "user_svc", 1);
	setenv("STORE_DB_PASSWORD", "pw", 1);
	load_ok(&cfg, CONFIG_NEED_DB);
	cr_assert(eq(str, cfg.db_name, "store_user"));
	cr_assert(eq(str, cfg.db_user, "user_svc"));
	cr_assert(eq(str, cfg.db_password, "pw"));
	config_free(&cfg);
}

Test(config, jwt_required_names_it)
{
	load_fails_naming(CONFIG_NEED_JWT, "STORE_JWT_SECRET");
}

Test(config, jwt_secret_31_bytes_rejected)
{
	setenv("STORE_JWT_SECRET", "0123456789abcdef0123456789abcde", 1);
	load_fails_naming(CONFIG_NEED_JWT, "STORE_JWT_SECRET");
}

Test(config, jwt_secret_short_rejected_even_when_not_required)
{
	/* A short key is a mistake whether or not this program needs it. */
	setenv("STORE_JWT_SECRET", "short", 1);
	load_fails_naming(0, "STORE_JWT_SECRET");
}

Test(config, jwt_secret_32_bytes_accepted)
{
	struct store_config cfg;
	setenv("STORE_JWT_SECRET", secret32, 1);
	load_ok(&cfg, CONFIG_NEED_JWT);
	cr_assert(eq(str, cfg.jwt_secret, (char *)secret32));
	config_free(&cfg);
}

Test(config, jwt_secret_1024_ok_1025_rejected)
{
	char big[1026];
	struct store_config cfg;
	memset(big, 'k', 1024);
	big[1024] = '\0';
	setenv("STORE_JWT_SECRET", big, 1);
	load_ok(&cfg, CONFIG_NEED_JWT);
	cr_assert(eq(sz, strlen(cfg.jwt_secret), 1024));
	config_free(&cfg);
	big[1024] = 'k';
	big[1025] = '\0';
	setenv("STORE_JWT_SECRET", big, 1);
	load_fails_naming(CONFIG_NEED_JWT, "STORE_JWT_SECRET");
}

Test(config, several_needs_together)
{
	struct store_config cfg;
	setenv("STORE_LISTEN", "/run/store/user.sock", 1);
	setenv("STORE_DB_NAME", "n", 1);
	setenv("STORE_DB_USER", "u", 1);
	setenv("STORE_DB_PASSWORD", "p", 1);
	load_fails_naming(CONFIG_NEED_LISTEN | CONFIG_NEED_DB | CONFIG_NEED_JWT, "STORE_JWT_SECRET");
	setenv("STORE_JWT_SECRET", secret32, 1);
	load_ok(&cfg, CONFIG_NEED_LISTEN | CONFIG_NEED_DB | CONFIG_NEED_JWT);
	config_free(&cfg);
}

/* --- numeric bounds ------------------------------------------------------------- */

static void int_ok(const char *var, const char *val, long want, size_t offset)
{
	struct store_config cfg;
	setenv(var, val, 1);
	load_ok(&cfg, 0);
	long got;
	memcpy(&got, (char *)&cfg + offset, sizeof(got));
	cr_assert(eq(long, got, want), "%s=%s", var, val);
	config_free(&cfg);
	unsetenv(var);
}

static void int_bad(const char *var, const char *val)
{
	setenv(var, val, 1);
	load_fails_naming(0, var);
	unsetenv(var);
}

#define OFF(f) offsetof(struct store_config, f)

Test(config, threads_bounds)
{
	int_ok("STORE_THREADS", "1", 1, OFF(threads));
	int_ok("STORE_THREADS", "256", 256, OFF(threads));
	int_bad("STORE_THREADS", "0");
	int_bad("STORE_THREADS", "257");
	int_bad("STORE_THREADS", "-1");
}

Test(config, number_wrong_type_rejected)
{
	int_bad("STORE_THREADS", "abc");
	int_bad("STORE_THREADS", "8 ");
	int_bad("STORE_THREADS", " 8");
	int_bad("STORE_THREADS", "+8");
	int_bad("STORE_THREADS", "08");
	int_bad("STORE_THREADS", "8.0");
	int_bad("STORE_THREADS", "0x8");
	int_bad("STORE_THREADS", "99999999999999999999999");
}

Test(config, max_body_bounds)
{
	int_ok("STORE_MAX_BODY", "1", 1, OFF(max_body));
	int_ok("STORE_MAX_BODY", "16777216", 16777216, OFF(max_body));
	int_bad("STORE_MAX_BODY", "16777217");
	int_bad("STORE_MAX_BODY", "0");
}

Test(config, port_bounds)
{
	int_ok("STORE_DB_PORT", "65535", 65535, OFF(db_port));
	int_bad("STORE_DB_PORT", "65536");
	int_bad("STORE_DB_PORT", "0");
	int_ok("STORE_REDIS_PORT", "1", 1, OFF(redis_port));
	int_bad("STORE_REDIS_PORT", "-6379");
}

Test(config, timeouts_bounds)
{
	int_ok("STORE_REDIS_TIMEOUT_MS", "10", 10, OFF(redis_timeout_ms));
	int_bad("STORE_REDIS_TIMEOUT_MS", "9");
	int_ok("STORE_REDIS_TIMEOUT_MS", "60000", 60000, OFF(redis_timeout_ms));
	int_bad("STORE_REDIS_TIMEOUT_MS", "60001");
	int_ok("STORE_DB_TIMEOUT", "60", 60, OFF(db_timeout));
	int_bad("STORE_DB_TIMEOUT", "61");
	int_ok("STORE_ACCESS_TTL", "60", 60, OFF(access_ttl));
	int_bad("STORE_ACCESS_TTL", "59");
}

/* --- octal mode ---------------------------------------------------------------- */

Test(config, socket_mode_octal)
{
	int_ok("STORE_SOCKET_MODE", "0660", 0660, OFF(socket_mode));
	int_ok("STORE_SOCKET_MODE", "660", 0660, OFF(socket_mode));
	int_ok("STORE_SOCKET_MODE", "0600", 0600, OFF(socket_mode));
	int_ok("STORE_SOCKET_MODE", "0", 0, OFF(socket_mode));
	int_ok("STORE_SOCKET_MODE", "0777", 0777, OFF(socket_mode));
}

Test(config, socket_mode_bad_rejected)
{
	int_bad("STORE_SOCKET_MODE", "01000"); /* one past 0777 */
	int_bad("STORE_SOCKET_MODE", "0888");  /* not octal */
	int_bad("STORE_SOCKET_MODE", "9");
	int_bad("STORE_SOCKET_MODE", "-1");
	int_bad("STORE_SOCKET_MODE", "-0");
	int_bad("STORE_SOCKET_MODE", "rw-rw----");
	int_bad("STORE_SOCKET_MODE", "0x1b6");
	int_bad("STORE_SOCKET_MODE", "0660abc");
	int_bad("STORE_SOCKET_MODE", "77777777777777777777777777");
}

/* --- string bounds ---------------------------------------------------------------- */

Test(config, string_length_bounds)
{
	char name[70];
	struct store_config cfg;
	memset(name, 'd', 64);
	name[64] = '\0';
	setenv("STORE_DB_NAME", name, 1);
	load_ok(&cfg, 0);
	cr_assert(eq(sz, strlen(cfg.db_name), 64));
	config_free(&cfg);
	strcat(name, "d");
	setenv("STORE_DB_NAME", name, 1);
	load_fails_naming(0, "STORE_DB_NAME");
}

/* --- the message ------------------------------------------------------------------ */

Test(config, message_truncated_to_errlen)
{
	struct store_config cfg;
	char small[12];
	memset(small, 'Z', sizeof(small));
	setenv("STORE_THREADS", "many", 1);
	cr_assert(eq(int, config_load(&cfg, 0, small, 8), -1));
	cr_assert(eq(sz, strlen(small), 7));
	cr_assert(eq(chr, small[8], 'Z'), "wrote past errlen");
}

/* --- a program's own table ------------------------------------------------------------ */

struct own {
	char *name, *opt;
	long count, mode;
};

static const struct config_var own_vars[] = {
	{"STORE_TEST_OWN_NAME", CONFIG_STR, offsetof(struct own, name), NULL, 3, 10, CONFIG_REQUIRED},
	{"STORE_TEST_OWN_OPT", CONFIG_STR, offsetof(struct own, opt), "dflt", 1, 10, 0},
	{"STORE_TEST_OWN_COUNT", CONFIG_INT, offsetof(struct own, count), "7", 1, 9, 0},
	{"STORE_TEST_OWN_MODE", CONFIG_OCTAL, offsetof(struct own, mode), "0640", 0, 0777, 0},
};
#define OWN_N (sizeof(own_vars) / sizeof(own_vars[0]))

Test(config, own_table_defaults_and_values)
{
	struct own o = {0};
	setenv("STORE_TEST_OWN_NAME", "abc", 1);
	cr_assert(eq(int, config_load_vars(own_vars, OWN_N, &o, err, sizeof(err)), 0), "%s", err);
	cr_assert(eq(str, o.name, "abc"));
	cr_assert(eq(str, o.opt, "dflt"));
	cr_assert(eq(long, o.count, 7));
	cr_assert(eq(long, o.mode, 0640));
	config_free_vars(own_vars, OWN_N, &o);
	cr_assert(zero(ptr, o.name));
	config_free_vars(own_vars, OWN_N, &o); /* twice is harmless */
	config_free_vars(own_vars, OWN_N, NULL);
}

Test(config, own_table_required_and_bounds_name_the_variable)
{
	struct own o = {0};
	cr_assert(eq(int, config_load_vars(own_vars, OWN_N, &o, err, sizeof(err)), -1));
	cr_assert(not(zero(ptr, strstr(err, "STORE_TEST_OWN_NAME"))), "%s", err);
	setenv("STORE_TEST_OWN_NAME", "abc", 1);
	setenv("STORE_TEST_OWN_COUNT", "10", 1);
	cr_assert(eq(int, config_load_vars(own_vars, OWN_N, &o, err, sizeof(err)), -1));
	cr_assert(not(zero(ptr, strstr(err, "STORE_TEST_OWN_COUNT"))), "%s", err);
	cr_assert(zero(ptr, o.name), "a failed load leaves nothing to free");
	cr_assert(zero(ptr, o.opt));
}

Test(config, job_stream_is_shared)
{
	struct store_config cfg;
	setenv("STORE_JOB_STREAM", "jobs:test", 1);
	load_ok(&cfg, 0);
	cr_assert(eq(str, cfg.job_stream, "jobs:test"));
	config_free(&cfg);
}

/* --- #15.15: Redis beyond loopback needs credentials ----------------------------------------- */

Test(config, redis_beyond_loopback_requires_a_password)
{
	struct store_config cfg;
	setenv("STORE_REDIS_HOST", "redis", 1);
	load_fails_naming(0, "STORE_REDIS_PASSWORD");
	setenv("STORE_REDIS_HOST", "10.0.0.7", 1);
	load_fails_naming(0, "STORE_REDIS_PASSWORD");
	setenv("STORE_REDIS_PASSWORD", "s3cret-enough", 1);
	load_ok(&cfg, 0);
	cr_assert(eq(str, cfg.redis_password, "s3cret-enough"));
	config_free(&cfg);
}

Test(config, redis_on_loopback_may_go_without)
{
	static const char *const hosts[] = {"127.0.0.1", "127.1.2.3", "localhost", "::1"};
	for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
		struct store_config cfg;
		setenv("STORE_REDIS_HOST", hosts[i], 1);
		load_ok(&cfg, 0);
		config_free(&cfg);
	}
	cr_assert(config_host_is_loopback(NULL));
	cr_assert(not(config_host_is_loopback("127.example.com")), "a name, not an address");
	cr_assert(not(config_host_is_loopback("127example")));
	cr_assert(not(config_host_is_loopback("10.127.0.1")));
}
