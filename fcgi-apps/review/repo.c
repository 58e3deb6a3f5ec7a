/* repo.c: every SQL statement of the review service. */
#include "repo.h"

#include <stdio.h>

#include "db.h"

#define REVIEW_COLS                                                                                         \
	"id, product_id, user_id, author_name, rating, title, body, status, hidden_reason, helpful_count, " \
	DB_TS("created_at") ", " DB_TS("updated_at")

static const char sql_get[] = "SELECT " REVIEW_COLS " FROM reviews WHERE id = ?";
static const char sql_get_locked[] = "SELECT " REVIEW_COLS " FROM reviews WHERE id = ? FOR UPDATE";
static const char sql_of[] = "SELECT id FROM reviews WHERE user_id = ? AND product_id = ?";
static const char sql_insert[] = "INSERT INTO reviews (product_id, user_id, author_name, rating, title, body) "
				 "VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_update[] =
	"UPDATE reviews SET rating = ?, title = ?, body = ?, updated_at = NOW(3) WHERE id = ?";
static const char sql_delete[] = "DELETE FROM reviews WHERE id = ? AND user_id = ?";
static const char sql_moderate[] = "UPDATE reviews SET status = ?, hidden_reason = ? WHERE id = ? AND status = ?";
static const char sql_moderation_log[] =
	"INSERT INTO review_moderation (review_id, action, reason, actor) VALUES (?, ?, ?, ?)";
static const char sql_helpful_insert[] = "INSERT IGNORE INTO review_helpful (review_id, user_id) VALUES (?, ?)";
static const char sql_helpful_bump[] = "UPDATE reviews SET helpful_count = helpful_count + 1 WHERE id = ?";
/* ON DUPLICATE KEY UPDATE takes the row's exclusive lock at once; INSERT IGNORE followed by
 * SELECT ... FOR UPDATE would take a shared lock first, and two of those deadlock. */
static const char sql_agg_lock[] = "INSERT INTO rating_aggregates (product_id) VALUES (?) "
				   "ON DUPLICATE KEY UPDATE product_id = product_id";
static const char sql_recount[] =
	"SELECT COUNT(*), COALESCE(SUM(rating), 0), COALESCE(SUM(rating = 1), 0), COALESCE(SUM(rating = 2), 0), "
	"COALESCE(SUM(rating = 3), 0), COALESCE(SUM(rating = 4), 0), COALESCE(SUM(rating = 5), 0) "
	"FROM reviews WHERE product_id = ? AND status = 'visible' LOCK IN SHARE MODE";
static const char sql_agg_write[] = "UPDATE rating_aggregates SET count = ?, total = ?, r1 = ?, r2 = ?, r3 = ?, "
				    "r4 = ?, r5 = ? WHERE product_id = ?";
static const char sql_agg_get[] =
	"SELECT count, total, r1, r2, r3, r4, r5 FROM rating_aggregates WHERE product_id = ?";
/* Through its own index only (sql/review/007): any other way reads, and waits for, every pending
 * row, among them the one the relay holds locked through a call that may hang for seconds. A
 * single-table DELETE takes no index hint, a multi-table one does. */
static const char sql_supersede[] = "DELETE o FROM outbox o FORCE INDEX (outbox_supersede) "
				    "WHERE o.status = 'pending' AND o.kind = 'call' AND o.target = ?";

#define PUBLIC_WHERE " FROM reviews WHERE product_id = ? AND status = 'visible' AND (? = 0 OR rating = ?)"
#define PUBLIC_PAGE " LIMIT ? OFFSET ?"
static const char sql_public_count[] = "SELECT COUNT(*)" PUBLIC_WHERE;
/* ORDER BY cannot be bound: one static statement per order, picked by enum. */
static const char *const sql_public[REVIEW_SORT_COUNT] = {
	[REVIEW_SORT_NEWEST] = "SELECT " REVIEW_COLS PUBLIC_WHERE " ORDER BY created_at DESC, id DESC" PUBLIC_PAGE,
	[REVIEW_SORT_OLDEST] = "SELECT " REVIEW_COLS PUBLIC_WHERE " ORDER BY created_at, id" PUBLIC_PAGE,
	[REVIEW_SORT_RATING_DESC] =
		"SELECT " REVIEW_COLS PUBLIC_WHERE " ORDER BY rating DESC, created_at DESC, id DESC" PUBLIC_PAGE,
	[REVIEW_SORT_RATING_ASC] =
		"SELECT " REVIEW_COLS PUBLIC_WHERE " ORDER BY rating, created_at DESC, id DESC" PUBLIC_PAGE,
	[REVIEW_SORT_HELPFUL] =
		"SELECT " REVIEW_COLS PUBLIC_WHERE " ORDER BY helpful_count DESC, created_at DESC, id DESC" PUBLIC_PAGE,
};

#define LIST_WHERE " FROM reviews WHERE (? = 0 OR user_id = ?) AND (? IS NULL OR status = ?)"
static const char sql_list_count[] = "SELECT COUNT(*)" LIST_WHERE;
static const char sql_list[] = "SELECT " REVIEW_COLS LIST_WHERE " ORDER BY id DESC LIMIT ? OFFSET ?";

int repo_review_get(struct db_conn *db, int64_t id, bool lock, struct db_rows **rows)
{
	struct db_val v[] = {db_i64(id)};
	if (db_query(db, lock ? sql_get_locked : sql_get, v, 1, rows) != 0)
		return -1;
	if ((*rows)->nrows == 0) {
		db_rows_free(*rows);
		*rows = NULL;
		return 1;
	}
	return 0;
}

