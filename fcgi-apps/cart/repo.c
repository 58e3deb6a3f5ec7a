/* repo.c: prepared SQL for carts and their lines. Changes run under the cart row's lock. */
#include "repo.h"

#include <string.h>

#include "db.h"

#define IDLE_SECONDS ((int64_t)CART_GUEST_IDLE_DAYS * 86400)

/* The cart and its lines in one statement (a cart without lines gives one row of NULL lines). */
#define CART_SELECT                                                                                            \
	"SELECT c.id, c.user_id, c.version, c.currency, " DB_TS("c.updated_at") ", "                          \
	"c.seen_at < NOW(3) - INTERVAL 1 DAY, i.product_id, i.quantity, i.added_price, i.line_version "         \
	"FROM carts c LEFT JOIN cart_items i ON i.cart_id = c.id "
#define CART_ORDER " ORDER BY i.created_at, i.product_id"

static const char sql_by_user[] = CART_SELECT "WHERE c.user_id = ?" CART_ORDER;
static const char sql_by_user_lock[] = CART_SELECT "WHERE c.user_id = ?" CART_ORDER " FOR UPDATE";
static const char sql_by_token[] =
	CART_SELECT "WHERE c.token_hash = ? AND c.seen_at > NOW(3) - INTERVAL ? SECOND" CART_ORDER;
static const char sql_by_token_lock[] =
	CART_SELECT "WHERE c.token_hash = ? AND c.seen_at > NOW(3) - INTERVAL ? SECOND" CART_ORDER " FOR UPDATE";
static const char sql_ensure_user[] = "INSERT IGNORE INTO carts (user_id) VALUES (?)";
static const char sql_create_guest[] = "INSERT INTO carts (token_hash) VALUES (?)";
static const char sql_touch[] = "UPDATE carts SET seen_at = NOW(3) WHERE id = ?";
static const char sql_bump[] = "UPDATE carts SET version = version + 1, currency = ?, updated_at = NOW(3), "
			       "seen_at = NOW(3) WHERE id = ?";
static const char sql_delete[] = "DELETE FROM carts WHERE id = ?";
static const char sql_line_set[] =
	"INSERT INTO cart_items (cart_id, product_id, quantity, added_price, line_version) VALUES (?, ?, ?, ?, ?) "
	"ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), added_price = VALUES(added_price), "
	"line_version = VALUES(line_version)";
static const char sql_line_delete[] = "DELETE FROM cart_items WHERE cart_id = ? AND product_id = ?";
static const char sql_lines_upto[] = "DELETE FROM cart_items WHERE cart_id = ? AND line_version <= ?";
static const char sql_clears_lock[] =
	"SELECT j.k, c.id, c.version FROM JSON_TABLE(?, '$[*]' COLUMNS (k FOR ORDINALITY, "
	"user_id BIGINT UNSIGNED PATH '$')) AS j JOIN carts c ON c.user_id = j.user_id FOR UPDATE";
static const char sql_clears_lines[] =
	"SELECT i.cart_id, i.line_version FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j "
	"JOIN cart_items i ON i.cart_id = j.id";
static const char sql_clears_delete[] =
	"DELETE i FROM cart_items i JOIN JSON_TABLE(?, '$[*]' COLUMNS (cart_id BIGINT UNSIGNED PATH '$[0]', "
	"version BIGINT UNSIGNED PATH '$[1]')) AS j ON i.cart_id = j.cart_id WHERE i.line_version <= j.version";
static const char sql_clears_bump[] =
	"UPDATE carts c JOIN JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$[0]', kept BIGINT PATH '$[1]')) AS j "
	"ON j.id = c.id SET c.version = c.version + 1, c.currency = IF(j.kept > 0, c.currency, NULL), "
	"c.updated_at = NOW(3), c.seen_at = NOW(3)";
static const char sql_expired[] = "SELECT id FROM carts WHERE user_id IS NULL AND seen_at <= NOW(3) - INTERVAL ? "
				  "SECOND ORDER BY seen_at LIMIT ? FOR UPDATE SKIP LOCKED";

