/* repo.h: the order service's SQL: orders, their lines and history, and Idempotency-Keys. */
#ifndef STORE_ORDER_REPO_H
#define STORE_ORDER_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct db_rows;

/* One order row (without lines and history). Strings are "" for SQL NULL. */
struct order_row {
	int64_t id, user_id, subtotal, shipping, total;
	char order_ref[65];
	char email[255], customer_name[401];
	char status[16], currency[4];
	char ship_name[401], ship_line1[801], ship_line2[801], ship_city[401], ship_postal_code[17],
		ship_country[3], ship_phone[33];
	bool has_line2, has_phone, has_note, has_carrier, has_payment;
	char note[4001];
	char carrier[401], tracking_number[401];
	char payment_id[65];
	char expires_at[32], placed_at[32], updated_at[32];
	bool refunded_early;    /* its whole payment was refunded before the payment was recorded */
	char refund_reason[97]; /* then: the refund's reason ("refund 41") */
};

/* What placing an order writes (strings borrowed; line2, phone, note may be NULL). */
struct order_new {
	const char *order_ref, *email, *customer_name, *currency;
	int64_t user_id, subtotal, shipping, total, ttl;
	const char *ship_name, *ship_line1, *ship_line2, *ship_city, *ship_postal_code, *ship_country, *ship_phone;
	const char *note;
};

/* Inserts an order in pending_payment expiring `ttl` seconds from now and fills *out with the
 * row as written (its id, status and times), as repo_order_get would read it. Only inside a
 * transaction (db_tx). Returns 0, or -1 (DB_DUPLICATE when the order_ref exists). */
int repo_order_insert(struct db_conn *db, const struct order_new *o, struct order_row *out);
int repo_line_insert(struct db_conn *db, int64_t order_id, int64_t line_no, int64_t product_id, const char *sku,
		     const char *name, int64_t unit_price, int64_t quantity, int64_t line_total);
/* A history row; `from` NULL for the first one, `reason` may be NULL. When `at` is not NULL it
 * receives the row's time as the timeline shows it (RFC 3339; `atlen` 32 is enough): then only
 * inside a transaction. 0, or -1 on error. */
int repo_history_insert(struct db_conn *db, int64_t order_id, const char *from, const char *to, const char *actor,
			const char *reason, char *at, size_t atlen);

/* 0 with *o filled, 1 when there is no such order, -1 on error. */
int repo_order_get(struct db_conn *db, int64_t id, struct order_row *o);
/* The lines by line_no: product_id, sku, name, unit_price, quantity, line_total. */
int repo_order_lines(struct db_conn *db, int64_t id, struct db_rows **out);
/* The history oldest first: from_status, to_status, at, actor, reason. */
int repo_order_history(struct db_conn *db, int64_t id, struct db_rows **out);

/* The conditional transitions: each changes the order only while it is in `from`, setting
 * *applied to 1 (changed) or 0 (someone else moved it first). 0, or -1 on error. */
int repo_order_move(struct db_conn *db, int64_t id, const char *from, const char *to, int *applied);
/* Notes on an order still pending payment that its whole payment was refunded (`reason`), for
 * the payment to take it on to `refunded` when it lands. *applied 0 when it was no longer
 * pending payment. 0 or -1. */
int repo_order_refunded_early(struct db_conn *db, int64_t id, const char *reason, int *applied);
/* pending_payment -> paid, provided a refund was noted (repo_order_refunded_early) or not, as
 * `refund_noted` says the caller read it: *applied 0 otherwise. 0 or -1. */
int repo_order_move_paid(struct db_conn *db, int64_t id, const char *payment_id, bool refund_noted, int *applied);
int repo_order_move_shipped(struct db_conn *db, int64_t id, const char *carrier, const char *tracking,
			    int *applied);

/* Filters of a list; 0 / NULL: not filtered. `placed_from` (inclusive) and `placed_to`
 * (exclusive) are "YYYY-MM-DD HH:MM:SS" UTC. */
struct order_filter {
	int64_t user_id;
	const char *status, *placed_from, *placed_to;
};

/* Newest first: id, user_id, status, currency, subtotal, shipping, total, item count, placed_at,
 * updated_at; and the total count. */
int repo_orders_list(struct db_conn *db, const struct order_filter *f, int64_t limit, int64_t offset,
		     struct db_rows **out, int64_t *total);

/* Up to `limit` unpaid orders past their expiry, locked, skipping ones locked elsewhere: id. */
int repo_orders_due(struct db_conn *db, int64_t limit, struct db_rows **out);

/* *yes: `user_id` has a delivered order with a line of `product_id`. */
int repo_delivered_with(struct db_conn *db, int64_t user_id, int64_t product_id, bool *yes);

#endif
