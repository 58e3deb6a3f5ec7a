/* inventory_client.h: the inventory service's typed client, for the services that read stock or reserve it. */
#ifndef STORE_INVENTORY_CLIENT_H
#define STORE_INVENTORY_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;

#define INVENTORY_LEVELS_MAX 100 /* ids per call */

/* Units of one product that can be sold now (on hand less reserved). */
struct stock_level {
	int64_t product_id;
	int64_t available;
};

/*
 * Reads the levels of ids[0..n) (n <= INVENTORY_LEVELS_MAX) in one call to
 * GET /internal/inventory/levels. Fills out[0..*found) in id order with the products that have
 * a stock row (the others have none: nothing available). Returns 0; -1 when the inventory
 * service cannot be reached or answered something unexpected (logged; the caller answers 503).
 * Whether a product is on sale is not its business: ask the product service.
 */
int inventory_client_levels(struct client *c, const char *request_id, const int64_t *ids, size_t n,
			    struct stock_level *out, size_t *found);

/* The units available of `id` among l[0..n): 0 when it is not there. */
int64_t stock_level_available(const struct stock_level *l, size_t n, int64_t id);

#define INVENTORY_ITEMS_MAX 100 /* items per reservation */

/* One line to hold: `quantity` units of `product_id`. */
struct reserve_item {
	int64_t product_id, quantity;
};

/* One line the inventory could not hold: what was asked and what is available now. */
struct reserve_short {
	int64_t product_id, requested, available;
};

/*
 * Reserves items[0..n) (1..INVENTORY_ITEMS_MAX, distinct products) for `ref` for `ttl` seconds
 * (10..86400) with POST /internal/inventory/reservations: all or nothing, idempotent by `ref`.
 * Returns 0 when the reservation is held (created now or by an earlier call with the same items);
 * 1 when some items are short: shorts[0..*nshort) (caller's array of INVENTORY_ITEMS_MAX) says
 * which, and nothing is held; -1 when the inventory service cannot be reached, refused the
 * request or holds `ref` in another state (logged; the caller answers 503).
 */
int inventory_client_reserve(struct client *c, const char *request_id, const char *ref,
			     const struct reserve_item *items, size_t n, long ttl, struct reserve_short *shorts,
			     size_t *nshort);

/* Releases the reservation `ref` now. Returns 0 when it is released, expired or unknown; -1 when
 * the inventory service cannot be reached or refused (a committed reservation; logged). */
int inventory_client_release(struct client *c, const char *request_id, const char *ref);

/* Writes the internal path of `action` ("commit", "release") on reservation `ref` into buf.
 * Returns false when it does not fit `len`. */
bool inventory_reservation_path(char *buf, size_t len, const char *ref, const char *action);

/* The batch route of commits and releases, for the outbox: an item {"order_ref", "action":
 * "commit" | "release"} per reservation (inventory_finish_item), judged on its own (a 404 or 409
 * item is given up, as a single call's 4xx was). */
#define INVENTORY_FINISHES "/internal/inventory/reservations/finishes"
struct json_object *inventory_finish_item(const char *ref, const char *action);

#endif