int repo_review_of(struct db_conn *db, int64_t user_id, int64_t product_id, int64_t *id)
{
	struct db_val v[] = {db_i64(user_id), db_i64(product_id)};
	struct db_rows *r;
	if (db_query(db, sql_of, v, 2, &r) != 0)
		return -1;
	int rc = r->nrows ? 0 : 1;
	if (rc == 0)
		*id = db_cell_i64(r, 0, 0, 0);
	db_rows_free(r);
	return rc;
}

int repo_review_insert(struct db_conn *db, int64_t product_id, int64_t user_id, const char *author, int64_t rating,
		       const char *title, const char *body, int64_t *id)
{
	struct db_exec_result res;
	struct db_val v[] = {db_i64(product_id), db_i64(user_id), db_str(author),
			     db_i64(rating),     db_str(title),   db_str(body)};
	if (db_exec(db, sql_insert, v, 6, &res) != 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int repo_review_update(struct db_conn *db, int64_t id, int64_t rating, const char *title, const char *body)
{
	struct db_val v[] = {db_i64(rating), db_str(title), db_str(body), db_i64(id)};
	return db_exec(db, sql_update, v, 4, NULL);
}

int repo_review_delete(struct db_conn *db, int64_t id, int64_t user_id)
{
	struct db_val v[] = {db_i64(id), db_i64(user_id)};
	long n = db_exec_affected(db, sql_delete, v, 2);
	return n < 0 ? -1 : n > 0;
}

int repo_review_moderate(struct db_conn *db, int64_t id, const char *from, const char *to, const char *reason,
			 int64_t actor)
{
	struct db_val v[] = {db_str(to), db_str(reason), db_i64(id), db_str(from)};
	long n = db_exec_affected(db, sql_moderate, v, 4);
	if (n <= 0)
		return n < 0 ? -1 : 0;
	struct db_val h[] = {db_i64(id), db_str(to[0] == 'h' ? "hide" : "unhide"), db_str(reason), db_i64(actor)};
	return db_exec(db, sql_moderation_log, h, 4, NULL) == 0 ? 1 : -1;
}

int repo_helpful_add(struct db_conn *db, int64_t review_id, int64_t user_id)
{
	struct db_val v[] = {db_i64(review_id), db_i64(user_id)};
	long n = db_exec_affected(db, sql_helpful_insert, v, 2);
	if (n <= 0)
		return n < 0 ? -1 : 1;
	return db_exec(db, sql_helpful_bump, v, 1, NULL);
}

int repo_aggregate_lock(struct db_conn *db, int64_t product_id)
{
	struct db_val v[] = {db_i64(product_id)};
	return db_exec(db, sql_agg_lock, v, 1, NULL);
}

static void fill_agg(const struct db_rows *r, struct review_aggregate *out)
{
	out->count = db_cell_i64(r, 0, 0, 0);
	out->total = db_cell_i64(r, 0, 1, 0);
	for (int i = 0; i < 5; i++)
		out->stars[i] = db_cell_i64(r, 0, (size_t)(2 + i), 0);
}

int repo_aggregate_recount(struct db_conn *db, int64_t product_id, struct review_aggregate *out)
{
	struct db_val v[] = {db_i64(product_id)};
	struct db_rows *r;
	if (db_query(db, sql_recount, v, 1, &r) != 0)
		return -1;
	fill_agg(r, out);
	db_rows_free(r);
	struct db_val w[] = {db_i64(out->count),    db_i64(out->total),    db_i64(out->stars[0]),
			     db_i64(out->stars[1]), db_i64(out->stars[2]), db_i64(out->stars[3]),
			     db_i64(out->stars[4]), db_i64(product_id)};
	return db_exec(db, sql_agg_write, w, 8, NULL);
}

int repo_aggregate_get(struct db_conn *db, int64_t product_id, struct review_aggregate *out)
{
	struct db_val v[] = {db_i64(product_id)};
	struct db_rows *r;
	*out = (struct review_aggregate){0};
	if (db_query(db, sql_agg_get, v, 1, &r) != 0)
		return -1;
	if (r->nrows)
		fill_agg(r, out);
	db_rows_free(r);
	return 0;
}

int repo_outbox_supersede(struct db_conn *db, const char *target)
{
	struct db_val v[] = {db_str(target)};
	return db_exec(db, sql_supersede, v, 1, NULL);
}

int repo_reviews_public(struct db_conn *db, int64_t product_id, int64_t rating, enum review_sort sort, int64_t limit,
			int64_t offset, struct db_rows **rows, int64_t *total)
{
	struct db_val v[] = {db_i64(product_id), db_i64(rating), db_i64(rating), db_i64(limit), db_i64(offset)};
	struct db_rows *c;
	if (sort < 0 || sort >= REVIEW_SORT_COUNT)
		sort = REVIEW_SORT_NEWEST;
	if (db_query(db, sql_public_count, v, 3, &c) != 0)
		return -1;
	*total = db_cell_i64(c, 0, 0, 0);
	db_rows_free(c);
	return db_query(db, sql_public[sort], v, 5, rows);
}

int repo_reviews_list(struct db_conn *db, int64_t user_id, const char *status, int64_t limit, int64_t offset,
		      struct db_rows **rows, int64_t *total)
{
	struct db_val v[] = {db_i64(user_id), db_i64(user_id), db_str(status),
			     db_str(status),  db_i64(limit),   db_i64(offset)};
	struct db_rows *c;
	if (db_query(db, sql_list_count, v, 4, &c) != 0)
		return -1;
	*total = db_cell_i64(c, 0, 0, 0);
	db_rows_free(c);
	return db_query(db, sql_list, v, 6, rows);
}
