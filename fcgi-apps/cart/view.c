/* view.c: the shopper's view of a cart, priced from the product service and checked against stock. */
#include "view.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "ctx.h"
#include "repo.h"
#include "request.h"
#include "response.h"

static bool asked(const struct catalogue *cat, int64_t id)
{
	for (size_t i = 0; i < cat->nasked; i++)
		if (cat->asked[i] == id)
			return true;
	return false;
}

int catalogue_add(struct request *req, const int64_t *ids, size_t n, struct catalogue *cat)
{
	int64_t fresh[CART_LINES_MAX];
	size_t nfresh = 0, nb = 0, nl = 0;

	for (size_t i = 0; i < n; i++) {
		bool dup = asked(cat, ids[i]);
		for (size_t k = 0; k < nfresh && !dup; k++)
			dup = fresh[k] == ids[i];
		if (dup)
			continue;
		if (nfresh == CART_LINES_MAX || cat->nasked + nfresh >= CATALOGUE_MAX) {
			resp_problem(req, 500, "internal", "The server could not complete the request.");
			return -1;
		}
		fresh[nfresh++] = ids[i];
	}
	if (nfresh == 0)
		return 0;
	if (product_client_briefs(req->ctx->client, req->request_id, fresh, nfresh, cat->briefs + cat->nbriefs,
				  &nb) != 0) {
		resp_unavailable(req, "product service");
		return -1;
	}
	if (inventory_client_levels(req->ctx->client, req->request_id, fresh, nfresh, cat->levels + cat->nlevels,
				    &nl) != 0) {
		resp_unavailable(req, "inventory service");
		return -1;
	}
	memcpy(cat->asked + cat->nasked, fresh, nfresh * sizeof(fresh[0]));
	cat->nasked += nfresh;
	cat->nbriefs += nb;
	cat->nlevels += nl;
	return 0;
}

int catalogue_cover(struct request *req, const struct cart *c, struct catalogue *cat)
{
	int64_t ids[CART_LINES_MAX];
	for (size_t i = 0; i < c->n; i++)
		ids[i] = c->lines[i].product_id;
	return catalogue_add(req, ids, c->n, cat);
}

static struct json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

struct json_object *cart_view_json(const struct cart *c, const struct catalogue *cat)
{
	struct json_object *o = json_object_new_object(), *items = json_object_new_array_ext((int)c->n);
	int64_t subtotal = 0, count = 0;
	bool fits = true; /* 100 lines of 99 at the highest price pass 2^63: then subtotal is null */

	for (size_t i = 0; i < c->n; i++) {
		const struct cart_line *l = &c->lines[i];
		const struct product_brief *b = product_brief_find(cat->briefs, cat->nbriefs, l->product_id);
		/* A product now priced in another currency cannot join this cart's total. */
		bool on_sale = b && product_brief_active(b) && strcmp(b->currency, c->currency) == 0;
		int64_t available = on_sale ? stock_level_available(cat->levels, cat->nlevels, l->product_id) : 0;
		if (available < 0)
			available = 0;
		enum cart_problem pr = cart_line_problem(on_sale, available, l->quantity, b ? b->price : 0, l->added_price);
		struct json_object *it = json_object_new_object();
		json_object_object_add(it, "product_id", json_object_new_int64(l->product_id));
		json_object_object_add(it, "sku", b ? str_or_null(b->sku) : NULL);
		json_object_object_add(it, "name", b ? str_or_null(b->name) : NULL);
		json_object_object_add(it, "image", b ? str_or_null(b->image) : NULL);
		json_object_object_add(it, "unit_price", b ? json_object_new_int64(b->price) : NULL);
		json_object_object_add(it, "added_price", json_object_new_int64(l->added_price));
		json_object_object_add(it, "quantity", json_object_new_int64(l->quantity));
		json_object_object_add(it, "line_total", b ? json_object_new_int64(b->price * l->quantity) : NULL);
		json_object_object_add(it, "available", json_object_new_int64(available));
		json_object_object_add(it, "problem", str_or_null(cart_problem_name(pr)));
		json_object_array_add(items, it);
		int64_t line;
		if (pr != CART_LINE_UNAVAILABLE &&
		    (__builtin_mul_overflow(b->price, l->quantity, &line) || __builtin_add_overflow(subtotal, line, &subtotal)))
			fits = false;
		count += l->quantity;
	}
	json_object_object_add(o, "id", json_object_new_int64(c->id));
	json_object_object_add(o, "currency", str_or_null(c->currency));
	json_object_object_add(o, "items", items);
	json_object_object_add(o, "subtotal", fits ? json_object_new_int64(subtotal) : NULL);
	json_object_object_add(o, "item_count", json_object_new_int64(count));
	json_object_object_add(o, "version", json_object_new_int64(c->version));
	json_object_object_add(o, "updated_at", json_object_new_string(c->updated_at));
	return o;
}

void cart_version_headers(struct request *req, int64_t version)
{
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"", (long long)version);
	resp_header(req, "ETag", etag);
	resp_header(req, "Cache-Control", "no-store");
}

void cart_view_answer(struct request *req, int status, const struct cart *c, const struct catalogue *cat)
{
	struct json_object *o = cart_view_json(c, cat);
	cart_version_headers(req, c->version);
	resp_json(req, status, o);
	json_object_put(o);
}
