/* repo.c: prepared SQL of the order service. Every status change is conditional on the status it leaves. */
#include "repo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* The columns of one order row, in the order order_from_rows reads them. */
#define ORDER_COLS                                                                                                 \
	"id, order_ref, user_id, email, customer_name, status, currency, subtotal, shipping, total, "               \
	"ship_name, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, ship_phone, note, carrier, " \
	"tracking_number, payment_id, " DB_TS("expires_at") ", " DB_TS("placed_at") ", " DB_TS("updated_at") \
	", refunded_early"
/* RETURNING: the row as the database wrote it (its id, defaults and times), so the placing answers
 * without reading it back. */
static const char sql_insert[] =
	"INSERT INTO orders (order_ref, user_id, email, customer_name, status, currency, subtotal, shipping, total, "
	"ship_name, ship_line1, ship_line2, ship_city, ship_postal_code, ship_country, ship_phone, note, expires_at) "
	"VALUES (?, ?, ?, ?, 'pending_payment', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NOW() + INTERVAL ? SECOND) "
	"RETURNING " ORDER_COLS;
static const char sql_line[] = "INSERT INTO order_lines (order_id, line_no, product_id, sku, name, unit_price, "
			       "quantity, line_total) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
static const char sql_history[] =
	"INSERT INTO order_history (order_id, from_status, to_status, actor, reason) VALUES (?, ?, ?, ?, ?)";
static const char sql_history_at[] =
	"INSERT INTO order_history (order_id, from_status, to_status, actor, reason) VALUES (?, ?, ?, ?, ?) "
	"RETURNING " DB_TS("at");
static const char sql_get[] = "SELECT " ORDER_COLS " FROM orders WHERE id = ?";
static const char sql_lines[] = "SELECT product_id, sku, name, unit_price, quantity, line_total FROM order_lines "
				"WHERE order_id = ? ORDER BY line_no";
static const char sql_hist[] = "SELECT from_status, to_status, " DB_TS("at") ", actor, reason FROM order_history "
			       "WHERE order_id = ? ORDER BY id";
static const char sql_move[] = "UPDATE orders SET status = ? WHERE id = ? AND status = ?";
/* Also conditional on whether a refund was noted as the caller read the order: one noted since
 * (by a concurrent call) makes it a race, decided again from the new row. */
static const char sql_move_paid[] = "UPDATE orders SET status = 'paid', payment_id = ? WHERE id = ? AND "
				    "status = 'pending_payment' AND (refunded_early IS NULL) = ?";
static const char sql_refunded_early[] =
	"UPDATE orders SET refunded_early = ? WHERE id = ? AND status = 'pending_payment'";
static const char sql_move_shipped[] =
	"UPDATE orders SET status = 'shipped', carrier = ?, tracking_number = ? WHERE id = ? AND status = 'paid'";
#define LIST_WHERE                                                                                              \
	" WHERE (? = 0 OR o.user_id = ?) AND (? IS NULL OR o.status = ?) AND (? IS NULL OR o.placed_at >= ?) AND " \
	"(? IS NULL OR o.placed_at < ?)"
static const char sql_list[] =
	"SELECT o.id, o.user_id, o.status, o.currency, o.subtotal, o.shipping, o.total, "
	"(SELECT COALESCE(SUM(l.quantity), 0) FROM order_lines l WHERE l.order_id = o.id), " DB_TS("o.placed_at")
	", " DB_TS("o.updated_at") " FROM orders o" LIST_WHERE " ORDER BY o.id DESC LIMIT ? OFFSET ?";
static const char sql_list_count[] = "SELECT COUNT(*) FROM orders o" LIST_WHERE;
static const char sql_due[] = "SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at <= NOW() "
			      "ORDER BY expires_at LIMIT ? FOR UPDATE SKIP LOCKED";
static const char sql_delivered[] =
	"SELECT EXISTS (SELECT 1 FROM orders o JOIN order_lines l ON l.order_id = o.id "
	"WHERE o.user_id = ? AND o.status = 'delivered' AND l.product_id = ?)";
