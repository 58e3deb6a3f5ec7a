/* main.c: the user service: accounts, credentials and sessions (routes table, start-up, create-admin). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "handlers.h"
#include "health.h"
#include "password.h"
#include "settings.h"
#include "repo.h"
#include "router.h"
#include "server.h"
#include "validate.h"

static const struct route routes[] = {
	{"GET", "/api/v1/users/health", health_get, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/auth/register", auth_register, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/auth/login", auth_login, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/auth/refresh", auth_refresh, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/auth/logout", auth_logout, ROLE_CUSTOMER, ROUTE_NO_BODY, NULL},
	{"POST", "/api/v1/auth/logout-all", auth_logout_all, ROLE_CUSTOMER, ROUTE_NO_BODY, NULL},
	{"GET", "/api/v1/users/me", users_me_get, ROLE_CUSTOMER, 0, NULL},
	{"PATCH", "/api/v1/users/me", users_me_patch, ROLE_CUSTOMER, 0, NULL},
	{"GET", "/api/v1/users", users_list, ROLE_ADMIN, 0, "email limit offset"},
	{"GET", "/api/v1/users/{id}", users_get, ROLE_ADMIN, 0, NULL},
	{"PATCH", "/api/v1/users/{id}", users_patch, ROLE_ADMIN, 0, NULL},
	/* For services that write to a user (orders, payments): the address and the name only. */
	{"GET", "/internal/user/users/{id}", users_internal_get, ROLE_INTERNAL, 0, NULL},
};

static int init(const struct store_config *cfg)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);

	if (password_init(&user_settings, cores, cfg->threads) != 0) {
		fprintf(stderr, "store-user: cannot initialise password hashing\n");
		return -1;
	}
	return 0;
}

/* `store-user create-admin EMAIL`: the password comes from the first line of standard input. */
static int create_admin(const char *email_in)
{
	struct store_config cfg;
	char err[256], email[EMAIL_MAX + 1], pw[PASSWORD_MAX * 4 + 2], hash[PASSWORD_HASH_MAX], name[65];
	const char *why;
	int rc = 1;

	if (config_load(&cfg, CONFIG_NEED_DB, err, sizeof(err)) != 0 ||
	    config_load_vars(user_settings_vars, USER_SETTINGS_NVARS, &user_settings, err, sizeof(err)) != 0) {
		fprintf(stderr, "store-user: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	struct db_conn *db = db_conn_new(&cfg);
	if (!email_normalize(email_in, email)) {
		fprintf(stderr, "store-user: %s is not a valid e-mail address\n", email_in);
		goto out;
	}
	if (!fgets(pw, sizeof(pw), stdin)) {
		fprintf(stderr, "store-user: no password on standard input\n");
		goto out;
	}
	pw[strcspn(pw, "\r\n")] = '\0';
	if ((why = password_policy(pw, email)) != NULL) {
		fprintf(stderr, "store-user: the password %s\n", why);
		goto out;
	}
	if (password_init(&user_settings, 1, 1) != 0 || password_hash(pw, hash) != PW_OK) {
		fprintf(stderr, "store-user: cannot hash the password\n");
		goto out;
	}
	snprintf(name, sizeof(name), "%.*s", (int)strcspn(email, "@"), email);
	if (!db || repo_user_upsert_admin(db, email, name, hash) != 0) {
		fprintf(stderr, "store-user: database: %s\n", db ? db->errstr : "out of memory");
		goto out;
	}
	printf("%s is an admin\n", email);
	rc = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	db_conn_free(db);
	config_free(&cfg);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct service svc = {
		.name = "user",
		.need = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.init = init,
		.outbox = true,
		.settings = user_settings_vars,
		.nsettings = USER_SETTINGS_NVARS,
		.settings_dest = &user_settings,
	};
	if (argc == 3 && strcmp(argv[1], "create-admin") == 0)
		return create_admin(argv[2]);
	if (argc != 1) {
		fprintf(stderr, "usage: store-user            (serve FastCGI on STORE_LISTEN)\n"
				"       store-user create-admin EMAIL   (password on standard input)\n");
		return 2;
	}
	return server_main(&svc);
}