int repo_cart_read(struct db_conn *db, const struct cart_owner *o, bool lock, struct cart *out)
{
	struct db_rows *r;
	int rc;

	memset(out, 0, sizeof(*out));
	if (o->user_id > 0) {
		struct db_val p[] = {db_i64(o->user_id)};
		rc = db_query(db, lock ? sql_by_user_lock : sql_by_user, p, 1, &r);
	} else {
		struct db_val p[] = {db_str(o->token_hash), db_i64(IDLE_SECONDS)};
		rc = db_query(db, lock ? sql_by_token_lock : sql_by_token, p, 2, &r);
	}
	if (rc != 0)
		return -1;
	if (r->nrows == 0) {
		db_rows_free(r);
		return 1;
	}
	out->id = db_cell_i64(r, 0, 0, 0);
	out->user_id = db_cell_i64(r, 0, 1, 0);
	out->version = db_cell_i64(r, 0, 2, 0);
	db_cell_copy(r, 0, 3, out->currency, sizeof(out->currency));
	db_cell_copy(r, 0, 4, out->updated_at, sizeof(out->updated_at));
	out->stale_seen = db_cell_i64(r, 0, 5, 0) != 0;
	for (size_t i = 0; i < r->nrows && out->n < CART_LINES_MAX; i++) {
		if (!db_cell(r, i, 6))
			continue; /* the one row of a cart without lines */
		struct cart_line *l = &out->lines[out->n++];
		l->product_id = db_cell_i64(r, i, 6, 0);
		l->quantity = db_cell_i64(r, i, 7, 0);
		l->added_price = db_cell_i64(r, i, 8, 0);
		l->line_version = db_cell_i64(r, i, 9, 0);
	}
	db_rows_free(r);
	return 0;
}

int repo_cart_ensure_user(struct db_conn *db, int64_t uid)
{
	struct db_val p[] = {db_i64(uid)};
	return db_exec(db, sql_ensure_user, p, 1, NULL);
}

int repo_cart_create_guest(struct db_conn *db, const char *token_hash, int64_t *id)
{
	struct db_val p[] = {db_str(token_hash)};
	struct db_exec_result res;
	if (db_exec(db, sql_create_guest, p, 1, &res) != 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int repo_cart_touch(struct db_conn *db, int64_t id)
{
	struct db_val p[] = {db_i64(id)};
	return db_exec(db, sql_touch, p, 1, NULL);
}

int repo_cart_bump(struct db_conn *db, int64_t id, const char *currency)
{
	struct db_val p[] = {db_str(currency), db_i64(id)};
	return db_exec(db, sql_bump, p, 2, NULL);
}

int repo_cart_delete(struct db_conn *db, int64_t id)
{
	struct db_val p[] = {db_i64(id)};
	return db_exec(db, sql_delete, p, 1, NULL);
}

int repo_line_set(struct db_conn *db, int64_t id, const struct cart_line *l)
{
	struct db_val p[] = {db_i64(id), db_i64(l->product_id), db_i64(l->quantity), db_i64(l->added_price),
			     db_i64(l->line_version)};
	return db_exec(db, sql_line_set, p, 5, NULL);
}

int repo_line_delete(struct db_conn *db, int64_t id, int64_t pid, int *deleted)
{
	struct db_val p[] = {db_i64(id), db_i64(pid)};
	struct db_exec_result res;
	if (db_exec(db, sql_line_delete, p, 2, &res) != 0)
		return -1;
	*deleted = res.affected > 0;
	return 0;
}

int repo_lines_delete_upto(struct db_conn *db, int64_t id, int64_t version, uint64_t *deleted)
{
	struct db_val p[] = {db_i64(id), db_i64(version)};
	struct db_exec_result res;
	if (db_exec(db, sql_lines_upto, p, 2, &res) != 0)
		return -1;
	*deleted = res.affected;
	return 0;
}

int repo_guests_expired(struct db_conn *db, int64_t limit, struct db_rows **out)
{
	struct db_val p[] = {db_i64(IDLE_SECONDS), db_i64(limit)};
	return db_query(db, sql_expired, p, 2, out);
}

int repo_clears_lock(struct db_conn *db, const char *users, struct db_rows **out)
{
	struct db_val p[] = {db_str(users)};
	return db_query(db, sql_clears_lock, p, 1, out);
}

int repo_clears_lines(struct db_conn *db, const char *carts, struct db_rows **out)
{
	struct db_val p[] = {db_str(carts)};
	return db_query(db, sql_clears_lines, p, 1, out);
}

int repo_clears_delete(struct db_conn *db, const char *json, uint64_t *deleted)
{
	struct db_val p[] = {db_str(json)};
	struct db_exec_result res;
	if (db_exec(db, sql_clears_delete, p, 1, &res) != 0)
		return -1;
	*deleted = res.affected;
	return 0;
}

int repo_clears_bump(struct db_conn *db, const char *json)
{
	struct db_val p[] = {db_str(json)};
	return db_exec(db, sql_clears_bump, p, 1, NULL);
}
