/* cart_port.h: the order service's one door to the cart service: read a user's cart, and the call that clears what was ordered. */
#ifndef STORE_ORDER_CART_PORT_H
#define STORE_ORDER_CART_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;
struct json_object;

#define CART_LINES_MAX 100

/*
 * The contract coded against (the cart service's internal API):
 *   GET  /internal/cart/users/{user_id}
 *        200 {"id":..,"version":N,"currency":"EUR","items":[{"product_id":1,"quantity":2},...]}
 *        (items empty, or 404, when the user has no cart; other members are ignored)
 *   POST /internal/cart/clears {"items":[{"user_id":1,"version":N},...],"request_ids":[...]}
 *        200 once every item is done: each user's cart loses the lines as they were at version N;
 *        lines changed later stay; repeating an item removes nothing more (so the outbox may
 *        deliver it twice). Sent by the outbox relay, many orders' clears in one call.
 */
struct cart_line {
	int64_t product_id, quantity;
};

struct cart {
	int64_t version;
	size_t n;
	struct cart_line lines[CART_LINES_MAX];
};

/*
 * Reads `user_id`'s cart into *out (n 0 when there is none). Returns 0; -1 when the cart service
 * cannot be reached or answered something unexpected (logged; the caller answers 503).
 */
int cart_port_read(struct client *c, const char *request_id, int64_t user_id, struct cart *out);

/*
 * The clear of the lines an order took from `user_id`'s cart at `version`, as an item of the
 * outbox's batch call to CART_PORT_CLEARS (caller owns, json_object_put).
 */
#define CART_PORT_CLEARS "/internal/cart/clears"
struct json_object *cart_port_clear_item(int64_t user_id, int64_t version);

#endif
