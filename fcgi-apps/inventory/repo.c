/* repo.c: prepared SQL for stock, movements and reservations. Every stock change is conditional. */
#include "repo.h"

#include <stdio.h>
#include <string.h>

#include "db.h"


static const char sql_get[] = "SELECT product_id, on_hand, reserved, low_stock_threshold, low_stock_alerted, "
			      DB_TS("updated_at") " FROM stock WHERE product_id = ?";
static const char sql_get_lock[] = "SELECT product_id, on_hand, reserved, low_stock_threshold, low_stock_alerted, "
				   DB_TS("updated_at") " FROM stock WHERE product_id = ? FOR UPDATE";
static const char sql_many[] =
	"SELECT s.product_id, s.on_hand, s.reserved FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) "
	"AS j JOIN stock s ON s.product_id = j.id ORDER BY s.product_id";
/* The row, locked exclusive whether it was there or not: INSERT IGNORE would take an existing
 * row's lock shared, and two PUTs then both waiting to upgrade it for the FOR UPDATE deadlock. */
static const char sql_ensure[] =
	"INSERT INTO stock (product_id) VALUES (?) ON DUPLICATE KEY UPDATE product_id = product_id";
static const char sql_set[] = "UPDATE stock SET on_hand = ?, low_stock_threshold = ? WHERE product_id = ?";
static const char sql_adjust[] = "UPDATE stock SET on_hand = on_hand + ? WHERE product_id = ? AND on_hand + ? >= reserved";
static const char sql_reserve[] =
	"UPDATE stock SET reserved = reserved + ? WHERE product_id = ? AND on_hand - reserved >= ?";
/* The reservation when it leaves the low-stock state as it is (the units left stay on the side
 * of the threshold that low_stock_alerted records): then nothing is to be checked after it. */
static const char sql_reserve_steady[] =
	"UPDATE stock SET reserved = reserved + ? WHERE product_id = ? AND on_hand - reserved >= ? "
	"AND (on_hand - reserved - ? > low_stock_threshold) <> low_stock_alerted";
static const char sql_unreserve[] = "UPDATE stock SET reserved = reserved - ? WHERE product_id = ? AND reserved >= ?";
static const char sql_sell[] = "UPDATE stock SET on_hand = on_hand - ?, reserved = reserved - ? "
			       "WHERE product_id = ? AND reserved >= ? AND on_hand >= ?";
static const char sql_alerted[] = "UPDATE stock SET low_stock_alerted = ? WHERE product_id = ?";
static const char sql_move[] = "INSERT INTO stock_movements (product_id, delta, reason, reference, actor, "
			       "on_hand_after) VALUES (?, ?, ?, ?, ?, ?)";
static const char sql_moves[] = "SELECT id, delta, reason, reference, actor, on_hand_after, " DB_TS("created_at")
				" FROM stock_movements WHERE product_id = ? ORDER BY id DESC LIMIT ? OFFSET ?";
static const char sql_moves_count[] = "SELECT COUNT(*) FROM stock_movements WHERE product_id = ?";
static const char sql_moves_sum[] = "SELECT COALESCE(SUM(delta), 0) FROM stock_movements WHERE product_id = ?";
static const char sql_low[] = "SELECT product_id, on_hand, reserved, low_stock_threshold FROM stock "
			      "WHERE on_hand - reserved <= low_stock_threshold ORDER BY on_hand - reserved, product_id "
			      "LIMIT ? OFFSET ?";
static const char sql_low_count[] = "SELECT COUNT(*) FROM stock WHERE on_hand - reserved <= low_stock_threshold";
#define RES_COLS "id, order_ref, status, " DB_TS("expires_at") ", " DB_TS("created_at") ", expires_at <= NOW(3)"
/* RETURNING hands back the row as written (its id and the database's times), so the answer
 * needs no second read. */
static const char sql_res_insert[] = "INSERT INTO reservations (order_ref, expires_at) "
				     "VALUES (?, NOW(3) + INTERVAL ? SECOND) RETURNING " RES_COLS;
static const char sql_res_get[] = "SELECT " RES_COLS " FROM reservations WHERE order_ref = ?";
static const char sql_res_get_lock[] = "SELECT " RES_COLS " FROM reservations WHERE order_ref = ? FOR UPDATE";
static const char sql_item_insert[] = "INSERT INTO reservation_items (reservation_id, product_id, quantity) "
				      "VALUES (?, ?, ?)";
