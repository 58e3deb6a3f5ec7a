/* stock.c: stock levels (public availability, staff levels), adjustments, the ledger, low stock. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "../product/product_client.h"
#include "jobs.h"
#include "lists.h"
#include "log.h"
#include "outbox.h"
#include "parse.h"
#include "problem.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "ctx.h"

#define QTY_MAX 1000000000LL /* 10^9 units of anything is a data-entry mistake */

static const char *const reasons[] = {"received", "damaged", "lost", "returned", "correction", NULL};

int stock_alert_check(struct db_conn *db, const struct stock *s, const struct alert_to *to)
{
	int64_t available = s->on_hand - s->reserved;
	if (available <= s->threshold && !s->alerted) {
		if (repo_stock_set_alerted(db, s->product_id, true) != 0)
			return -1;
		struct json_object *data = json_object_new_object();
		json_object_object_add(data, "product_id", json_object_new_int64(s->product_id));
		json_object_object_add(data, "available", json_object_new_int64(available));
		json_object_object_add(data, "threshold", json_object_new_int64(s->threshold));
		int rc = outbox_add_job(db, "low_stock", to->email, data, to->request_id);
		json_object_put(data);
		return rc;
	}
	if (available > s->threshold && s->alerted)
		return repo_stock_set_alerted(db, s->product_id, false);
	return 0;
}

int stock_after_change(struct db_conn *db, int64_t pid, const struct alert_to *to)
{
	struct stock s;
	if (repo_stock_get(db, pid, true, &s) != 0)
		return -1;
	return stock_alert_check(db, &s, to);
}

static struct json_object *stock_json(const struct stock *s, bool staff)
{
	struct json_object *o = json_object_new_object();
	int64_t available = s->on_hand - s->reserved;
	json_object_object_add(o, "product_id", json_object_new_int64(s->product_id));
	json_object_object_add(o, "available", json_object_new_int64(available));
	json_object_object_add(o, "in_stock", json_object_new_boolean(available > 0));
	if (staff) {
		json_object_object_add(o, "on_hand", json_object_new_int64(s->on_hand));
		json_object_object_add(o, "reserved", json_object_new_int64(s->reserved));
		json_object_object_add(o, "low_stock_threshold", json_object_new_int64(s->threshold));
		json_object_object_add(o, "low_stock", json_object_new_boolean(available <= s->threshold));
		json_object_object_add(o, "updated_at", json_object_new_string(s->updated_at));
	}
	return o;
}

#define STOCK_NOT_FOUND "No stock is recorded for this product."

static void not_found(struct request *req)
{
	resp_problem(req, 404, "not_found", STOCK_NOT_FOUND);
}

/* Answers the stock row of `pid` (staff view when the caller is staff). */
static void answer_stock(struct request *req, int status, int64_t pid)
{
	struct stock s;
	int rc = repo_stock_get(req->ctx->db, pid, false, &s);
	if (resp_lookup_failed(req, req->ctx->db, rc, STOCK_NOT_FOUND))
		return;
	struct json_object *o = stock_json(&s, req->role == ROLE_ADMIN);
	resp_json(req, status, o);
	json_object_put(o);
}

/*
 * Asks the product service which of ids[0..n) exist (and, with `active_only`, are on sale),
 * keeping those in ids[] in place. Returns how many are kept, or -1 when it cannot be reached.
 */
static long products_known(struct request *req, int64_t *ids, size_t n, bool active_only)
{
	struct product_brief *briefs = calloc(n ? n : 1, sizeof(*briefs));
	size_t found = 0, kept = 0;

	if (!briefs || product_client_briefs(req->ctx->client, req->request_id, ids, n, briefs, &found) != 0) {
		free(briefs);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct product_brief *b = product_brief_find(briefs, found, ids[i]);
		if (b && (!active_only || product_brief_active(b)))
			ids[kept++] = ids[i];
	}
	free(briefs);
	return (long)kept;
}

void stock_get(struct request *req)
{
	int64_t pid;
	if (!req_path_id(req, "product_id", &pid)) {
		not_found(req);
		return;
	}
	/* Shoppers see stock only of products on sale: a draft's stock would reveal it. */
	if (req->role != ROLE_ADMIN) {
		long known = products_known(req, &pid, 1, true);
		if (known < 0) {
			resp_unavailable(req, "product service");
			return;
		}
		if (known == 0) {
			not_found(req);
			return;
		}
	}
	answer_stock(req, 200, pid);
}

