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
 * the order is paid ({"payment_id": "<id>", "amount", "currency"}: the order checks they are its
 * total), its payment was refunded in full ({"refund_id": "<id>"}). A 4xx answer to "paid"
 * (the order expired or was cancelled meanwhile) marks the outbox row failed, and the sweeper
 * refunds the payment. */
#define ORDER_PAID_PATH "/internal/order/orders/%lld/paid"
#define ORDER_REFUNDED_PATH "/internal/order/orders/%lld/refunded"

#endif