/* Reads the ORDER_COLS row 0 of `r` into *o. */
static void order_from_rows(const struct db_rows *r, struct order_row *o)
{
	memset(o, 0, sizeof(*o));
	o->id = db_cell_i64(r, 0, 0, 0);
	db_cell_copy(r, 0, 1, o->order_ref, sizeof(o->order_ref));
	o->user_id = db_cell_i64(r, 0, 2, 0);
	db_cell_copy(r, 0, 3, o->email, sizeof(o->email));
	db_cell_copy(r, 0, 4, o->customer_name, sizeof(o->customer_name));
	db_cell_copy(r, 0, 5, o->status, sizeof(o->status));
	db_cell_copy(r, 0, 6, o->currency, sizeof(o->currency));
	o->subtotal = db_cell_i64(r, 0, 7, 0);
	o->shipping = db_cell_i64(r, 0, 8, 0);
	o->total = db_cell_i64(r, 0, 9, 0);
	db_cell_copy(r, 0, 10, o->ship_name, sizeof(o->ship_name));
	db_cell_copy(r, 0, 11, o->ship_line1, sizeof(o->ship_line1));
	o->has_line2 = db_cell(r, 0, 12) != NULL;
	db_cell_copy(r, 0, 12, o->ship_line2, sizeof(o->ship_line2));
	db_cell_copy(r, 0, 13, o->ship_city, sizeof(o->ship_city));
	db_cell_copy(r, 0, 14, o->ship_postal_code, sizeof(o->ship_postal_code));
	db_cell_copy(r, 0, 15, o->ship_country, sizeof(o->ship_country));
	o->has_phone = db_cell(r, 0, 16) != NULL;
	db_cell_copy(r, 0, 16, o->ship_phone, sizeof(o->ship_phone));
	o->has_note = db_cell(r, 0, 17) != NULL;
	db_cell_copy(r, 0, 17, o->note, sizeof(o->note));
	o->has_carrier = db_cell(r, 0, 18) != NULL;
	db_cell_copy(r, 0, 18, o->carrier, sizeof(o->carrier));
	db_cell_copy(r, 0, 19, o->tracking_number, sizeof(o->tracking_number));
	o->has_payment = db_cell(r, 0, 20) != NULL;
	db_cell_copy(r, 0, 20, o->payment_id, sizeof(o->payment_id));
	db_cell_copy(r, 0, 21, o->expires_at, sizeof(o->expires_at));
	db_cell_copy(r, 0, 22, o->placed_at, sizeof(o->placed_at));
	db_cell_copy(r, 0, 23, o->updated_at, sizeof(o->updated_at));
	o->refunded_early = db_cell(r, 0, 24) != NULL;
	db_cell_copy(r, 0, 24, o->refund_reason, sizeof(o->refund_reason));
}

/* A write whose RETURNING gave no row: cannot happen, but never read row 0 of nothing. */
static int no_row_returned(struct db_conn *db, struct db_rows *r, const char *what)
{
	db_rows_free(r);
	db->err = DB_ERROR;
	snprintf(db->errstr, sizeof(db->errstr), "%s returned no row", what);
	return -1;
}

int repo_order_insert(struct db_conn *db, const struct order_new *o, struct order_row *out)
{
	struct db_val p[] = {
		db_str(o->order_ref), db_i64(o->user_id), db_str(o->email), db_str(o->customer_name),
		db_str(o->currency), db_i64(o->subtotal), db_i64(o->shipping), db_i64(o->total),
		db_str(o->ship_name), db_str(o->ship_line1), db_str(o->ship_line2), db_str(o->ship_city),
		db_str(o->ship_postal_code), db_str(o->ship_country), db_str(o->ship_phone), db_str(o->note),
		db_i64(o->ttl),
	};
	struct db_rows *r;
	if (db_query(db, sql_insert, p, sizeof(p) / sizeof(p[0]), &r) != 0)
		return -1;
	if (r->nrows == 0)
		return no_row_returned(db, r, "order insert");
	order_from_rows(r, out);
	db_rows_free(r);
	return 0;
}

int repo_line_insert(struct db_conn *db, int64_t order_id, int64_t line_no, int64_t product_id, const char *sku,
		     const char *name, int64_t unit_price, int64_t quantity, int64_t line_total)
{
	struct db_val p[] = {db_i64(order_id), db_i64(line_no), db_i64(product_id), db_str(sku),
			     db_str(name),     db_i64(unit_price), db_i64(quantity), db_i64(line_total)};
	return db_exec(db, sql_line, p, sizeof(p) / sizeof(p[0]), NULL);
}

