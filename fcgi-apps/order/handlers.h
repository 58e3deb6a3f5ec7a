/* handlers.h: the order service's route handlers, its settings, and what its files share. */
#ifndef STORE_ORDER_HANDLERS_H
#define STORE_ORDER_HANDLERS_H

#include <stdint.h>

struct request;
struct ctx;
struct db_conn;
struct json_object;

/* The order service's own settings: filled once at start, read-only afterwards. */
struct order_settings {
	long ttl;             /* STORE_ORDER_TTL: seconds an unpaid order holds its stock, default 900 */
	long shipping_fee;    /* STORE_ORDER_SHIPPING_FEE: flat shipping in minor units, default 490 */
	long free_from;       /* STORE_ORDER_FREE_SHIPPING_FROM: subtotal from which shipping is free, default 5000 */
	long lease;           /* STORE_ORDER_IDEMPOTENCY_LEASE: seconds a POST /orders holds its key, default 30 */
	long reserve_grace;   /* STORE_ORDER_RESERVE_GRACE: seconds the stock stays held past the order's TTL,
				 so that a payment arriving just before expiry can still commit it, default 300 */
};
extern struct order_settings order_settings;

void orders_create(struct request *req);
void orders_list(struct request *req);
void orders_get(struct request *req);
void orders_cancel(struct request *req);
void orders_ship(struct request *req);
void orders_deliver(struct request *req);

void orders_internal_get(struct request *req);
void orders_internal_paid(struct request *req);
void orders_internal_paid_batch(struct request *req);
void orders_internal_refunded(struct request *req);
void orders_internal_delivered_with(struct request *req);

/* The background sweeper: expires unpaid orders past their TTL (exactly once across instances)
 * and forgets old Idempotency-Keys. */
void orders_expiry_loop(struct ctx *ctx);

#endif
