/* internal.c: the order service's view of a user's cart, and clearing the lines an order took. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "ctx.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
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

/* Answers the stored cart of `o`. */
static void answer_stored(struct request *req, const struct cart_owner *o)
{
	struct cart *c = malloc(sizeof(*c));
	if (!c) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	int rc = repo_cart_read(req->ctx->db, o, false, c);
	if (!resp_lookup_failed(req, req->ctx->db, rc, NO_CART))
		answer_cart(req, c, -1);
	free(c);
}

void internal_cart_get(struct request *req)
{
	struct cart_owner o = {0};
	if (!req_path_id(req, "user_id", &o.user_id)) {
		resp_problem(req, 404, "not_found", NO_CART);
		return;
	}
	answer_stored(req, &o);
}

struct clear {
	/* Inputs. */
	struct cart_owner owner;
	int64_t version;
	/* Outputs, reset by each run. */
	struct cart locked;
	uint64_t deleted;
	struct cart after; /* the cart as the clear left it */
};

enum { CLEAR_NO_CART = 1, CLEAR_AHEAD };

/* Deletes the lines set at `version` or before: those the order saw. Lines added or changed
 * later carry a later line_version and stay. Repeating it deletes nothing more. */
static int clear_tx(struct db_conn *db, void *arg)
{
	struct clear *c = arg;

	c->deleted = 0;
	int rc = repo_cart_read(db, &c->owner, true, &c->locked);
	if (rc != 0)
		return rc < 0 ? -1 : CLEAR_NO_CART;
	if (c->version > c->locked.version)
		return CLEAR_AHEAD;
	if (repo_lines_delete_upto(db, c->locked.id, c->version, &c->deleted) != 0)
		return -1;
	/* The answer is the locked cart without the deleted lines (the lock kept every other change
	 * out), so it needs no second read. */
	c->after = c->locked;
	if (c->deleted == 0)
		return 0;
	c->after.n = 0;
	for (size_t i = 0; i < c->locked.n; i++)
		if (c->locked.lines[i].line_version > c->version)
			c->after.lines[c->after.n++] = c->locked.lines[i];
	if (c->locked.n - c->after.n != c->deleted) { /* cannot happen under the lock: say so */
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "cart %lld: deleted %llu lines, expected %zu",
			 (long long)c->locked.id, (unsigned long long)c->deleted, c->locked.n - c->after.n);
		return -1;
	}
	c->after.version++;
	if (c->after.n == 0)
		c->after.currency[0] = '\0';
	snprintf(c->after.updated_at, sizeof(c->after.updated_at), "%s", c->locked.read_at_api);
	return repo_cart_bump_at(db, c->locked.id, c->after.n ? c->locked.currency : NULL, c->locked.read_at);
}

static const struct field_spec clear_specs[] = {
	{"version", FIELD_T_I64, true, 0, INT64_MAX, offsetof(struct clear, version), false},
};

void internal_cart_clear(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct clear *c = calloc(1, sizeof(*c));

	if (!c) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	if (!req_path_id(req, "user_id", &c->owner.user_id)) {
		resp_problem(req, 404, "not_found", NO_CART);
		goto out;
	}
	if (!(body = req_json_body(req, 0)))
		goto out;
	if (!field_parse(body, clear_specs, sizeof(clear_specs) / sizeof(clear_specs[0]), c, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		goto out;
	}
	int rc = db_tx(req->ctx->db, clear_tx, c);
	if (rc == CLEAR_NO_CART)
		resp_problem(req, 404, "not_found", NO_CART);
	else if (rc == CLEAR_AHEAD)
		resp_problemf(req, 409, "version_ahead", "The cart is at version %lld; it never reached %lld.",
			      (long long)c->locked.version, (long long)c->version);
	else if (rc != 0)
		resp_db_error(req, req->ctx->db);
	else
		answer_cart(req, &c->after, (int64_t)c->deleted);
out:
	free(c);
}
