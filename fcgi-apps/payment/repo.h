/* repo.h: the payment service's SQL: payments and refunds. */
#ifndef STORE_PAYMENT_REPO_H
#define STORE_PAYMENT_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct db_rows;

struct payment {
	int64_t id, order_id, user_id, amount, refunded;
	char currency[4];
	char status[20];
	char provider[33], provider_ref[65], decline_code[49];
	char brand[17], last4[5];
	int64_t exp_month, exp_year;
	char created_at[32], updated_at[32];
	char email[255], customer_name[401]; /* the shopper's, as when it was made ("" before 010) */
};

/* A new payment in `processing`. Returns 0 with p->id set, or -1 (db->err DB_DUPLICATE when the
 * order already has a payment running or one that took money). */
int repo_payment_start(struct db_conn *db, struct payment *p);

/* processing → succeeded with the provider's charge id. Returns 1 when changed, 0 when the
 * payment was not processing, -1 on error. */
int repo_payment_succeed(struct db_conn *db, int64_t id, const char *provider_ref);

/* processing → `status` ("declined" or "failed") with the reason. Same returns. */
int repo_payment_fail(struct db_conn *db, int64_t id, const char *status, const char *code);

/* Reads one payment. Returns 0, 1 when there is none (or, with `user_id` > 0, it is another
 * user's), or -1. */
int repo_payment_get(struct db_conn *db, int64_t id, int64_t user_id, struct payment *p);

/* The payment of `order_id` that took money (succeeded or refunded in part or whole), locked.
 * Returns 0, 1 when there is none, or -1. Inside a transaction. */
int repo_payment_of_order_locked(struct db_conn *db, int64_t order_id, struct payment *p);

/* Payments, newest first, filtered by user (0: all), order (0: all) and status (NULL: all).
 * Fills *rows (columns as repo_payment_fill reads them) and *total. Returns 0 or -1. */
int repo_payments_list(struct db_conn *db, int64_t user_id, int64_t order_id, const char *status, int64_t limit,
		       int64_t offset, struct db_rows **rows, int64_t *total);

/* Reads row `i` of a payment result set into `p`. */
void repo_payment_fill(const struct db_rows *r, size_t i, struct payment *p);

/* Inside a transaction: takes `amount` from what is left to refund of a payment that took
 * money (conditional UPDATE: concurrent refunds never exceed the charge) and records a pending
 * refund. Returns 0 with *refund_id, 1 when the amount is more than is left or the payment is
 * not refundable, or -1. `request_ref` (NULL: none) names the staff request it is made for. */
int repo_refund_reserve(struct db_conn *db, int64_t payment_id, int64_t amount, const char *reason, const char *actor,
			const char *request_ref, int64_t *refund_id);

/* A refund as a retry of its request finds it. */
struct refund_row {
	int64_t id, payment_id, amount;
	char status[12]; /* pending, succeeded (a failed refund has no request_ref) */
};

/* Inside a transaction: the refund made for staff request `request_ref` ("<caller>:<key>"),
 * locked. Returns 0 (found), 1 (none) or -1. */
int repo_refund_by_ref(struct db_conn *db, const char *request_ref, struct refund_row *out);

/* Takes `request_ref` off the refund that has it (one made under a key since purged, which a
 * new request may use again). Returns 0 or -1. */
int repo_refund_untag(struct db_conn *db, const char *request_ref);

/* The provider refunded it: the refund succeeded, the payment is refunded or partially so.
 * Returns 0, 1 when the refund was no longer pending (another run ended it: nothing changed),
 * or -1. */
int repo_refund_done(struct db_conn *db, int64_t refund_id, int64_t payment_id, const char *provider_ref);

/* The provider refused it: the refund failed and its amount is refundable again. Returns as
 * repo_refund_done. */
int repo_refund_failed(struct db_conn *db, int64_t refund_id, int64_t payment_id, int64_t amount);

/* A payment's refunds, oldest first: id, amount, reason, status, created_at. */
int repo_refunds_of(struct db_conn *db, int64_t payment_id, struct db_rows **rows);

/* Payments left `processing` for more than `seconds` (a process died mid-charge) become
 * `failed` with code "interrupted". Returns the count or -1. */
long repo_payments_fail_stale(struct db_conn *db, int seconds);

/* Refunds left `pending` for more than `seconds` (a process died while the provider was asked),
 * and `keyed_more` seconds more for one made for a request with an Idempotency-Key (a retry that
 * takes the key over ends it first): refund id, payment id, amount, the charge's provider
 * reference, currency, actor; up to `limit`. */
int repo_refunds_stale(struct db_conn *db, int seconds, int keyed_more, int limit, struct db_rows **rows);

/* The status of refund `refund_id` (pending, succeeded, failed) into `status`. Returns 0 or -1. */
int repo_refund_status(struct db_conn *db, int64_t refund_id, char *status, size_t len);

/* Payments whose "order paid" call the order service refused for good (it expired or was
 * cancelled meanwhile) and that still hold the money: ids, up to `limit`. */
int repo_payments_refused_by_order(struct db_conn *db, int limit, struct db_rows **rows);

#endif
