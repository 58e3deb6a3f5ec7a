/* checkout.c: POST /orders: an order from the caller's cart, priced by the product service, held at the inventory, once per Idempotency-Key. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cart_port.h"
#include "ctx.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "idem.h"
#include "../inventory/inventory_client.h"
#include "log.h"
#include "outbox.h"
#include "problem.h"
#include "../product/product_client.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "rules.h"
#include "../user/user_client.h"
#include "view.h"

#define NOTE_MAX 1000

/*
 * How one POST /orders runs (docs/API.md "Placing an order"):
 *   1. claim the (caller, Idempotency-Key) with lib/idem: a new key is held by attempt 1 with a
 *      lease; a done key replays its answer; a running key is 409 while its lease lasts, and is
 *      taken over (attempt + 1) once it has passed (its holder crashed);
 *   2. read the cart, price its lines from the product service, read the owner's contact;
 *   3. reserve the lines at the inventory under the attempt's reference (idempotent by it);
 *   4. one transaction: order, lines, history, the order_placed e-mail and the cart clear in
 *      the outbox, and the key marked done with the answer, only while this attempt holds it.
 * Every reference derives from (caller, key, attempt), so a retry after a crash at any step
 * repeats nothing: a takeover first releases the stock the crashed attempt may have held.
 */

/* The checkout's input and its priced lines; place_tx reads them and never writes them. */
struct placing {
	int64_t user_id;
	const struct idem *idem; /* the key this attempt holds */
	const char *request_id;
	char ref[ORDER_REF_MAX + 1], actor[40];
	struct order_new order;
	int64_t cart_version;
	size_t n;
	struct product_brief *briefs; /* the product of each line, by line */
	int64_t qty[CART_LINES_MAX], price[CART_LINES_MAX], line_total[CART_LINES_MAX];
	/* out, reset on every run */
	int64_t order_id;
	struct order_row *row; /* the order as written (allocated with the placing) */
	char *answer;          /* the order's JSON text (malloc'd) */
};

enum { PLACE_LOST_KEY = 1 };

/* The order just written, as GET /orders/{id} will show it: its row as the insert returned it,
 * the lines as inserted and the first step of its timeline. Returns the JSON text (malloc'd) or
 * NULL when out of memory. */
static char *placed_answer(const struct placing *p, const char *at)
{
	struct order_line_view lines[CART_LINES_MAX];
	struct order_step_view step = {NULL, "pending_payment", at, p->actor, NULL};

	for (size_t i = 0; i < p->n; i++)
		lines[i] = (struct order_line_view){p->briefs[i].id, p->price[i], p->qty[i], p->line_total[i],
						    p->briefs[i].sku, p->briefs[i].name};
	struct json_object *j = order_view(p->row, lines, p->n, &step, 1);
	char *text = j ? strdup(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN)) : NULL;
	json_object_put(j);
	return text;
}

