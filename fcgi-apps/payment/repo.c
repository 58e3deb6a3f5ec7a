/* repo.c: every SQL statement of the payment service. */
#include "order_port.h"
#include "repo.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

#define PAYMENT_COLS                                                                                           \
	"id, order_id, user_id, amount, currency, status, refunded, provider, provider_ref, decline_code, brand, " \
	"last4, exp_month, exp_year, " DB_TS("created_at") ", " DB_TS("updated_at") ", email, customer_name"

static const char sql_start[] =
	"INSERT INTO payments (order_id, user_id, amount, currency, status, provider, brand, last4, exp_month, "
	"exp_year, email, customer_name) VALUES (?, ?, ?, ?, 'processing', ?, ?, ?, ?, ?, ?, ?)";
static const char sql_succeed[] =
	"UPDATE payments SET status = 'succeeded', provider_ref = ? WHERE id = ? AND status = 'processing'";
static const char sql_fail[] =
	"UPDATE payments SET status = ?, decline_code = ? WHERE id = ? AND status = 'processing'";
static const char sql_get[] = "SELECT " PAYMENT_COLS " FROM payments WHERE id = ? AND (? = 0 OR user_id = ?)";
static const char sql_of_order[] = "SELECT " PAYMENT_COLS " FROM payments WHERE holding_order = ? AND "
				   "status <> 'processing' FOR UPDATE";
static const char sql_list[] = "SELECT " PAYMENT_COLS " FROM payments WHERE (? = 0 OR user_id = ?) AND "
			       "(? = 0 OR order_id = ?) AND (? IS NULL OR status = ?) ORDER BY id DESC LIMIT ? OFFSET ?";
static const char sql_count[] = "SELECT COUNT(*) FROM payments WHERE (? = 0 OR user_id = ?) AND "
				"(? = 0 OR order_id = ?) AND (? IS NULL OR status = ?)";
static const char sql_take_refund[] =
	"UPDATE payments SET refunded = refunded + ? WHERE id = ? AND "
	"status IN ('succeeded','partially_refunded') AND refunded + ? <= amount";
static const char sql_refund_insert[] =
	"INSERT INTO refunds (payment_id, amount, reason, actor, request_ref) VALUES (?, ?, ?, ?, ?)";
static const char sql_refund_by_ref[] =
	"SELECT id, payment_id, amount, status FROM refunds WHERE request_ref = ? FOR UPDATE";
static const char sql_refund_untag[] = "UPDATE refunds SET request_ref = NULL WHERE request_ref = ?";
static const char sql_refund_get_status[] = "SELECT status FROM refunds WHERE id = ?";
/* A refund's outcome is written once: only while it is pending (the request and the sweepers
 * of several instances may each end the same refund). */
static const char sql_refund_ok[] =
	"UPDATE refunds SET status = 'succeeded', provider_ref = ? WHERE id = ? AND status = 'pending'";
/* The status counts the refunds that went through, not those still with the provider (their
 * amounts are reserved in `refunded`, and may yet come back). Run after the payment's row is
 * locked (sql_payment_lock), in a statement of its own, so that it sees every refund another
 * run recorded before: two refunds ending at once are counted one after the other. */
static const char sql_payment_lock[] = "SELECT id FROM payments WHERE id = ? FOR UPDATE";
static const char sql_refund_status[] =
	"UPDATE payments SET status = IF((SELECT COALESCE(SUM(amount), 0) FROM refunds WHERE payment_id = ? AND "
	"status = 'succeeded') >= amount, 'refunded', 'partially_refunded') WHERE id = ?";
/* A refund that failed lets go of its request: a retry with the same key makes a new one. */
static const char sql_refund_bad[] =
	"UPDATE refunds SET status = 'failed', request_ref = NULL WHERE id = ? AND status = 'pending'";
static const char sql_give_back[] = "UPDATE payments SET refunded = refunded - ? WHERE id = ?";
static const char sql_refunds_of[] = "SELECT id, amount, reason, status, " DB_TS("created_at") " FROM refunds "
				     "WHERE payment_id = ? ORDER BY id";
static const char sql_stale[] = "UPDATE payments SET status = 'failed', decline_code = 'interrupted' WHERE "
				"status = 'processing' AND updated_at < NOW(3) - INTERVAL ? SECOND";
static const char sql_refunds_stale[] =
	"SELECT r.id, r.payment_id, r.amount, p.provider_ref, p.currency, r.actor FROM refunds r JOIN payments p ON "
	"p.id = r.payment_id WHERE r.status = 'pending' AND r.created_at < NOW(3) - INTERVAL ? SECOND "
	"- INTERVAL IF(r.request_ref IS NULL, 0, ?) SECOND ORDER BY r.id LIMIT ?";
