/* internal.c: the order service's view of a user's cart, and clearing the lines an order took, one by one or in batches. */
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "log.h"
#include "outbox.h"
#include "problem.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "view.h"

#define NO_CART "This user has no cart."

/* {id, user_id, currency, version, updated_at, items:[{product_id, quantity, line_version}]}:
 * no prices (the order takes them from the product service when it is placed). */
static struct json_object *stored_json(const struct cart *c)
{
	struct json_object *o = json_object_new_object(), *items = json_object_new_array_ext((int)c->n);
	for (size_t i = 0; i < c->n; i++) {
		struct json_object *it = json_object_new_object();
		json_object_object_add(it, "product_id", json_object_new_int64(c->lines[i].product_id));
		json_object_object_add(it, "quantity", json_object_new_int64(c->lines[i].quantity));
		json_object_object_add(it, "line_version", json_object_new_int64(c->lines[i].line_version));
		json_object_array_add(items, it);
	}
	json_object_object_add(o, "id", json_object_new_int64(c->id));
	json_object_object_add(o, "user_id", json_object_new_int64(c->user_id));
	json_object_object_add(o, "currency", c->currency[0] ? json_object_new_string(c->currency) : NULL);
	json_object_object_add(o, "version", json_object_new_int64(c->version));
	json_object_object_add(o, "updated_at", json_object_new_string(c->updated_at));
	json_object_object_add(o, "items", items);
	return o;
}

/* Answers cart `c` with `cleared` (>= 0) added when given. */
static void answer_cart(struct request *req, const struct cart *c, int64_t cleared)
{
	struct json_object *j = stored_json(c);
	if (cleared >= 0)
		json_object_object_add(j, "cleared_lines", json_object_new_int64(cleared));
	cart_version_headers(req, c->version);
	resp_json(req, 200, j);
	json_object_put(j);
}

/* Answers the stored cart of `o`, with `cleared` (>= 0) added when given. */
static void answer_stored(struct request *req, const struct cart_owner *o, int64_t cleared)
{
	struct cart *c = malloc(sizeof(*c));
	if (!c) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	int rc = repo_cart_read(req->ctx->db, o, false, c);
	if (!resp_lookup_failed(req, req->ctx->db, rc, NO_CART))
		answer_cart(req, c, cleared);
	free(c);
}

void internal_cart_get(struct request *req)
{
	struct cart_owner o = {0};
	if (!req_path_id(req, "user_id", &o.user_id)) {
		resp_problem(req, 404, "not_found", NO_CART);
		return;
	}
	answer_stored(req, &o, -1);
}

/* --- POST /internal/cart/clears: the clears of many orders in one transaction ------------- */

enum clear_outcome { CLEARED, NOT_FOUND, AHEAD };

struct clears {
	/* Inputs: the items as sent, and one entry per user, in user id order. */
	size_t n, nusers;
	struct clear_item {
		int64_t user_id, version;
		size_t user; /* its entry in users[] */
		const char *rid;
	} items[OUTBOX_BATCH_MAX];
	struct clear_user {
		int64_t user_id;
		/* Outputs, reset by each run. */
		bool found;
		int64_t cart_id, cart_version;
		int64_t upto;             /* the highest version asked that the cart has reached; -1: none */
		int64_t deleted, kept;    /* lines the clear deletes, and keeps */
	} users[OUTBOX_BATCH_MAX];
	/* The answer's entry of each position sent that is not a valid item (422 invalid_item),
	 * NULL for the valid ones; `sent` positions in all. */
	size_t sent;
	struct json_object *invalid[OUTBOX_BATCH_MAX];
};

static int by_user(const void *a, const void *b)
{
	const struct clear_user *x = a, *y = b;
	return x->user_id < y->user_id ? -1 : x->user_id > y->user_id;
}

static const char *json_text(struct json_object *j)
{
	return json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
}

/* After the carts are locked: each cart's line versions, and from them what the clear up to
 * u->upto deletes and keeps. Returns 0 or -1. */
static int count_lines(struct db_conn *db, struct clears *cs)
{
	struct json_object *carts = json_object_new_array();
	struct db_rows *rows = NULL;
	int rc = 0;

	for (size_t u = 0; u < cs->nusers; u++)
		if (cs->users[u].upto >= 0)
			json_object_array_add(carts, json_object_new_int64(cs->users[u].cart_id));
	if (json_object_array_length(carts) > 0 && (rc = repo_clears_lines(db, json_text(carts), &rows)) == 0)
		for (size_t r = 0; r < rows->nrows; r++) {
			int64_t cart = db_cell_i64(rows, r, 0, 0), lv = db_cell_i64(rows, r, 1, 0);
			for (size_t u = 0; u < cs->nusers; u++)
				if (cs->users[u].upto >= 0 && cs->users[u].cart_id == cart) {
					if (lv <= cs->users[u].upto)
						cs->users[u].deleted++;
					else
						cs->users[u].kept++;
				}
		}
	db_rows_free(rows);
	json_object_put(carts);
	return rc;
}

