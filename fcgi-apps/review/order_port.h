/* order_port.h: what the review service asks of the order service (one file, so the contract lives in one place). */
#ifndef STORE_REVIEW_ORDER_PORT_H
#define STORE_REVIEW_ORDER_PORT_H

#include <stdint.h>

struct client;

enum order_delivered {
	ORDER_DELIVERED_YES,         /* the user has a delivered order holding the product */
	ORDER_DELIVERED_NO,          /* no such order */
	ORDER_DELIVERED_UNAVAILABLE, /* the order service cannot be reached or answered something unexpected */
};

/*
 * Asks GET /internal/order/users/{user_id}/delivered/{product_id}, which answers 200
 * {"user_id","product_id","delivered":true|false}. Anything else (no answer, another status,
 * a body that does not name the same user and product) is ORDER_DELIVERED_UNAVAILABLE (logged);
 * the caller answers 503.
 */
enum order_delivered order_port_delivered(struct client *c, const char *request_id, int64_t user_id,
					  int64_t product_id);

#endif