/* A succeeded payment whose "paid" call the order service refused for good: its batch item (or
 * its single call, as queued before the batches) was given up. Read from the failed rows, which
 * are few, each joined to its payment by an index: the sweeper runs this every second, and an
 * EXISTS over every succeeded payment read the failed rows once per payment. */
static const char sql_refused[] =
	"SELECT id FROM ("
	"SELECT p.id FROM outbox o JOIN payments p ON p.id = CAST(JSON_VALUE(o.payload, '$.payment_id') AS UNSIGNED) "
	"WHERE o.status = 'failed' AND o.target = 'POST " ORDER_PAID_BATCH "' "
	"AND p.status IN ('succeeded','partially_refunded') "
	"UNION "
	"SELECT p.id FROM outbox o JOIN payments p "
	"ON p.order_id = CAST(SUBSTRING_INDEX(SUBSTRING_INDEX(o.target, '/', -2), '/', 1) AS UNSIGNED) "
	"WHERE o.status = 'failed' AND o.target LIKE 'POST /internal/order/orders/%/paid' "
	"AND p.status IN ('succeeded','partially_refunded')) refused ORDER BY id LIMIT ?";

int repo_payment_start(struct db_conn *db, struct payment *p)
{
	struct db_exec_result res;
	struct db_val v[] = {db_i64(p->order_id), db_i64(p->user_id), db_i64(p->amount), db_str(p->currency),
			     db_str(p->provider), db_str(p->brand), db_str(p->last4), db_i64(p->exp_month),
			     db_i64(p->exp_year), db_str(p->email), db_str(p->customer_name)};
	if (db_exec(db, sql_start, v, 11, &res) != 0)
		return -1;
	p->id = (int64_t)res.insert_id;
	return 0;
}

int repo_payment_succeed(struct db_conn *db, int64_t id, const char *provider_ref)
{
	struct db_val v[] = {db_str(provider_ref), db_i64(id)};
	long n = db_exec_affected(db, sql_succeed, v, 2);
	return n < 0 ? -1 : n == 1;
}

int repo_payment_fail(struct db_conn *db, int64_t id, const char *status, const char *code)
{
	struct db_val v[] = {db_str(status), db_str(code), db_i64(id)};
	long n = db_exec_affected(db, sql_fail, v, 3);
	return n < 0 ? -1 : n == 1;
}

void repo_payment_fill(const struct db_rows *r, size_t i, struct payment *p)
{
	memset(p, 0, sizeof(*p));
	p->id = db_cell_i64(r, i, 0, 0);
	p->order_id = db_cell_i64(r, i, 1, 0);
	p->user_id = db_cell_i64(r, i, 2, 0);
	p->amount = db_cell_i64(r, i, 3, 0);
	db_cell_copy(r, i, 4, p->currency, sizeof(p->currency));
	db_cell_copy(r, i, 5, p->status, sizeof(p->status));
	p->refunded = db_cell_i64(r, i, 6, 0);
	db_cell_copy(r, i, 7, p->provider, sizeof(p->provider));
	db_cell_copy(r, i, 8, p->provider_ref, sizeof(p->provider_ref));
	db_cell_copy(r, i, 9, p->decline_code, sizeof(p->decline_code));
	db_cell_copy(r, i, 10, p->brand, sizeof(p->brand));
	db_cell_copy(r, i, 11, p->last4, sizeof(p->last4));
	p->exp_month = db_cell_i64(r, i, 12, 0);
	p->exp_year = db_cell_i64(r, i, 13, 0);
	db_cell_copy(r, i, 14, p->created_at, sizeof(p->created_at));
	db_cell_copy(r, i, 15, p->updated_at, sizeof(p->updated_at));
	db_cell_copy(r, i, 16, p->email, sizeof(p->email));
	db_cell_copy(r, i, 17, p->customer_name, sizeof(p->customer_name));
}

/* One payment from `sql` with `v`: 0, 1 (none) or -1. */
static int one(struct db_conn *db, const char *sql, const struct db_val *v, size_t n, struct payment *p)
{
	struct db_rows *r;
	if (db_query(db, sql, v, n, &r) != 0)
		return -1;
	int rc = r->nrows ? 0 : 1;
	if (rc == 0)
		repo_payment_fill(r, 0, p);
	db_rows_free(r);
	return rc;
}

int repo_payment_get(struct db_conn *db, int64_t id, int64_t user_id, struct payment *p)
{
	struct db_val v[] = {db_i64(id), db_i64(user_id), db_i64(user_id)};
	return one(db, sql_get, v, 3, p);
}

int repo_payment_of_order_locked(struct db_conn *db, int64_t order_id, struct payment *p)
{
	struct db_val v[] = {db_i64(order_id)};
	return one(db, sql_of_order, v, 1, p);
}

