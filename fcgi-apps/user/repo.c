/* repo.c: prepared SQL for the users table. */
#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define USER_COLS                                                                                              \
	"id, email, name, password_hash, role, disabled, " DB_TS("created_at") ", "      \
	DB_TS("updated_at") ", credentials_version"

static const char sql_insert[] = "INSERT INTO users (email, name, password_hash, role) VALUES (?, ?, ?, 'customer')";
static const char sql_by_email[] = "SELECT " USER_COLS " FROM users WHERE email = ?";
static const char sql_by_id[] = "SELECT " USER_COLS " FROM users WHERE id = ?";
static const char sql_set_name[] = "UPDATE users SET name = ? WHERE id = ?";
static const char sql_set_password[] =
	"UPDATE users SET password_hash = ?, credentials_version = credentials_version + 1 WHERE id = ?";
static const char sql_upgrade_password[] = "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?";
/* Every active admin, locked: two changes of admins run one after the other. Without an
 * index on role this locks the rows it scans; admins change rarely and the step is short. */
static const char sql_lock_admins[] = "SELECT id FROM users WHERE role = 'admin' AND NOT disabled FOR UPDATE";
static const char sql_lock_user[] = "SELECT role, disabled FROM users WHERE id = ? FOR UPDATE";
static const char sql_set_access[] = "UPDATE users SET role = ?, disabled = ? WHERE id = ?";
static const char sql_upsert_admin[] =
	"INSERT INTO users (email, name, password_hash, role) VALUES (?, ?, ?, 'admin') "
	"ON DUPLICATE KEY UPDATE role = 'admin', disabled = FALSE, password_hash = VALUES(password_hash), "
	"credentials_version = credentials_version + 1";
static const char sql_list[] = "SELECT " USER_COLS " FROM users WHERE email LIKE ? ESCAPE '!' "
			       "ORDER BY id LIMIT ? OFFSET ?";
static const char sql_count[] = "SELECT COUNT(*) FROM users WHERE email LIKE ? ESCAPE '!'";

static void fill(const struct db_rows *r, size_t row, struct user *u)
{
	u->id = db_cell_i64(r, row, 0, 0);
	db_cell_copy(r, row, 1, u->email, sizeof(u->email));
	db_cell_copy(r, row, 2, u->name, sizeof(u->name));
	db_cell_copy(r, row, 3, u->password_hash, sizeof(u->password_hash));
	const char *role = db_cell(r, row, 4);
	u->role = role && strcmp(role, "admin") == 0 ? ROLE_ADMIN : ROLE_CUSTOMER;
	u->disabled = db_cell_i64(r, row, 5, 0) != 0;
	db_cell_copy(r, row, 6, u->created_at, sizeof(u->created_at));
	db_cell_copy(r, row, 7, u->updated_at, sizeof(u->updated_at));
	u->cv = db_cell_i64(r, row, 8, 0);
}

static int one(struct db_conn *db, const char *sql, struct db_val key, struct user *u)
{
	struct db_rows *r;

	if (db_query(db, sql, &key, 1, &r) != 0)
		return -1;
	int rc = r->nrows ? 0 : 1;
	if (r->nrows)
		fill(r, 0, u);
	db_rows_free(r);
	return rc;
}

