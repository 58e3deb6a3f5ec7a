/* rules.c: the cart's pure rules (no I/O): merging, line problems, If-Match evaluation. */
#include "rules.h"

#include <stddef.h>
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

static bool etagc(unsigned char c)
{
	/* RFC 9110: %x21 / %x23-7E / obs-text */
	return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

enum cart_if_match cart_if_match(const char *h, int64_t version)
{
	bool matched = false, any = false;

	if (!h)
		return CART_IF_MATCH_ABSENT;
	const char *p = h;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p == ',') { /* empty list elements are allowed (RFC 9110 5.6.1) */
			p++;
			continue;
		}
		if (*p == '*') {
			/* "*" stands alone: any current representation. */
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != '\0' || any)
				return CART_IF_MATCH_MALFORMED;
			return CART_IF_MATCH_OK;
		}
		bool weak = strncmp(p, "W/", 2) == 0;
		if (weak)
			p += 2;
		if (*p != '"')
			return CART_IF_MATCH_MALFORMED;
		const char *tag = ++p;
		while (*p && *p != '"') {
			if (!etagc((unsigned char)*p))
				return CART_IF_MATCH_MALFORMED;
			p++;
		}
		if (*p != '"')
			return CART_IF_MATCH_MALFORMED;
		size_t len = (size_t)(p - tag);
		p++;
		any = true;
		if (!weak && len > 0 && len <= 19 && (tag[0] != '0' || len == 1)) {
			int64_t v = 0;
			bool digits = true;
			for (size_t i = 0; i < len && digits; i++) {
				if (tag[i] < '0' || tag[i] > '9')
					digits = false;
				else if (v > (INT64_MAX - (tag[i] - '0')) / 10)
					digits = false;
				else
					v = v * 10 + (tag[i] - '0');
			}
			if (digits && v == version)
				matched = true;
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return CART_IF_MATCH_MALFORMED;
	}
	if (!any)
		return CART_IF_MATCH_MALFORMED;
	return matched ? CART_IF_MATCH_OK : CART_IF_MATCH_FAILED;
}