int repo_history_insert(struct db_conn *db, int64_t order_id, const char *from, const char *to, const char *actor,
			const char *reason, char *at, size_t atlen)
{
	struct db_val p[] = {db_i64(order_id), db_str(from), db_str(to), db_str(actor), db_str(reason)};
	struct db_rows *r;
	if (!at)
		return db_exec(db, sql_history, p, sizeof(p) / sizeof(p[0]), NULL);
	if (db_query(db, sql_history_at, p, sizeof(p) / sizeof(p[0]), &r) != 0)
		return -1;
	if (r->nrows == 0)
		return no_row_returned(db, r, "history insert");
	db_cell_copy(r, 0, 0, at, atlen);
	db_rows_free(r);
	return 0;
}

int repo_order_get(struct db_conn *db, int64_t id, struct order_row *o)
{
	struct db_val p[] = {db_i64(id)};
	struct db_rows *r;
	if (db_query(db, sql_get, p, 1, &r) != 0)
		return -1;
	if (r->nrows == 0) {
		db_rows_free(r);
		return 1;
	}
	order_from_rows(r, o);
	db_rows_free(r);
	return 0;
}

int repo_order_lines(struct db_conn *db, int64_t id, struct db_rows **out)
{
	struct db_val p[] = {db_i64(id)};
	return db_query(db, sql_lines, p, 1, out);
}

int repo_order_history(struct db_conn *db, int64_t id, struct db_rows **out)
{
	struct db_val p[] = {db_i64(id)};
	return db_query(db, sql_hist, p, 1, out);
}

static int exec_applied(struct db_conn *db, const char *sql, const struct db_val *p, size_t n, int *applied)
{
	struct db_exec_result res;
	*applied = 0;
	if (db_exec(db, sql, p, n, &res) != 0)
		return -1;
	*applied = res.affected > 0;
	return 0;
}

int repo_order_move(struct db_conn *db, int64_t id, const char *from, const char *to, int *applied)
{
	struct db_val p[] = {db_str(to), db_i64(id), db_str(from)};
	return exec_applied(db, sql_move, p, 3, applied);
}

int repo_order_move_paid(struct db_conn *db, int64_t id, const char *payment_id, bool refund_noted, int *applied)
{
	struct db_val p[] = {db_str(payment_id), db_i64(id), db_i64(refund_noted ? 0 : 1)};
	return exec_applied(db, sql_move_paid, p, 3, applied);
}

int repo_order_refunded_early(struct db_conn *db, int64_t id, const char *reason, int *applied)
{
	struct db_val p[] = {db_str(reason), db_i64(id)};
	return exec_applied(db, sql_refunded_early, p, 2, applied);
}

int repo_order_move_shipped(struct db_conn *db, int64_t id, const char *carrier, const char *tracking,
			    int *applied)
{
	struct db_val p[] = {db_str(carrier), db_str(tracking), db_i64(id)};
	return exec_applied(db, sql_move_shipped, p, 3, applied);
}

int repo_orders_list(struct db_conn *db, const struct order_filter *f, int64_t limit, int64_t offset,
		     struct db_rows **out, int64_t *total)
{
	struct db_val p[] = {
		db_i64(f->user_id),     db_i64(f->user_id),     db_str(f->status),    db_str(f->status),
		db_str(f->placed_from), db_str(f->placed_from), db_str(f->placed_to), db_str(f->placed_to),
		db_i64(limit),          db_i64(offset),
	};
	struct db_rows *c;
	*out = NULL;
	if (db_query(db, sql_list_count, p, 8, &c) != 0)
		return -1;
	*total = db_cell_i64(c, 0, 0, 0);
	db_rows_free(c);
	return db_query(db, sql_list, p, 10, out);
}

int repo_orders_due(struct db_conn *db, int64_t limit, struct db_rows **out)
{
	struct db_val p[] = {db_i64(limit)};
	return db_query(db, sql_due, p, 1, out);
}

int repo_delivered_with(struct db_conn *db, int64_t user_id, int64_t product_id, bool *yes)
{
	struct db_val p[] = {db_i64(user_id), db_i64(product_id)};
	struct db_rows *r;
	if (db_query(db, sql_delivered, p, 2, &r) != 0)
		return -1;
	*yes = db_cell_i64(r, 0, 0, 0) == 1;
	db_rows_free(r);
	return 0;
}