int repo_user_insert(struct db_conn *db, const char *email, const char *name, const char *hash, int64_t *id)
{
	struct db_val p[] = {db_str(email), db_str(name), db_str(hash)};
	struct db_exec_result res;

	if (db_exec(db, sql_insert, p, 3, &res) != 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int repo_user_by_email(struct db_conn *db, const char *email, struct user *u)
{
	return one(db, sql_by_email, db_str(email), u);
}

int repo_user_by_id(struct db_conn *db, int64_t id, struct user *u)
{
	return one(db, sql_by_id, db_i64(id), u);
}

static int set(struct db_conn *db, const char *sql, struct db_val v, int64_t id)
{
	struct db_val p[] = {v, db_i64(id)};
	return db_exec(db, sql, p, 2, NULL);
}

int repo_user_set_name(struct db_conn *db, int64_t id, const char *name)
{
	return set(db, sql_set_name, db_str(name), id);
}

int repo_user_set_password(struct db_conn *db, int64_t id, const char *hash)
{
	return set(db, sql_set_password, db_str(hash), id);
}

int repo_user_upgrade_password(struct db_conn *db, int64_t id, const char *old_hash, const char *hash)
{
	struct db_val p[] = {db_str(hash), db_i64(id), db_str(old_hash)};
	return db_exec(db, sql_upgrade_password, p, 3, NULL);
}

struct access_change {
	int64_t id;
	bool set_role, set_disabled, disabled;
	enum role role;
};

static int access_tx(struct db_conn *db, void *arg)
{
	struct access_change *c = arg;
	struct db_rows *r = NULL;
	struct db_val key = db_i64(c->id);
	bool target_active_admin = false, others = false;

	if (db_query(db, sql_lock_admins, NULL, 0, &r) != 0)
		return -1;
	for (size_t i = 0; i < r->nrows; i++) {
		if (db_cell_i64(r, i, 0, 0) == c->id)
			target_active_admin = true;
		else
			others = true;
	}
	db_rows_free(r);
	if (db_query(db, sql_lock_user, &key, 1, &r) != 0)
		return -1;
	if (r->nrows == 0) {
		db_rows_free(r);
		return REPO_ACCESS_NOT_FOUND; /* a refusal: db_tx rolls back and passes it on */
	}
	const char *cur_role = db_cell(r, 0, 0);
	enum role role = c->set_role ? c->role
				     : (cur_role && strcmp(cur_role, "admin") == 0 ? ROLE_ADMIN : ROLE_CUSTOMER);
	bool disabled = c->set_disabled ? c->disabled : db_cell_i64(r, 0, 1, 0) != 0;
	db_rows_free(r);
	if (target_active_admin && !others && (role != ROLE_ADMIN || disabled)) {
		return REPO_ACCESS_LAST_ADMIN;
	}
	struct db_val p[] = {db_str(role == ROLE_ADMIN ? "admin" : "customer"), db_i64(disabled), db_i64(c->id)};
	return db_exec(db, sql_set_access, p, 3, NULL);
}

int repo_user_set_access(struct db_conn *db, int64_t id, bool set_role, enum role role, bool set_disabled,
			 bool disabled)
{
	struct access_change c = {
		.id = id, .set_role = set_role, .role = role, .set_disabled = set_disabled, .disabled = disabled};
	return db_tx(db, access_tx, &c); /* 0, -1, or a REPO_ACCESS_ refusal */
}

int repo_user_upsert_admin(struct db_conn *db, const char *email, const char *name, const char *hash)
{
	struct db_val p[] = {db_str(email), db_str(name), db_str(hash)};
	return db_exec(db, sql_upsert_admin, p, 3, NULL);
}

int repo_user_list(struct db_conn *db, const char *prefix, int64_t limit, int64_t offset, struct user **out,
		   size_t *n, int64_t *total)
{
	char like[2 * 255 + 2];
	size_t o = 0;
	struct db_rows *r = NULL;

	*out = NULL;
	*n = 0;
	/* LIKE pattern: the prefix with its wildcards escaped, then '%'. */
	for (const char *p = prefix; *p && o + 3 < sizeof(like); p++) {
		if (*p == '%' || *p == '_' || *p == '!')
			like[o++] = '!';
		like[o++] = *p;
	}
	like[o++] = '%';
	like[o] = '\0';

	struct db_val cp[] = {db_str(like)};
	if (db_query(db, sql_count, cp, 1, &r) != 0)
		return -1;
	*total = db_cell_i64(r, 0, 0, 0);
	db_rows_free(r);

	struct db_val lp[] = {db_str(like), db_i64(limit), db_i64(offset)};
	if (db_query(db, sql_list, lp, 3, &r) != 0)
		return -1;
	if (r->nrows) {
		*out = calloc(r->nrows, sizeof(**out));
		if (!*out) {
			db_rows_free(r);
			return -1;
		}
	}
	for (size_t i = 0; i < r->nrows; i++)
		fill(r, i, &(*out)[i]);
	*n = r->nrows;
	db_rows_free(r);
	return 0;
}
