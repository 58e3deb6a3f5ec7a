/* handlers.h: the inventory service's route handlers and what they share. */
#ifndef STORE_INVENTORY_HANDLERS_H
#define STORE_INVENTORY_HANDLERS_H

#include <stddef.h>
#include <stdint.h>

struct request;
struct db_conn;
struct stock;
struct ctx;

/* The inventory service's own settings: filled once at start, read-only afterwards. */
struct inventory_settings {
	char *alert_email; /* STORE_ALERT_EMAIL: where staff alerts (low stock) go, default ops@localhost */
};
extern struct inventory_settings inventory_settings;

/* Where a low-stock alert goes: staff's address and the request that caused it. */
struct alert_to {
	const char *email;
	const char *request_id;
};

/*
 * After a change to `pid`'s stock (inside the transaction, row locked): arms or re-arms
 * its low-stock alert. Falling to or below the threshold writes one low_stock e-mail to the
 * outbox in the same transaction (and marks the row so no second one follows); rising above
 * it clears the mark. Returns 0 or -1 (db->err set).
 */
int stock_after_change(struct db_conn *db, int64_t pid, const struct alert_to *to);

/* stock_after_change from `s`, the row as read after the change (locked): no second read. */
int stock_alert_check(struct db_conn *db, const struct stock *s, const struct alert_to *to);

void stock_get(struct request *req);
void stock_many(struct request *req);
void stock_put(struct request *req);
void stock_adjust(struct request *req);
void stock_movements(struct request *req);
void stock_low(struct request *req);
/* GET /internal/inventory/levels?ids=: available units of up to 100 products, for other services. */
void stock_levels(struct request *req);

void reservation_create(struct request *req);
void reservation_get(struct request *req);
void reservation_commit(struct request *req);
void reservation_release(struct request *req);
void reservation_finishes(struct request *req);

/* The background sweeper: releases reservations past their TTL, exactly once across instances. */
void expiry_loop(struct ctx *ctx);

#endif
