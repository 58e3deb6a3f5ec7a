/* inventory_client.h: the inventory service's typed client, for the services that show or check stock. */
#ifndef STORE_INVENTORY_CLIENT_H
#define STORE_INVENTORY_CLIENT_H

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

#endif
