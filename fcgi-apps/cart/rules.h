/* rules.h: the cart's pure rules: quantity bounds and merging, what is wrong with a line, If-Match. */
#ifndef STORE_CART_RULES_H
#define STORE_CART_RULES_H

#include <stdbool.h>
#include <stdint.h>

#include "request.h"

#define CART_QTY_MIN 1
#define CART_QTY_MAX 99
#define CART_LINES_MAX 100
#define CART_GUEST_IDLE_DAYS 30

/* The quantity of a line after merging quantities `a` and `b` (each 1..CART_QTY_MAX): their sum,
 * capped at CART_QTY_MAX. Never overflows for any inputs; negative inputs count as 0. */
int64_t cart_qty_merge(int64_t a, int64_t b);

/* What a read says about one line, worst first in enum order below. */
enum cart_problem {
	CART_LINE_OK = 0,
	CART_LINE_PRICE_CHANGED,      /* on sale and in stock, but the price is not the one it was set at */
	CART_LINE_INSUFFICIENT_STOCK, /* on sale, fewer units available than the line asks for */
	CART_LINE_UNAVAILABLE,        /* archived, unpublished, deleted, or now in another currency */
};

/*
 * The one problem a read reports for a line of `quantity` units set at `added_price`, whose
 * product is `on_sale` at `price_now` with `available` units: unavailable beats
 * insufficient_stock beats price_changed.
 */
enum cart_problem cart_line_problem(bool on_sale, int64_t available, int64_t quantity, int64_t price_now,
				    int64_t added_price);

/* "unavailable", "insufficient_stock", "price_changed", or NULL for CART_LINE_OK. Static string. */
const char *cart_problem_name(enum cart_problem p);

/* Evaluates an If-Match header value (`h` may be NULL) against the cart's `version`, whose entity
 * tag is "\"<version>\"" (strong comparison, RFC 9110 13.1.1). */
enum if_match cart_if_match(const char *h, int64_t version);

#endif
