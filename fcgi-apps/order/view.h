/* view.h: an order as the API shows it, built from what was read or just written (no SQL). */
#ifndef STORE_ORDER_VIEW_H
#define STORE_ORDER_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

struct json_object;

/* One line of an order; the strings are borrowed. */
struct order_line_view {
	int64_t product_id, unit_price, quantity, line_total;
	const char *sku, *name;
};

/* One step of its timeline; `from` (the first step) and `reason` may be NULL. Borrowed. */
struct order_step_view {
	const char *from, *to, *at, *actor, *reason;
};

/*
 * The order `o` with its lines (in line order) and timeline (oldest first) as the API shows it:
 * the one shape of GET /orders/{id}, the answer of a transition and of POST /orders. Returns a
 * new object (caller owns); never NULL except when json-c runs out of memory.
 */
struct json_object *order_view(const struct order_row *o, const struct order_line_view *lines, size_t nlines,
			       const struct order_step_view *steps, size_t nsteps);

/* Adds `key`: the string `v` when `has`, else JSON null. */
void order_view_add_str(struct json_object *o, const char *key, bool has, const char *v);

#endif