static int place_tx(struct db_conn *db, void *arg)
{
	struct placing *p = arg;
	struct json_object *data, *clear;
	struct outbox_rows rows = {0};
	char total[48], at[32];
	int rc = -1;

	free(p->answer);
	p->answer = NULL;
	p->order_id = 0;
	if (repo_order_insert(db, &p->order, p->row) != 0)
		return -1;
	p->order_id = p->row->id;
	for (size_t i = 0; i < p->n; i++)
		if (repo_line_insert(db, p->order_id, (int64_t)i + 1, p->briefs[i].id, p->briefs[i].sku, p->briefs[i].name,
				     p->price[i], p->qty[i], p->line_total[i]) != 0)
			return -1;
	if (repo_history_insert(db, p->order_id, NULL, "pending_payment", p->actor, NULL, at, sizeof(at)) != 0)
		return -1;

	data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string(p->order.customer_name));
	json_object_object_add(data, "order_id", json_object_new_int64(p->order_id));
	order_money_format(p->order.total, p->order.currency, total, sizeof(total));
	json_object_object_add(data, "total", json_object_new_string(total));
	rc = outbox_rows_job(db, &rows, "order_placed", p->order.email, data, p->request_id);
	json_object_put(data);
	if (rc != 0)
		return -1;
	/* The cart is cleared by the outbox: the clear is written with the order, so no crash
	 * can leave the order placed and the cart still full (the clear is idempotent by version).
	 * The relay sends the clears of many orders in one call. */
	clear = cart_port_clear_item(p->user_id, p->cart_version);
	rc = outbox_rows_batch(db, &rows, CART_PORT_CLEARS, clear, p->request_id);
	json_object_put(clear);
	if (rc != 0 || outbox_rows_write(db, &rows) != 0) {
		outbox_rows_clear(&rows);
		return -1;
	}

	/* The answer is built from what this transaction wrote (reading it back would cost three
	 * statements for the same bytes). */
	if (!(p->answer = placed_answer(p, at))) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "out of memory");
		return -1;
	}
	char location[64];
	snprintf(location, sizeof(location), "/api/v1/orders/%lld", (long long)p->order_id);
	if ((rc = idem_finish(db, p->idem, 201, p->answer, location)) < 0)
		return -1;
	return rc == 0 ? 0 : PLACE_LOST_KEY;
}

/* The answer of an attempt whose key a retry took over (its lease ran out): the retry's answer
 * is the one kept, and this client is sent to read it. */
static void key_lost(struct request *req)
{
	resp_header(req, "Retry-After", "1");
	resp_problem(req, 409, "idempotency_in_flight",
		     "Another request with this Idempotency-Key took over; retry to read its answer.");
}

/* Writes problem `p` (taken) as the key's final answer and answers it. */
static void finish_with_problem(struct request *req, struct placing *pl, struct json_object *p)
{
	const char *text = json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN);
	int rc = idem_finish(req->ctx->db, pl->idem, json_object_get_int(json_object_object_get(p, "status")), text,
			     NULL);

	if (rc < 0)
		log_msg(LOG_WARN, req->request_id, "idempotency key: answer not stored: %s", req->ctx->db->errstr);
	if (rc > 0)
		key_lost(req);
	else
		resp_problem_obj(req, p);
	json_object_put(p);
}

/* A failure a retry may overcome: the key is let go, so that the retry runs again. */
static void give_up(struct request *req, struct placing *pl, const char *backend)
{
	idem_release(req->ctx->db, pl->idem);
	if (backend)
		resp_unavailable(req, backend);
}

/* Checks the cart's lines against their products: every line on sale, one currency.
 * Returns NULL, or the 409 problem listing the lines that cannot be ordered (caller owns). */
static struct json_object *cart_problems(struct request *req, const struct cart *cart,
					 const struct product_brief *found, size_t nfound, struct placing *pl)
{
	struct json_object *list = json_object_new_array();
	const char *currency = NULL;

	for (size_t i = 0; i < cart->n; i++) {
		const struct product_brief *b = product_brief_find(found, nfound, cart->lines[i].product_id);
		const char *why = NULL;
		if (!b)
			why = "not_found";
		else if (!product_brief_active(b))
			why = "not_on_sale";
		else if (currency && strcmp(currency, b->currency) != 0)
			why = "currency_mismatch";
		else if (b->price < 0 || b->price > ORDER_PRICE_MAX)
			why = "not_on_sale";
		if (b && !currency)
			currency = b->currency;
		if (why) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "product_id", json_object_new_int64(cart->lines[i].product_id));
			json_object_object_add(o, "problem", json_object_new_string(why));
			json_object_array_add(list, o);
			continue;
		}
		pl->briefs[i] = *b;
		pl->qty[i] = cart->lines[i].quantity;
		pl->price[i] = b->price;
	}
	if (json_object_array_length(list) == 0) {
		json_object_put(list);
		return NULL;
	}
	struct json_object *p = problem_new(409, "cart_invalid", "Some lines of the cart cannot be ordered.",
					    req->request_id, NULL);
	json_object_object_add(p, "items", list);
	return p;
}