void stock_many(struct request *req)
{
	int64_t ids[LIST_LIMIT_MAX];
	struct db_rows *r;

	long n = req_query_only_ids(req, "product_ids", ids, LIST_LIMIT_MAX);
	if (n < 0)
		return;
	if (req->role != ROLE_ADMIN && (n = products_known(req, ids, (size_t)n, true)) < 0) {
		resp_unavailable(req, "product service");
		return;
	}
	if (repo_stock_many(req->ctx->db, ids, (size_t)n, &r) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		struct stock s = {.product_id = db_cell_i64(r, i, 0, 0),
				  .on_hand = db_cell_i64(r, i, 1, 0),
				  .reserved = db_cell_i64(r, i, 2, 0)};
		json_object_array_add(items, stock_json(&s, false));
	}
	db_rows_free(r);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "items", items);
	resp_json(req, 200, o);
	json_object_put(o);
}

void stock_levels(struct request *req)
{
	int64_t ids[LIST_LIMIT_MAX];
	struct db_rows *r;

	long n = req_query_only_ids(req, "ids", ids, LIST_LIMIT_MAX);
	if (n < 0)
		return;
	/* No catalogue check: the caller is a service that knows which products it asks about. */
	if (repo_stock_many(req->ctx->db, ids, (size_t)n, &r) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "product_id", json_object_new_int64(db_cell_i64(r, i, 0, 0)));
		json_object_object_add(o, "available",
				       json_object_new_int64(db_cell_i64(r, i, 1, 0) - db_cell_i64(r, i, 2, 0)));
		json_object_array_add(items, o);
	}
	db_rows_free(r);
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "items", items);
	resp_json(req, 200, o);
	json_object_put(o);
}

struct change {
	int64_t pid, on_hand, threshold, delta;
	const char *reason, *reference;
	char actor[40];
	bool set; /* PUT (absolute) rather than an adjustment */
	struct alert_to to;
};

/* One transaction: lock the row, change on_hand (conditionally), write the ledger row, re-arm alerts. */
static int change_tx(struct db_conn *db, void *arg)
{
	struct change *c = arg;
	struct stock s;
	int applied = 0, rc;

	if (c->set && repo_stock_ensure(db, c->pid) != 0)
		return -1;
	rc = repo_stock_get(db, c->pid, true, &s);
	if (rc != 0)
		return rc > 0 ? 404 : -1;
	int64_t delta = c->set ? c->on_hand - s.on_hand : c->delta;
	if (c->set && c->on_hand < s.reserved)
		return 409;
	if (c->set) {
		if (repo_stock_set(db, c->pid, c->on_hand, c->threshold) != 0)
			return -1;
	} else {
		if (repo_stock_adjust(db, c->pid, delta, &applied) != 0)
			return -1;
		if (!applied)
			return 409;
	}
	if (delta != 0 &&
	    repo_movement_insert(db, c->pid, delta, c->reason, c->reference, c->actor, s.on_hand + delta) != 0)
		return -1;
	return stock_after_change(db, c->pid, &c->to);
}

static void run_change(struct request *req, struct change *c, int status)
{
	char location[96];
	snprintf(c->actor, sizeof(c->actor), "user:%lld", (long long)req->user_id);
	c->to = (struct alert_to){inventory_settings.alert_email, req->request_id};
	int rc = db_tx(req->ctx->db, change_tx, c);
	if (rc != 0) {
		if (rc == 404)
			not_found(req);
		else if (rc == 409)
			resp_problem(req, 409, "below_reserved",
				     "on_hand cannot go below the units reserved for open orders (or below zero).");
		else
			resp_db_error(req, req->ctx->db);
		return;
	}
	if (status == 201) {
		/* The new ledger row is the newest of the product's movements. */
		snprintf(location, sizeof(location), "/api/v1/inventory/%lld/movements", (long long)c->pid);
		resp_header(req, "Location", location);
	}
	answer_stock(req, status, c->pid);
}

static const struct field_spec put_specs[] = {
	{"on_hand", FIELD_T_I64, true, 0, QTY_MAX, offsetof(struct change, on_hand), false},
	{"low_stock_threshold", FIELD_T_I64, true, 0, QTY_MAX, offsetof(struct change, threshold), false},
};