static const char sql_items[] = "SELECT product_id, quantity FROM reservation_items WHERE reservation_id = ? "
				"ORDER BY product_id";
static const char sql_res_status[] = "UPDATE reservations SET status = ? WHERE id = ?";
/* After a cursor (expires_at, id): the range on (status, expires_at) is the index's, the id
 * breaks ties. */
static const char sql_res_expired[] =
	"SELECT id, order_ref, DATE_FORMAT(expires_at, '%Y-%m-%d %H:%i:%s.%f') FROM reservations "
	"WHERE status = 'active' AND expires_at <= NOW(3) AND expires_at >= ? AND (expires_at > ? OR id > ?) "
	"ORDER BY expires_at, id LIMIT ? FOR UPDATE SKIP LOCKED";

int repo_stock_get(struct db_conn *db, int64_t pid, bool lock, struct stock *s)
{
	struct db_val p[] = {db_i64(pid)};
	struct db_rows *r;
	if (db_query(db, lock ? sql_get_lock : sql_get, p, 1, &r) != 0)
		return -1;
	int rc = r->nrows ? 0 : 1;
	if (r->nrows) {
		s->product_id = db_cell_i64(r, 0, 0, 0);
		s->on_hand = db_cell_i64(r, 0, 1, 0);
		s->reserved = db_cell_i64(r, 0, 2, 0);
		s->threshold = db_cell_i64(r, 0, 3, 0);
		s->alerted = db_cell_i64(r, 0, 4, 0) != 0;
		db_cell_copy(r, 0, 5, s->updated_at, sizeof(s->updated_at));
	}
	db_rows_free(r);
	return rc;
}

int repo_stock_many(struct db_conn *db, const int64_t *ids, size_t n, struct db_rows **out)
{
	char list[24 * 100 + 4];
	if (!db_json_ids(ids, n, list, sizeof(list)))
		return -1;
	struct db_val p[] = {db_str(list)};
	return db_query(db, sql_many, p, 1, out);
}

int repo_stock_ensure(struct db_conn *db, int64_t pid)
{
	struct db_val p[] = {db_i64(pid)};
	return db_exec(db, sql_ensure, p, 1, NULL);
}

int repo_stock_set(struct db_conn *db, int64_t pid, int64_t on_hand, int64_t threshold)
{
	struct db_val p[] = {db_i64(on_hand), db_i64(threshold), db_i64(pid)};
	return db_exec(db, sql_set, p, 3, NULL);
}

static int applied_exec(struct db_conn *db, const char *sql, const struct db_val *p, size_t n, int *applied)
{
	long changed = db_exec_affected(db, sql, p, n);
	*applied = changed == 1;
	return changed < 0 ? -1 : 0;
}

int repo_stock_adjust(struct db_conn *db, int64_t pid, int64_t delta, int *applied)
{
	struct db_val p[] = {db_i64(delta), db_i64(pid), db_i64(delta)};
	return applied_exec(db, sql_adjust, p, 3, applied);
}

int repo_stock_reserve(struct db_conn *db, int64_t pid, int64_t qty, int *applied)
{
	struct db_val p[] = {db_i64(qty), db_i64(pid), db_i64(qty)};
	return applied_exec(db, sql_reserve, p, 3, applied);
}

int repo_stock_reserve_steady(struct db_conn *db, int64_t pid, int64_t qty, int *applied)
{
	struct db_val p[] = {db_i64(qty), db_i64(pid), db_i64(qty), db_i64(qty)};
	return applied_exec(db, sql_reserve_steady, p, 4, applied);
}

int repo_stock_unreserve(struct db_conn *db, int64_t pid, int64_t qty, int *applied)
{
	struct db_val p[] = {db_i64(qty), db_i64(pid), db_i64(qty)};
	return applied_exec(db, sql_unreserve, p, 3, applied);
}

int repo_stock_sell(struct db_conn *db, int64_t pid, int64_t qty, int *applied)
{
	struct db_val p[] = {db_i64(qty), db_i64(qty), db_i64(pid), db_i64(qty), db_i64(qty)};
	return applied_exec(db, sql_sell, p, 5, applied);
}

int repo_stock_set_alerted(struct db_conn *db, int64_t pid, bool alerted)
{
	struct db_val p[] = {db_i64(alerted), db_i64(pid)};
	return db_exec(db, sql_alerted, p, 2, NULL);
}

