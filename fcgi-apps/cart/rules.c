/* rules.c: the cart's pure rules (no I/O): merging, line problems, If-Match evaluation. */
#include "rules.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>


int64_t cart_qty_merge(int64_t a, int64_t b)
{
	if (a < 0)
		a = 0;
	if (b < 0)
		b = 0;
	/* Compared before adding, so huge inputs cannot overflow. */
	if (a >= CART_QTY_MAX || b >= CART_QTY_MAX - a)
		return CART_QTY_MAX;
	return a + b;
}

enum cart_problem cart_line_problem(bool on_sale, int64_t available, int64_t quantity, int64_t price_now,
				    int64_t added_price)
{
	if (!on_sale)
		return CART_LINE_UNAVAILABLE;
	if (available < quantity)
		return CART_LINE_INSUFFICIENT_STOCK;
	if (price_now != added_price)
		return CART_LINE_PRICE_CHANGED;
	return CART_LINE_OK;
}

const char *cart_problem_name(enum cart_problem p)
{
	switch (p) {
	case CART_LINE_PRICE_CHANGED:
		return "price_changed";
	case CART_LINE_INSUFFICIENT_STOCK:
		return "insufficient_stock";
	case CART_LINE_UNAVAILABLE:
		return "unavailable";
	default:
		return NULL;
	}
}

enum if_match cart_if_match(const char *h, int64_t version)
{
	/* A cart's version is never negative: no tag names one (a quote is in no tag). */
	char tag[24] = "\"";
	if (version >= 0)
		snprintf(tag, sizeof(tag), "%lld", (long long)version);
	return req_if_match_eval(h, tag);
}