/* Steps 2 to 4, holding the key as pl->idem. */
static void place(struct request *req, struct placing *pl)
{
	struct ctx *ctx = req->ctx;
	struct cart *cart = malloc(sizeof(*cart));
	struct product_brief *found = NULL;
	struct reserve_item items[CART_LINES_MAX];
	struct reserve_short shorts[INVENTORY_ITEMS_MAX];
	struct user_brief who;
	struct order_totals totals;
	size_t nfound, nshort;
	int64_t ids[CART_LINES_MAX];
	int rc;

	pl->row = malloc(sizeof(*pl->row));
	if (!cart || !pl->row) {
		give_up(req, pl, NULL);
		resp_problem(req, 500, "internal", "Out of memory.");
		goto out;
	}
	if (cart_port_read(ctx->client, req->request_id, pl->user_id, cart) != 0) {
		give_up(req, pl, "cart service");
		goto out;
	}
	if (cart->n == 0) {
		finish_with_problem(req, pl, problem_new(409, "cart_empty", "The cart is empty.", req->request_id, NULL));
		goto out;
	}
	/* A brief is about 3 kB: room for the cart's lines only (for 100, zeroed, they cost more
	 * CPU than the rest of a one-line checkout in this service). */
	found = calloc(cart->n, sizeof(*found));
	pl->briefs = calloc(cart->n, sizeof(*pl->briefs));
	if (!found || !pl->briefs) {
		give_up(req, pl, NULL);
		resp_problem(req, 500, "internal", "Out of memory.");
		goto out;
	}
	for (size_t i = 0; i < cart->n; i++)
		ids[i] = cart->lines[i].product_id;
	if (product_client_briefs(ctx->client, req->request_id, ids, cart->n, found, &nfound) != 0) {
		give_up(req, pl, "product service");
		goto out;
	}
	struct json_object *problem = cart_problems(req, cart, found, nfound, pl);
	if (problem) {
		finish_with_problem(req, pl, problem);
		goto out;
	}
	pl->n = cart->n;
	pl->cart_version = cart->version;
	struct shipping_rule rule = {order_settings.shipping_fee, order_settings.free_from};
	if (!order_compute_totals(pl->price, pl->qty, pl->n, &rule, pl->line_total, &totals)) {
		finish_with_problem(req, pl, problem_new(409, "total_too_large", "The order's total is too large.",
							 req->request_id, NULL));
		goto out;
	}
	if ((rc = user_client_caller(req, &who)) != 0) {
		if (rc < 0) {
			give_up(req, pl, "user service");
		} else {
			give_up(req, pl, NULL);
			resp_problem(req, 403, "forbidden", "This account cannot place orders.");
		}
		goto out;
	}
	pl->order.order_ref = pl->ref;
	pl->order.user_id = pl->user_id;
	pl->order.email = who.email;
	pl->order.customer_name = who.name;
	pl->order.currency = pl->briefs[0].currency;
	pl->order.subtotal = totals.subtotal;
	pl->order.shipping = totals.shipping;
	pl->order.total = totals.total;
	pl->order.ttl = order_settings.ttl;

	for (size_t i = 0; i < pl->n; i++)
		items[i] = (struct reserve_item){pl->briefs[i].id, pl->qty[i]};
	/* The stock is held a little longer than the order waits for its payment, so that a payment
	 * accepted just before the order expires can still commit it. */
	rc = inventory_client_reserve(ctx->client, req->request_id, pl->ref, items, pl->n,
				      order_settings.ttl + order_settings.reserve_grace, shorts, &nshort);
	if (rc < 0) {
		give_up(req, pl, "inventory service");
		goto out;
	}
	if (rc > 0) {
		struct json_object *p = problem_new(409, "out_of_stock", "Some items are not available in the quantity asked.",
						    req->request_id, NULL);
		struct json_object *list = json_object_new_array();
		for (size_t i = 0; i < nshort; i++) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "product_id", json_object_new_int64(shorts[i].product_id));
			json_object_object_add(o, "requested", json_object_new_int64(shorts[i].requested));
			json_object_object_add(o, "available", json_object_new_int64(shorts[i].available));
			json_object_array_add(list, o);
		}
		json_object_object_add(p, "items", list);
		finish_with_problem(req, pl, p);
		goto out;
	}

	rc = db_tx(ctx->db, place_tx, pl);
	if (rc != 0) {
		/* Nothing was written: give the stock back now rather than at the end of its TTL. But a
		 * connection lost on the way may have lost the answer to a COMMIT that happened: then
		 * the reservation stays, and a retry either replays the order or, taking over, releases
		 * it first. */
		if (rc < 0 && ctx->db->err == DB_GONE)
			log_msg(LOG_WARN, req->request_id, "reservation %s kept: the order's commit is unknown", pl->ref);
		else if (inventory_client_release(ctx->client, req->request_id, pl->ref) != 0)
			log_msg(LOG_WARN, req->request_id, "reservation %s left to its TTL", pl->ref);
		if (rc == PLACE_LOST_KEY) {
			key_lost(req);
		} else {
			resp_db_error(req, ctx->db);
			/* This attempt's reference is used up (its reservation released): a retry runs as
			 * the next attempt, under a reference of its own. */
			idem_let_go(ctx->db, pl->idem);
		}
		goto out;
	}
	char location[64];
	snprintf(location, sizeof(location), "/api/v1/orders/%lld", (long long)pl->order_id);
	resp_header(req, "Location", location);
	resp_json_raw(req, 201, pl->answer, strlen(pl->answer));