int repo_movement_insert(struct db_conn *db, int64_t pid, int64_t delta, const char *reason, const char *reference,
			 const char *actor, int64_t on_hand_after)
{
	struct db_val p[] = {db_i64(pid), db_i64(delta), db_str(reason), db_str(reference), db_str(actor),
			     db_i64(on_hand_after)};
	return db_exec(db, sql_move, p, 6, NULL);
}

static int count(struct db_conn *db, const char *sql, const struct db_val *p, size_t n, int64_t *out)
{
	struct db_rows *r;
	if (db_query(db, sql, p, n, &r) != 0)
		return -1;
	*out = db_cell_i64(r, 0, 0, 0);
	db_rows_free(r);
	return 0;
}

int repo_movements(struct db_conn *db, int64_t pid, int64_t limit, int64_t offset, struct db_rows **out,
		   int64_t *total)
{
	struct db_val p[] = {db_i64(pid), db_i64(limit), db_i64(offset)};
	if (count(db, sql_moves_count, p, 1, total) != 0)
		return -1;
	return db_query(db, sql_moves, p, 3, out);
}

int repo_movements_sum(struct db_conn *db, int64_t pid, int64_t *sum)
{
	struct db_val p[] = {db_i64(pid)};
	return count(db, sql_moves_sum, p, 1, sum);
}

int repo_low_stock(struct db_conn *db, int64_t limit, int64_t offset, struct db_rows **out, int64_t *total)
{
	struct db_val p[] = {db_i64(limit), db_i64(offset)};
	if (count(db, sql_low_count, NULL, 0, total) != 0)
		return -1;
	return db_query(db, sql_low, p, 2, out);
}

/* Reads the RES_COLS row of `r` into *out; 0, or 1 when there is none. Frees `r`. */
static int reservation_from_rows(struct db_rows *r, struct reservation *out)
{
	int rc = r->nrows ? 0 : 1;
	if (r->nrows) {
		out->id = db_cell_i64(r, 0, 0, 0);
		db_cell_copy(r, 0, 1, out->order_ref, sizeof(out->order_ref));
		db_cell_copy(r, 0, 2, out->status, sizeof(out->status));
		db_cell_copy(r, 0, 3, out->expires_at, sizeof(out->expires_at));
		db_cell_copy(r, 0, 4, out->created_at, sizeof(out->created_at));
		out->expired = db_cell_i64(r, 0, 5, 0) != 0;
	}
	db_rows_free(r);
	return rc;
}

int repo_reservation_insert(struct db_conn *db, const char *ref, int64_t ttl, struct reservation *out)
{
	struct db_val p[] = {db_str(ref), db_i64(ttl)};
	struct db_rows *r;
	if (db_query(db, sql_res_insert, p, 2, &r) != 0)
		return -1;
	if (reservation_from_rows(r, out) != 0) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "reservation insert returned no row");
		return -1;
	}
	return 0;
}

int repo_reservation_get(struct db_conn *db, const char *ref, bool lock, struct reservation *out)
{
	struct db_val p[] = {db_str(ref)};
	struct db_rows *r;
	if (db_query(db, lock ? sql_res_get_lock : sql_res_get, p, 1, &r) != 0)
		return -1;
	return reservation_from_rows(r, out);
}

int repo_reservation_item_insert(struct db_conn *db, int64_t rid, int64_t pid, int64_t qty)
{
	struct db_val p[] = {db_i64(rid), db_i64(pid), db_i64(qty)};
	return db_exec(db, sql_item_insert, p, 3, NULL);
}

int repo_reservation_items(struct db_conn *db, int64_t rid, struct db_rows **out)
{
	struct db_val p[] = {db_i64(rid)};
	return db_query(db, sql_items, p, 1, out);
}

int repo_reservation_set_status(struct db_conn *db, int64_t rid, const char *status)
{
	struct db_val p[] = {db_str(status), db_i64(rid)};
	return db_exec(db, sql_res_status, p, 2, NULL);
}

int repo_reservations_expired(struct db_conn *db, const char *after_at, int64_t after_id, int64_t limit,
			      struct db_rows **out)
{
	struct db_val p[] = {db_str(after_at), db_str(after_at), db_i64(after_id), db_i64(limit)};
	return db_query(db, sql_res_expired, p, 4, out);
}
