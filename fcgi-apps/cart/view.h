/* view.h: a cart as the shopper sees it: each line priced and checked against the catalogue and stock. */
#ifndef STORE_CART_VIEW_H
#define STORE_CART_VIEW_H

#include <stddef.h>
#include <stdint.h>

#include "../inventory/inventory_client.h"
#include "../product/product_client.h"
#include "rules.h"

struct request;
struct cart;
struct json_object;

/* What the product and inventory services said about the products asked for so far. */
#define CATALOGUE_MAX (2 * CART_LINES_MAX)
struct catalogue {
	int64_t asked[CATALOGUE_MAX];
	size_t nasked;
	struct product_brief briefs[CATALOGUE_MAX];
	size_t nbriefs;
	struct stock_level levels[CATALOGUE_MAX];
	size_t nlevels;
};

/*
 * Asks the product service and then the inventory service about those of ids[0..n) not asked
 * yet: one call each (none when there is nothing new), at most CART_LINES_MAX ids. Returns 0;
 * or -1 with a 503 (Retry-After) naming the service that failed written, `cat` unchanged.
 */
int catalogue_add(struct request *req, const int64_t *ids, size_t n, struct catalogue *cat);

/* catalogue_add for every product of cart `c`. */
int catalogue_cover(struct request *req, const struct cart *c, struct catalogue *cat);

/*
 * The shopper's view of `c`: {id, currency, items:[{product_id, sku, name, image, unit_price,
 * added_price, quantity, line_total, available, problem}], subtotal, item_count, version,
 * updated_at}. Returns a new object the caller puts.
 */
struct json_object *cart_view_json(const struct cart *c, const struct catalogue *cat);

/* Writes `status` with the view of `c`, ETag "<version>" and Cache-Control: no-store. */
void cart_view_answer(struct request *req, int status, const struct cart *c, const struct catalogue *cat);

/* Sets ETag "<version>" (the cart's lines, not its prices) and Cache-Control: no-store. */
void cart_version_headers(struct request *req, int64_t version);

#endif