void stock_put(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct change c = {.set = true, .reason = "correction", .reference = "set"};

	if (!req_path_id(req, "product_id", &c.pid)) {
		not_found(req);
		return;
	}
	if (!(body = req_json_body(req, 0)))
		return;
	if (!field_parse(body, put_specs, sizeof(put_specs) / sizeof(put_specs[0]), &c, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	int64_t one = c.pid;
	long exists = products_known(req, &one, 1, false);
	if (exists < 0) {
		resp_unavailable(req, "product service");
		return;
	}
	if (!exists) {
		resp_problem(req, 404, "not_found", "No such product.");
		return;
	}
	run_change(req, &c, 200);
}

static const struct field_spec adjust_specs[] = {
	{"delta", FIELD_T_I64, true, -QTY_MAX, QTY_MAX, offsetof(struct change, delta), false},
	{"reason", FIELD_T_STRING, true, 1, 16, offsetof(struct change, reason), false},
	{"reference", FIELD_T_STRING, false, 0, 100, offsetof(struct change, reference), false},
};

void stock_adjust(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct change c = {.reference = "", .delta = INT64_MIN};

	if (!req_path_id(req, "product_id", &c.pid)) {
		not_found(req);
		return;
	}
	if (!(body = req_json_body(req, 0)))
		return;
	field_parse(body, adjust_specs, sizeof(adjust_specs) / sizeof(adjust_specs[0]), &c, NULL, NULL, &errs);
	if (c.delta == 0) /* INT64_MIN until a valid delta was read */
		problem_add(&errs, "delta", "must not be 0");
	if (c.reason) {
		bool ok = false;
		for (const char *const *r = reasons; *r; r++)
			ok = ok || strcmp(*r, c.reason) == 0;
		if (!ok)
			problem_add(&errs, "reason", "must be received, damaged, lost, returned or correction");
	}
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	run_change(req, &c, 201);
}

void stock_movements(struct request *req)
{
	struct field_errors errs = {0};
	struct list_params lp;
	struct db_rows *r;
	struct stock s;
	int64_t pid, total;

	if (!req_path_id(req, "product_id", &pid)) {
		not_found(req);
		return;
	}
	list_params_parse(req, &lp, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	int rc = repo_stock_get(req->ctx->db, pid, false, &s);
	if (resp_lookup_failed(req, req->ctx->db, rc, STOCK_NOT_FOUND))
		return;
	if (repo_movements(req->ctx->db, pid, lp.limit, lp.offset, &r, &total) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		struct json_object *m = json_object_new_object();
		json_object_object_add(m, "id", json_object_new_int64(db_cell_i64(r, i, 0, 0)));
		json_object_object_add(m, "product_id", json_object_new_int64(pid));
		json_object_object_add(m, "delta", json_object_new_int64(db_cell_i64(r, i, 1, 0)));
		json_object_object_add(m, "reason", json_object_new_string(db_cell(r, i, 2)));
		json_object_object_add(m, "reference", json_object_new_string(db_cell(r, i, 3)));
		json_object_object_add(m, "actor", json_object_new_string(db_cell(r, i, 4)));
		json_object_object_add(m, "on_hand_after", json_object_new_int64(db_cell_i64(r, i, 5, 0)));
		json_object_object_add(m, "created_at", json_object_new_string(db_cell(r, i, 6)));
		json_object_array_add(items, m);
	}
	db_rows_free(r);
	struct json_object *o = list_envelope(items, total, &lp);
	resp_json(req, 200, o);
	json_object_put(o);
}

void stock_low(struct request *req)
{
	struct field_errors errs = {0};
	struct list_params lp;
	struct db_rows *r;
	int64_t total;

	list_params_parse(req, &lp, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (repo_low_stock(req->ctx->db, lp.limit, lp.offset, &r, &total) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		struct stock s = {.product_id = db_cell_i64(r, i, 0, 0),
				  .on_hand = db_cell_i64(r, i, 1, 0),
				  .reserved = db_cell_i64(r, i, 2, 0),
				  .threshold = db_cell_i64(r, i, 3, 0)};
		struct json_object *o = stock_json(&s, false);
		json_object_object_add(o, "on_hand", json_object_new_int64(s.on_hand));
		json_object_object_add(o, "reserved", json_object_new_int64(s.reserved));
		json_object_object_add(o, "low_stock_threshold", json_object_new_int64(s.threshold));
		json_object_array_add(items, o);
	}
	db_rows_free(r);
	struct json_object *o = list_envelope(items, total, &lp);
	resp_json(req, 200, o);
	json_object_put(o);
}