/* Deletes, for every user, the lines set at the highest version asked that the cart has reached,
 * or before (as one clear does for each of them), with four statements for the whole batch. An
 * item asking for a version the cart never reached changes nothing (the others of the same user
 * still apply). */
static int clears_tx(struct db_conn *db, void *arg)
{
	struct clears *cs = arg;
	struct json_object *users = json_object_new_array(), *del = json_object_new_array(),
			   *bump = json_object_new_array();
	struct db_rows *rows = NULL;
	uint64_t want = 0, deleted = 0;
	int rc = -1;

	for (size_t u = 0; u < cs->nusers; u++) {
		json_object_array_add(users, json_object_new_int64(cs->users[u].user_id));
		cs->users[u] = (struct clear_user){.user_id = cs->users[u].user_id, .upto = -1};
	}
	if (repo_clears_lock(db, json_text(users), &rows) != 0)
		goto out;
	for (size_t r = 0; r < rows->nrows; r++) {
		int64_t k = db_cell_i64(rows, r, 0, 0);
		if (k < 1 || (size_t)k > cs->nusers)
			continue;
		struct clear_user *u = &cs->users[k - 1];
		u->found = true;
		u->cart_id = db_cell_i64(rows, r, 1, 0);
		u->cart_version = db_cell_i64(rows, r, 2, 0);
	}
	for (size_t i = 0; i < cs->n; i++) {
		struct clear_user *u = &cs->users[cs->items[i].user];
		if (u->found && cs->items[i].version <= u->cart_version && cs->items[i].version > u->upto)
			u->upto = cs->items[i].version;
	}
	if (count_lines(db, cs) != 0)
		goto out;
	for (size_t k = 0; k < cs->nusers; k++) {
		const struct clear_user *u = &cs->users[k];
		if (u->deleted == 0)
			continue;
		/* Lines added or changed after the order's version carry a later line_version and stay. */
		want += (uint64_t)u->deleted;
		struct json_object *d = json_object_new_array(), *b = json_object_new_array();
		json_object_array_add(d, json_object_new_int64(u->cart_id));
		json_object_array_add(d, json_object_new_int64(u->upto));
		json_object_array_add(del, d);
		json_object_array_add(b, json_object_new_int64(u->cart_id));
		json_object_array_add(b, json_object_new_int64(u->kept));
		json_object_array_add(bump, b);
	}
	rc = 0;
	if (want == 0)
		goto out;
	if (repo_clears_delete(db, json_text(del), &deleted) != 0 || repo_clears_bump(db, json_text(bump)) != 0) {
		rc = -1;
		goto out;
	}
	if (deleted != want) { /* cannot happen under the locks: say so */
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "clears: deleted %llu lines, expected %llu",
			 (unsigned long long)deleted, (unsigned long long)want);
		rc = -1;
	}
out:
	db_rows_free(rows);
	json_object_put(users);
	json_object_put(del);
	json_object_put(bump);
	return rc;
}

/* Reads the body into cs (its valid items, then one entry per user, in user id order; an invalid
 * item's answer in cs->invalid). Adds field errors when the envelope is wrong. */
static void clears_parse(struct json_object *body, struct clears *cs, struct field_errors *errs)
{
	static const struct field_spec item_specs[] = {
		{"user_id", FIELD_T_I64, true, 1, INT64_MAX, offsetof(struct clear_item, user_id), false},
		{"version", FIELD_T_I64, true, 0, INT64_MAX, offsetof(struct clear_item, version), false},
	};
	struct json_object *rids, *items = outbox_batch_items(body, "{user_id, version}", &rids, errs);

	if (!items)
		return;
	cs->sent = json_object_array_length(items);
	for (size_t i = 0; i < cs->sent; i++) {
		struct field_errors item_errs = {0};
		if (outbox_batch_item(items, i, item_specs, 2, &cs->items[cs->n], "{user_id, version}", &item_errs)) {
			cs->items[cs->n++].rid = outbox_batch_rid(rids, i);
		} else {
			cs->invalid[i] = json_object_new_object();
			outbox_item_invalid(cs->invalid[i], outbox_batch_rid(rids, i), &item_errs);
		}
	}
	/* One entry per user, in user id order (two batches lock carts in the same order). */
	for (size_t i = 0; i < cs->n; i++)
		cs->users[i] = (struct clear_user){.user_id = cs->items[i].user_id, .upto = -1};
	qsort(cs->users, cs->n, sizeof(cs->users[0]), by_user);
	for (size_t i = 0; i < cs->n; i++)
		if (!cs->nusers || cs->users[cs->nusers - 1].user_id != cs->users[i].user_id)
			cs->users[cs->nusers++] = cs->users[i];
	for (size_t i = 0; i < cs->n; i++)
		for (size_t u = 0; u < cs->nusers; u++)
			if (cs->users[u].user_id == cs->items[i].user_id)
				cs->items[i].user = u;
}