int repo_payments_list(struct db_conn *db, int64_t user_id, int64_t order_id, const char *status, int64_t limit,
		       int64_t offset, struct db_rows **rows, int64_t *total)
{
	struct db_val v[] = {db_i64(user_id), db_i64(user_id), db_i64(order_id), db_i64(order_id),
			     db_str(status),  db_str(status),  db_i64(limit),    db_i64(offset)};
	struct db_rows *c;
	if (db_query(db, sql_count, v, 6, &c) != 0)
		return -1;
	*total = db_cell_i64(c, 0, 0, 0);
	db_rows_free(c);
	return db_query(db, sql_list, v, 8, rows);
}

int repo_refund_reserve(struct db_conn *db, int64_t payment_id, int64_t amount, const char *reason, const char *actor,
			const char *request_ref, int64_t *refund_id)
{
	struct db_val take[] = {db_i64(amount), db_i64(payment_id), db_i64(amount)};
	long n = db_exec_affected(db, sql_take_refund, take, 3);
	if (n <= 0)
		return n < 0 ? -1 : 1;
	struct db_exec_result res;
	struct db_val ins[] = {db_i64(payment_id), db_i64(amount), db_str(reason), db_str(actor),
			       request_ref ? db_str(request_ref) : db_null()};
	if (db_exec(db, sql_refund_insert, ins, 5, &res) != 0)
		return -1;
	*refund_id = (int64_t)res.insert_id;
	return 0;
}

int repo_refund_by_ref(struct db_conn *db, const char *request_ref, struct refund_row *out)
{
	struct db_val v[] = {db_str(request_ref)};
	struct db_rows *r;
	if (db_query(db, sql_refund_by_ref, v, 1, &r) != 0)
		return -1;
	int found = r->nrows > 0;
	if (found) {
		out->id = db_cell_i64(r, 0, 0, 0);
		out->payment_id = db_cell_i64(r, 0, 1, 0);
		out->amount = db_cell_i64(r, 0, 2, 0);
		db_cell_copy(r, 0, 3, out->status, sizeof(out->status));
	}
	db_rows_free(r);
	return found ? 0 : 1;
}

int repo_refund_status(struct db_conn *db, int64_t refund_id, char *status, size_t len)
{
	struct db_val v[] = {db_i64(refund_id)};
	struct db_rows *r;
	if (db_query(db, sql_refund_get_status, v, 1, &r) != 0)
		return -1;
	int found = r->nrows > 0;
	if (found)
		db_cell_copy(r, 0, 0, status, len);
	db_rows_free(r);
	if (!found) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "refund %lld: gone", (long long)refund_id);
		return -1;
	}
	return 0;
}

int repo_refund_untag(struct db_conn *db, const char *request_ref)
{
	struct db_val v[] = {db_str(request_ref)};
	return db_exec(db, sql_refund_untag, v, 1, NULL);
}

int repo_refund_done(struct db_conn *db, int64_t refund_id, int64_t payment_id, const char *provider_ref)
{
	struct db_val a[] = {db_str(provider_ref), db_i64(refund_id)};
	struct db_val b[] = {db_i64(payment_id)}, c[] = {db_i64(payment_id), db_i64(payment_id)};
	struct db_rows *r;
	long n = db_exec_affected(db, sql_refund_ok, a, 2);
	if (n <= 0)
		return n < 0 ? -1 : 1;
	if (db_query(db, sql_payment_lock, b, 1, &r) != 0)
		return -1;
	db_rows_free(r);
	return db_exec(db, sql_refund_status, c, 2, NULL);
}

int repo_refund_failed(struct db_conn *db, int64_t refund_id, int64_t payment_id, int64_t amount)
{
	struct db_val a[] = {db_i64(refund_id)};
	struct db_val b[] = {db_i64(amount), db_i64(payment_id)};
	long n = db_exec_affected(db, sql_refund_bad, a, 1);
	if (n <= 0)
		return n < 0 ? -1 : 1;
	return db_exec(db, sql_give_back, b, 2, NULL);
}

int repo_refunds_of(struct db_conn *db, int64_t payment_id, struct db_rows **rows)
{
	struct db_val v[] = {db_i64(payment_id)};
	return db_query(db, sql_refunds_of, v, 1, rows);
}

long repo_payments_fail_stale(struct db_conn *db, int seconds)
{
	struct db_val v[] = {db_i64(seconds)};
	return db_exec_affected(db, sql_stale, v, 1);
}

int repo_refunds_stale(struct db_conn *db, int seconds, int keyed_more, int limit, struct db_rows **rows)
{
	struct db_val v[] = {db_i64(seconds), db_i64(keyed_more), db_i64(limit)};
	return db_query(db, sql_refunds_stale, v, 3, rows);
}

int repo_payments_refused_by_order(struct db_conn *db, int limit, struct db_rows **rows)
{
	struct db_val v[] = {db_i64(limit)};
	return db_query(db, sql_refused, v, 1, rows);
}
