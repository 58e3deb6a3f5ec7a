/* repo.h: the user service's SQL: every statement on the users table lives in repo.c. */
#ifndef STORE_USER_REPO_H
#define STORE_USER_REPO_H

#include <stdbool.h>
#include <stdint.h>

#include "router.h"

struct db_conn;

struct user {
	int64_t id;
	char email[255];
	char name[401];
	char password_hash[256];
	enum role role;
	bool disabled;
	char created_at[32]; /* RFC 3339 UTC */
	char updated_at[32];
	int64_t cv; /* credentials version: moves on with every password change */
};

/* Inserts a customer. Returns 0 with *id set, or -1 (db->err DB_DUPLICATE for a taken e-mail). */
int repo_user_insert(struct db_conn *db, const char *email, const char *name, const char *hash, int64_t *id);

/* Returns 0 with *u filled, 1 when there is no such user, -1 on a database error. */
int repo_user_by_email(struct db_conn *db, const char *email, struct user *u);
int repo_user_by_id(struct db_conn *db, int64_t id, struct user *u);

/* Each returns 0, or -1 on a database error (0 also when the id does not exist). */
int repo_user_set_name(struct db_conn *db, int64_t id, const char *name);
int repo_user_set_password(struct db_conn *db, int64_t id, const char *hash);

/* Replaces the hash only while it is still `old_hash`: an upgrade at sign-in never undoes a
 * password change that committed meanwhile. Returns 0 (also when it did not apply) or -1. */
int repo_user_upgrade_password(struct db_conn *db, int64_t id, const char *old_hash, const char *hash);

/* Outcomes of repo_user_set_access besides -1 (database error). */
enum repo_access {
	REPO_ACCESS_OK = 0,
	REPO_ACCESS_NOT_FOUND = 1,
	REPO_ACCESS_LAST_ADMIN = 2, /* refused: no other active admin would be left */
};

/*
 * Sets the role (when `set_role`) and the disabled flag (when `set_disabled`) of user `id`
 * in one transaction that locks the active admins first, so that concurrent changes can
 * never leave no active admin: a change that would is refused and nothing is written.
 * Returns an enum repo_access value, or -1 on a database error (nothing changed).
 */
int repo_user_set_access(struct db_conn *db, int64_t id, bool set_role, enum role role, bool set_disabled,
			 bool disabled);

/* Creates an admin, or promotes (and re-enables, with the new password) an existing user. */
int repo_user_upsert_admin(struct db_conn *db, const char *email, const char *name, const char *hash);

/*
 * Lists users whose e-mail starts with `prefix` ("" for all), by id. Returns 0 with
 * *out (malloc'd array of *n users; caller frees) and *total; -1 on a database error.
 */
int repo_user_list(struct db_conn *db, const char *prefix, int64_t limit, int64_t offset, struct user **out,
		   size_t *n, int64_t *total);

#endif