void internal_cart_clears(struct request *req)
{
	static const char *const outcome_names[] = {"cleared", "not_found", "version_ahead"};
	struct field_errors errs = {0};
	struct json_object *body = req_json_body(req, 0);
	struct clears *cs;

	if (!body)
		return;
	if (!(cs = calloc(1, sizeof(*cs)))) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	clears_parse(body, cs, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		goto out;
	}
	if (cs->n && db_tx(req->ctx->db, clears_tx, cs) != 0) {
		resp_db_error(req, req->ctx->db);
		goto out;
	}
	struct json_object *o = json_object_new_object(), *list = json_object_new_array_ext((int)cs->sent);
	for (size_t pos = 0, i = 0; pos < cs->sent; pos++) {
		if (cs->invalid[pos]) {
			json_object_array_add(list, cs->invalid[pos]);
			cs->invalid[pos] = NULL;
			continue;
		}
		const struct clear_item *it = &cs->items[i++];
		const struct clear_user *u = &cs->users[it->user];
		enum clear_outcome outcome = !u->found ? NOT_FOUND : it->version > u->cart_version ? AHEAD : CLEARED;
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "user_id", json_object_new_int64(it->user_id));
		json_object_object_add(r, "version", json_object_new_int64(it->version));
		json_object_object_add(r, "outcome", json_object_new_string(outcome_names[outcome]));
		if (outcome == CLEARED)
			json_object_object_add(r, "cleared_lines", json_object_new_int64(u->deleted));
		json_object_array_add(list, r);
		/* The order is placed either way; what it cannot clear is said here, once per item. */
		if (outcome == NOT_FOUND)
			log_msg(LOG_INFO, it->rid, "clear of user %lld's cart to version %lld: no cart, nothing to clear",
				(long long)it->user_id, (long long)it->version);
		else if (outcome == AHEAD)
			log_msg(LOG_WARN, it->rid, "clear of user %lld's cart to version %lld: the cart is at version %lld",
				(long long)it->user_id, (long long)it->version, (long long)u->cart_version);
	}
	json_object_object_add(o, "items", list);
	resp_json(req, 200, o);
	json_object_put(o);
out:
	for (size_t pos = 0; pos < cs->sent; pos++)
		json_object_put(cs->invalid[pos]);
	free(cs);
}

/* POST /internal/cart/users/{user_id}/clear {"version":N}: one order's clear, the route of order
 * services from before the batches: a batch of one, answered with the cart as it is after. */
static const struct field_spec clear_specs[] = {
	{"version", FIELD_T_I64, true, 0, INT64_MAX, offsetof(struct clear_item, version), false},
};

void internal_cart_clear(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct clears *cs = calloc(1, sizeof(*cs));
	struct clear_item *it;

	if (!cs) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	it = &cs->items[0];
	if (!req_path_id(req, "user_id", &it->user_id)) {
		resp_problem(req, 404, "not_found", NO_CART);
		goto out;
	}
	if (!(body = req_json_body(req, 0)))
		goto out;
	if (!field_parse(body, clear_specs, sizeof(clear_specs) / sizeof(clear_specs[0]), it, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		goto out;
	}
	it->rid = req->request_id;
	cs->n = cs->nusers = 1;
	cs->users[0] = (struct clear_user){.user_id = it->user_id, .upto = -1};
	if (db_tx(req->ctx->db, clears_tx, cs) != 0) {
		resp_db_error(req, req->ctx->db);
		goto out;
	}
	const struct clear_user *u = &cs->users[0];
	if (!u->found)
		resp_problem(req, 404, "not_found", NO_CART);
	else if (it->version > u->cart_version)
		resp_problemf(req, 409, "version_ahead", "The cart is at version %lld; it never reached %lld.",
			      (long long)u->cart_version, (long long)it->version);
	else
		answer_stored(req, &(struct cart_owner){.user_id = it->user_id}, u->deleted);
out:
	free(cs);
}
