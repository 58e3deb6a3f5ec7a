/* order_port.h: what the payment service asks of the order service (one file, so the contract lives in one place). */
#ifndef STORE_PAYMENT_ORDER_PORT_H
#define STORE_PAYMENT_ORDER_PORT_H

#include <stdint.h>

struct client;

/* What a payment needs to know of an order: whose it is, what it costs, whether it can be paid. */
struct order_brief {
	int64_t id, user_id, total;
	char currency[4];
	char status[24]; /* "pending_payment" can be paid */
};

/*
 * Reads order `id` (GET /internal/order/orders/{id}). Returns 0 with `out` filled, 1 when there
 * is no such order, -1 when the order service cannot be reached or answered something unexpected.
 */
int order_port_get(struct client *c, const char *request_id, int64_t id, struct order_brief *out);

/* The internal calls the payment service sends through its outbox (receivers are idempotent):
 * the order is paid, as an item of the batch route ORDER_PAID_BATCH ({"order_id", "payment_id":
 * "<id>", "amount", "currency"}: the order checks they are its total); its payment was refunded
 * in full ({"refund_id": "<id>"}). An item the order service refuses (the order expired or was
 * cancelled meanwhile) is given up, its outbox row left failed, and the sweeper refunds the
 * payment; so is a single "paid" call (POST /internal/order/orders/{id}/paid) that a payment
 * service from before the batches queued. */
#define ORDER_PAID_BATCH "/internal/order/paid"
#define ORDER_REFUNDED_PATH "/internal/order/orders/%lld/refunded"

#endif
