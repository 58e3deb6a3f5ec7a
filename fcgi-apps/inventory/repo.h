/* repo.h: the inventory service's SQL: stock rows, the movements ledger, reservations. */
#ifndef STORE_INVENTORY_REPO_H
#define STORE_INVENTORY_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct db_rows;

struct stock {
	int64_t product_id, on_hand, reserved, threshold;
	bool alerted;
	char updated_at[32];
};

struct reservation {
	int64_t id;
	char order_ref[65];
	char status[12];
	char expires_at[32], created_at[32];
	bool expired; /* expires_at has passed (by the database clock) */
};

/* Returns 0 with *s filled, 1 when there is no stock row, -1 on error. `lock`: FOR UPDATE. */
int repo_stock_get(struct db_conn *db, int64_t pid, bool lock, struct stock *s);

/* Rows (product_id, on_hand, reserved) for the existing ids among ids[0..n). */
int repo_stock_many(struct db_conn *db, const int64_t *ids, size_t n, struct db_rows **out);

/* Creates the row with on_hand 0 if missing (so that a movement can follow), and locks it
 * exclusive either way (inside a transaction). */
int repo_stock_ensure(struct db_conn *db, int64_t pid);
int repo_stock_set(struct db_conn *db, int64_t pid, int64_t on_hand, int64_t threshold);

/* on_hand += delta unless that leaves it below reserved; *applied is 1 or 0. */
int repo_stock_adjust(struct db_conn *db, int64_t pid, int64_t delta, int *applied);
/* reserved += qty when on_hand - reserved >= qty; *applied is 1 or 0. */
int repo_stock_reserve(struct db_conn *db, int64_t pid, int64_t qty, int *applied);
/* repo_stock_reserve, applied only when the low-stock state stays as it is (available after it
 * still above the threshold with no alert armed, or still at or below it with the alert armed):
 * then no check must follow. *applied 0: short of stock, or the state changes (or no row). */
int repo_stock_reserve_steady(struct db_conn *db, int64_t pid, int64_t qty, int *applied);
/* reserved -= qty (a release); *applied is 1 or 0. */
int repo_stock_unreserve(struct db_conn *db, int64_t pid, int64_t qty, int *applied);
/* on_hand -= qty and reserved -= qty (a sale); *applied is 1 or 0. */
int repo_stock_sell(struct db_conn *db, int64_t pid, int64_t qty, int *applied);
int repo_stock_set_alerted(struct db_conn *db, int64_t pid, bool alerted);

int repo_movement_insert(struct db_conn *db, int64_t pid, int64_t delta, const char *reason, const char *reference,
			 const char *actor, int64_t on_hand_after);
/* Newest first: id, delta, reason, reference, actor, on_hand_after, created_at. */
int repo_movements(struct db_conn *db, int64_t pid, int64_t limit, int64_t offset, struct db_rows **out,
		   int64_t *total);
/* Sum of a product's ledger (for checks): *sum. */
int repo_movements_sum(struct db_conn *db, int64_t pid, int64_t *sum);
/* Products whose available is at or below the threshold: product_id, on_hand, reserved, threshold. */
int repo_low_stock(struct db_conn *db, int64_t limit, int64_t offset, struct db_rows **out, int64_t *total);

/* Inserts an active reservation expiring `ttl` seconds from now and fills *out with the row as
 * written. Only inside a transaction (db_tx): a write is never repeated by db_query's retry.
 * Returns 0, or -1 (DB_DUPLICATE when the order_ref exists). */
int repo_reservation_insert(struct db_conn *db, const char *ref, int64_t ttl, struct reservation *out);
/* 0 with *r filled, 1 when there is none, -1 on error. */
int repo_reservation_get(struct db_conn *db, const char *ref, bool lock, struct reservation *r);
int repo_reservation_item_insert(struct db_conn *db, int64_t rid, int64_t pid, int64_t qty);
/* Items by product id: product_id, quantity. */
int repo_reservation_items(struct db_conn *db, int64_t rid, struct db_rows **out);
int repo_reservation_set_status(struct db_conn *db, int64_t rid, const char *status);
/* Up to `limit` active reservations past their expiry, oldest first from after (`after_at`,
 * `after_id`) (expires_at as "YYYY-MM-DD HH:MM:SS.ffffff", id), locked, skipping ones locked
 * elsewhere: id, order_ref, expires_at (in that form, for the next cursor). */
int repo_reservations_expired(struct db_conn *db, const char *after_at, int64_t after_id, int64_t limit,
			      struct db_rows **out);

#endif