out:
	free(pl->answer);
	free(pl->briefs);
	free(pl->row);
	free(found);
	free(cart);
}

void orders_create(struct request *req)
{
	struct checkout_body {
		struct json_object *address;
		const char *note;
	} b = {0};
	static const struct field_spec specs[] = {
		{"shipping_address", FIELD_T_OBJECT, true, 0, 0, offsetof(struct checkout_body, address), false},
		{"note", FIELD_T_TEXT, false, 0, NOTE_MAX, offsetof(struct checkout_body, note), true},
	};
	struct field_errors errs = {0};
	struct order_address addr;
	struct json_object *body;
	struct placing *pl;
	struct idem id;

	/* The header is judged before the body, and the key claimed only for a valid body: a
	 * validation failure is never stored under it. */
	if (!idem_key_header(req) || !(body = req_json_body(req, 0)))
		return;
	if (field_parse(body, specs, 2, &b, NULL, NULL, &errs) && b.address)
		order_address_parse(b.address, &addr, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (!idem_begin(req, req->ctx->db, req->user_id, "POST /api/v1/orders", req->body, req->body_len,
			order_settings.lease, &id))
		return;
	if (id.attempt > 1) {
		/* The holder before crashed somewhere between its claim and its commit: whatever it
		 * reserved is given back before this attempt reserves again under its own reference. */
		char old[ORDER_REF_MAX + 1];
		order_ref_make(req->user_id, id.key, id.attempt - 1, old);
		if (inventory_client_release(req->ctx->client, req->request_id, old) != 0)
			log_msg(LOG_WARN, req->request_id, "reservation %s of a crashed attempt left to its TTL", old);
	}

	if (!(pl = calloc(1, sizeof(*pl)))) {
		idem_release(req->ctx->db, &id);
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	pl->user_id = req->user_id;
	pl->idem = &id;
	pl->request_id = req->request_id;
	order_ref_make(req->user_id, id.key, id.attempt, pl->ref);
	snprintf(pl->actor, sizeof(pl->actor), "user:%lld", (long long)req->user_id);
	pl->order.ship_name = addr.name;
	pl->order.ship_line1 = addr.line1;
	pl->order.ship_line2 = addr.line2;
	pl->order.ship_city = addr.city;
	pl->order.ship_postal_code = addr.postal_code;
	pl->order.ship_country = addr.country;
	pl->order.ship_phone = addr.phone;
	pl->order.note = b.note;
	place(req, pl);
	free(pl);
}
