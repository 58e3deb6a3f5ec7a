/* reservations.c: all-or-nothing reservations for orders, their commit and release, and TTL expiry. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "field.h"
#include "handlers.h"
#include "clock.h"
#include "config.h"
#include "log.h"
#include "outbox.h"
#include "parse.h"
#include "problem.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "server.h"

#define ITEMS_MAX 100
#define QTY_MAX 1000000
#define REF_MAX 64
#define TTL_DEFAULT 900
#define TTL_MAX 86400
#define EXPIRY_BATCH 100 /* releases per round of the sweeper, each in a transaction of its own */

/* The request's items; reserve_tx never writes them (it may run twice after a deadlock). */
struct item {
	int64_t pid, qty;
};

/* What one run of reserve_tx found short; reset at the start of every run. */
struct shortage {
	int64_t pid, requested, available;
};

/* 1..64 of [A-Za-z0-9-_.:] with at least one letter or digit (so never "." or ".."). Case matters. */
static bool ref_valid(const char *s)
{
	size_t n = strlen(s);
	bool alnum = false;
	if (n == 0 || n > REF_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool a = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
		if (!a && !strchr("-_.:", c))
			return false;
		alnum = alnum || a;
	}
	return alnum;
}

static int by_pid(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

#define RESERVATION_NOT_FOUND "No reservation with this order_ref."

static void reservation_not_found(struct request *req)
{
	resp_problem(req, 404, "not_found", RESERVATION_NOT_FOUND);
}

/* The reservation r with its items (pids[i], qtys[i]) as the API shows it (caller owns). */
static struct json_object *reservation_json(const struct reservation *r, size_t n, const int64_t *pids,
					    const int64_t *qtys)
{
	struct json_object *o = json_object_new_object(), *list = json_object_new_array_ext((int)n);
	json_object_object_add(o, "order_ref", json_object_new_string(r->order_ref));
	json_object_object_add(o, "status", json_object_new_string(r->status));
	json_object_object_add(o, "expires_at", json_object_new_string(r->expires_at));
	json_object_object_add(o, "created_at", json_object_new_string(r->created_at));
	for (size_t i = 0; i < n; i++) {
		struct json_object *it = json_object_new_object();
		json_object_object_add(it, "product_id", json_object_new_int64(pids[i]));
		json_object_object_add(it, "quantity", json_object_new_int64(qtys[i]));
		json_object_array_add(list, it);
	}
	json_object_object_add(o, "items", list);
	return o;
}

/* Answers the reservation `ref` with its items, read from the database. */
static void answer_reservation(struct request *req, int status, const char *ref)
{
	struct reservation r;
	struct db_rows *items;
	int64_t pids[ITEMS_MAX], qtys[ITEMS_MAX];
	size_t n;
	int rc = repo_reservation_get(req->ctx->db, ref, false, &r);

	if (resp_lookup_failed(req, req->ctx->db, rc, RESERVATION_NOT_FOUND))
		return;
	if (repo_reservation_items(req->ctx->db, r.id, &items) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	n = items->nrows < ITEMS_MAX ? items->nrows : ITEMS_MAX;
	for (size_t i = 0; i < n; i++) {
		pids[i] = db_cell_i64(items, i, 0, 0);
		qtys[i] = db_cell_i64(items, i, 1, 0);
	}
	db_rows_free(items);
	struct json_object *o = reservation_json(&r, n, pids, qtys);
	resp_json(req, status, o);
	json_object_put(o);
}

struct reserve {
	const char *ref;
	int64_t ttl;
	struct item items[ITEMS_MAX];
	size_t n;
	bool existing;
	struct reservation made; /* the row a new reservation wrote (existing false) */
	struct shortage shorts[ITEMS_MAX];
	size_t nshort;
	struct alert_to to;
};

enum { RESERVE_MISMATCH = 422, RESERVE_SHORT = 409 };

/* Compares the existing reservation's items with the request's (both by product id).
 * Returns 0 when they are the same, RESERVE_MISMATCH when not, -1 on a database error. */
static int same_items(struct db_conn *db, struct reserve *rv)
{
	struct reservation r;
	struct db_rows *items;
	int rc = repo_reservation_get(db, rv->ref, false, &r);

	if (rc != 0)
		return -1; /* rc 1 cannot happen after a duplicate key; treat it as an error */
	if (repo_reservation_items(db, r.id, &items) != 0)
		return -1;
	bool same = items->nrows == rv->n;
	for (size_t i = 0; same && i < rv->n; i++)
		same = db_cell_i64(items, i, 0, 0) == rv->items[i].pid && db_cell_i64(items, i, 1, 0) == rv->items[i].qty;
	db_rows_free(items);
	return same ? 0 : RESERVE_MISMATCH;
}

static int reserve_tx(struct db_conn *db, void *arg)
{
	struct reserve *rv = arg;
	int applied;
	struct stock s;

	rv->existing = false;
	rv->nshort = 0;
	if (repo_reservation_insert(db, rv->ref, rv->ttl, &rv->made) != 0) {
		if (db->err != DB_DUPLICATE)
			return -1;
		/* The order already holds a reservation: the same request answers it and changes
		 * nothing; other items under the same order_ref are a client bug (422). */
		rv->existing = true;
		return same_items(db, rv);
	}
	/* Items in product-id order, so concurrent multi-item reservations lock rows in the same order. */
	for (size_t i = 0; i < rv->n; i++) {
		const struct item *it = &rv->items[i];
		/* Most reservations leave the low-stock state as it was: one statement for those. */
		if (repo_stock_reserve_steady(db, it->pid, it->qty, &applied) != 0)
			return -1;
		if (applied) {
			if (repo_reservation_item_insert(db, rv->made.id, it->pid, it->qty) != 0)
				return -1;
			continue;
		}
		if (repo_stock_reserve(db, it->pid, it->qty, &applied) != 0)
			return -1;
		if (!applied) {
			int rc = repo_stock_get(db, it->pid, false, &s);
			if (rc < 0)
				return -1;
			rv->shorts[rv->nshort++] = (struct shortage){it->pid, it->qty, rc == 0 ? s.on_hand - s.reserved : 0};
			continue;
		}
		if (repo_reservation_item_insert(db, rv->made.id, it->pid, it->qty) != 0 ||
		    stock_after_change(db, it->pid, &rv->to) != 0)
			return -1;
	}
	return rv->nshort ? RESERVE_SHORT : 0;
}

void reservation_create(struct request *req)
{
	static const char *const allowed[] = {"order_ref", "items", "ttl_seconds", NULL};
	static const char *const item_fields[] = {"product_id", "quantity", NULL};
	struct json_object *body, *items;
	struct field_errors errs = {0};
	struct reserve *rv = calloc(1, sizeof(*rv));

	if (!rv) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	if (!(body = req_json_body(req, 0)))
		goto out;
	rv->ttl = TTL_DEFAULT;
	rv->to = (struct alert_to){inventory_settings.alert_email, req->request_id};
	field_only(body, allowed, &errs);
	if (field_string(body, "order_ref", true, 1, REF_MAX, false, &rv->ref, &errs) == FIELD_OK &&
	    !ref_valid(rv->ref))
		problem_add(&errs, "order_ref", "must be letters, digits, '-', '_', '.' or ':'");
	field_i64(body, "ttl_seconds", false, 10, TTL_MAX, &rv->ttl, &errs);
	if (!json_object_object_get_ex(body, "items", &items) || !json_object_is_type(items, json_type_array) ||
	    json_object_array_length(items) == 0 || json_object_array_length(items) > ITEMS_MAX) {
		problem_add(&errs, "items", "must be a list of 1 to %d {product_id, quantity}", ITEMS_MAX);
	} else {
		for (size_t i = 0; i < json_object_array_length(items); i++) {
			struct json_object *it = json_object_array_get_idx(items, i);
			char field[32];
			snprintf(field, sizeof(field), "items[%zu]", i);
			if (!json_object_is_type(it, json_type_object)) {
				problem_add(&errs, field, "must be an object {product_id, quantity}");
				continue;
			}
			struct field_errors item_errs = {0};
			field_only(it, item_fields, &item_errs);
			field_i64(it, "product_id", true, 1, ID_MAX, &rv->items[rv->n].pid, &item_errs);
			field_i64(it, "quantity", true, 1, QTY_MAX, &rv->items[rv->n].qty, &item_errs);
			for (size_t k = 0; k < item_errs.n; k++)
				problem_add(&errs, field, "%s %s", item_errs.items[k].field, item_errs.items[k].message);
			if (!item_errs.n)
				rv->n++;
		}
	}
	if (!errs.n) {
		qsort(rv->items, rv->n, sizeof(rv->items[0]), by_pid);
		for (size_t i = 1; i < rv->n; i++)
			if (rv->items[i].pid == rv->items[i - 1].pid)
				problem_add(&errs, "items", "product %lld is listed twice", (long long)rv->items[i].pid);
	}
	if (errs.n) {
		resp_invalid(req, &errs);
		goto out;
	}
	int rc = db_tx(req->ctx->db, reserve_tx, rv);
	if (rc != 0) {
		if (rc == RESERVE_MISMATCH) {
			resp_problem(req, 422, "idempotency_mismatch",
				     "This order_ref already holds a reservation with other items.");
			goto out;
		}
		if (rc != RESERVE_SHORT) {
			resp_db_error(req, req->ctx->db);
			goto out;
		}
		struct json_object *p = problem_new(409, "insufficient_stock", "Some items are not available in the quantity asked.",
						    req->request_id, NULL);
		struct json_object *list = json_object_new_array();
		for (size_t i = 0; i < rv->nshort; i++) {
			struct json_object *o = json_object_new_object();
			json_object_object_add(o, "product_id", json_object_new_int64(rv->shorts[i].pid));
			json_object_object_add(o, "requested", json_object_new_int64(rv->shorts[i].requested));
			json_object_object_add(o, "available", json_object_new_int64(rv->shorts[i].available));
			json_object_array_add(list, o);
		}
		json_object_object_add(p, "items", list);
		resp_problem_obj(req, p);
		json_object_put(p);
		goto out;
	}
	if (rv->existing) {
		answer_reservation(req, 200, rv->ref);
		goto out;
	}
	/* A new reservation is answered from what it wrote: its row as returned by the insert and
	 * the items, which are its lines in product-id order (the order the API lists them in). */
	char location[128];
	int64_t pids[ITEMS_MAX], qtys[ITEMS_MAX];
	snprintf(location, sizeof(location), "/internal/inventory/reservations/%s", rv->ref);
	resp_header(req, "Location", location);
	for (size_t i = 0; i < rv->n; i++) {
		pids[i] = rv->items[i].pid;
		qtys[i] = rv->items[i].qty;
	}
	struct json_object *o = reservation_json(&rv->made, rv->n, pids, qtys);
	resp_json(req, 201, o);
	json_object_put(o);
out:
	free(rv);
}

void reservation_get(struct request *req)
{
	const char *ref = req_path_param(req, "order_ref");
	if (!ref || !ref_valid(ref)) {
		reservation_not_found(req);
		return;
	}
	answer_reservation(req, 200, ref);
}

/* What finishing a reservation does: commit (sell) or release (give back). */
struct finish {
	const char *ref;
	bool commit;
	char why[12]; /* the state that refused it */
	struct alert_to to;
};

/* Returns the reserved units of reservation `rid` to `available` (or sells them), item by item. */
static int apply_items(struct db_conn *db, int64_t rid, const char *ref, bool commit, const struct alert_to *to)
{
	struct db_rows *items;
	int applied, rc = 0;

	if (repo_reservation_items(db, rid, &items) != 0)
		return -1;
	for (size_t i = 0; i < items->nrows && rc == 0; i++) {
		int64_t pid = db_cell_i64(items, i, 0, 0), qty = db_cell_i64(items, i, 1, 0);
		struct stock s;
		if (commit) {
			rc = repo_stock_sell(db, pid, qty, &applied);
			if (rc == 0 && applied && (rc = repo_stock_get(db, pid, true, &s)) == 0)
				rc = repo_movement_insert(db, pid, -qty, "sold", ref, "order-service", s.on_hand);
			if (rc == 0 && applied) {
				rc = stock_alert_check(db, &s, to); /* from the row just read */
				continue;
			}
		} else {
			rc = repo_stock_unreserve(db, pid, qty, &applied);
		}
		if (rc == 0 && !applied) {
			/* The reserved count no longer covers this reservation: the books are wrong. */
			db->err = DB_ERROR;
			snprintf(db->errstr, sizeof(db->errstr), "reservation %lld: stock of %lld does not cover it",
				 (long long)rid, (long long)pid);
			rc = -1;
		}
		if (rc == 0)
			rc = stock_after_change(db, pid, to);
	}
	db_rows_free(items);
	return rc;
}

static int finish_tx(struct db_conn *db, void *arg)
{
	struct finish *f = arg;
	struct reservation r;
	int rc = repo_reservation_get(db, f->ref, true, &r);

	if (rc != 0)
		return rc > 0 ? 404 : -1;
	const char *done = f->commit ? "committed" : "released";
	if (strcmp(r.status, done) == 0 || (!f->commit && strcmp(r.status, "expired") == 0))
		return 0; /* already done: idempotent */
	if (strcmp(r.status, "active") != 0 || (f->commit && r.expired)) {
		snprintf(f->why, sizeof(f->why), "%s", strcmp(r.status, "active") != 0 ? r.status : "expired");
		return 409;
	}
	if (apply_items(db, r.id, f->ref, f->commit, &f->to) != 0)
		return -1;
	return repo_reservation_set_status(db, r.id, done);
}

static void finish(struct request *req, bool commit)
{
	struct finish f = {.ref = req_path_param(req, "order_ref"), .commit = commit,
			   .to = {inventory_settings.alert_email, req->request_id}};

	if (!f.ref || !ref_valid(f.ref)) {
		reservation_not_found(req);
		return;
	}
	int rc = db_tx(req->ctx->db, finish_tx, &f);
	if (rc != 0) {
		if (rc == 404)
			reservation_not_found(req);
		else if (rc == 409)
			resp_problemf(req, 409, "reservation_state", "The reservation is %s; it cannot be %s.", f.why,
				      commit ? "committed" : "released");
		else
			resp_db_error(req, req->ctx->db);
		return;
	}
	answer_reservation(req, 200, f.ref);
}

void reservation_commit(struct request *req)
{
	finish(req, true);
}

void reservation_release(struct request *req)
{
	finish(req, false);
}

/*
 * POST /internal/inventory/reservations/finishes {"items":[{"order_ref","action":"commit"|
 * "release"}, ...], "request_ids":[...]}: the commits and releases of a relay round of the order
 * service's outbox (lib/outbox batch rows), each what the single route does, in a transaction
 * of its own, judged on its own: {"items":[{"order_ref","status","code"?}]} in the call's order,
 * status 200 (done, or done before), 404 not_found, 409 reservation_state (refused for good),
 * 422 invalid_item (not a commit or release: refused on its own, the others still done) or
 * 503 unavailable (the database failed: that item is sent again). Only a wrong envelope (see
 * outbox_batch_items) is refused whole.
 */
void reservation_finishes(struct request *req)
{
	struct finish_item {
		const char *ref, *action;
	};
	static const struct field_spec specs[] = {
		{"order_ref", FIELD_T_STRING, true, 1, REF_MAX, offsetof(struct finish_item, ref), false},
		{"action", FIELD_T_STRING, true, 6, 7, offsetof(struct finish_item, action), false},
	};
	static const char what[] = "{order_ref, action: commit or release}";
	struct field_errors errs = {0};
	struct json_object *body, *rids, *items;

	if (!(body = req_json_body(req, 0)))
		return;
	if (!(items = outbox_batch_items(body, what, &rids, &errs))) {
		resp_invalid(req, &errs);
		return;
	}
	size_t n = json_object_array_length(items);
	struct json_object *answer = json_object_new_object(), *list = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		const char *rid = outbox_batch_rid(rids, i);
		struct finish_item it = {0};
		struct field_errors item_errs = {0};
		if (outbox_batch_item(items, i, specs, 2, &it, what, &item_errs)) {
			char field[48];
			snprintf(field, sizeof(field), "items[%zu]", i);
			if (!ref_valid(it.ref))
				problem_add(&item_errs, field, "order_ref must be 1 to %d of A-Z a-z 0-9 - _ . :", REF_MAX);
			if (strcmp(it.action, "commit") != 0 && strcmp(it.action, "release") != 0)
				problem_add(&item_errs, field, "action must be commit or release");
		}
		if (item_errs.n) {
			struct json_object *bad = json_object_new_object();
			outbox_item_invalid(bad, rid, &item_errs);
			json_object_array_add(list, bad);
			continue;
		}
		struct finish f = {.ref = it.ref, .commit = strcmp(it.action, "commit") == 0,
				   .to = {inventory_settings.alert_email, rid}};
		int rc = db_tx(req->ctx->db, finish_tx, &f), status = 200;
		const char *code = NULL;
		if (rc == 404 || rc == 409) {
			status = rc;
			code = rc == 404 ? "not_found" : "reservation_state";
			log_msg(LOG_WARN, rid, "%s of reservation %s refused: %s%s", it.action, f.ref, code,
				rc == 409 ? (f.commit ? " (cannot be committed)" : " (cannot be released)") : "");
		} else if (rc != 0) {
			status = 503;
			code = "unavailable";
			log_msg(LOG_WARN, rid, "%s of reservation %s: %s", it.action, f.ref, req->ctx->db->errstr);
		}
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "order_ref", json_object_new_string(f.ref));
		outbox_item_judge(r, status, code);
		if (rc == 409)
			json_object_object_add(r, "reservation_status", json_object_new_string(f.why));
		json_object_array_add(list, r);
	}
	json_object_object_add(answer, "items", list);
	resp_json(req, 200, answer);
	json_object_put(answer);
}

/* One release: the oldest expired reservation after the round's cursor, in a transaction of its
 * own, so that its stock rows are taken in product order as a reservation takes them (a batch in
 * one transaction took rows of several reservations out of that order, and could deadlock with a
 * checkout). Locked rows belong to another instance (or to a commit in progress) and are skipped,
 * so each expiry happens exactly once. */
struct sweep {
	struct alert_to to;
	char after_at[32];   /* the cursor: past a release that failed in this round */
	int64_t after_id;
	int64_t rid;         /* out: the reservation taken, 0 for none */
	char rid_at[32];     /* out: its expires_at */
};

static int expiry_tx(struct db_conn *db, void *arg)
{
	struct sweep *sw = arg;
	struct db_rows *r;
	int rc = 0;

	sw->rid = 0;
	if (repo_reservations_expired(db, sw->after_at, sw->after_id, 1, &r) != 0)
		return -1;
	if (r->nrows) {
		sw->rid = db_cell_i64(r, 0, 0, 0);
		db_cell_copy(r, 0, 2, sw->rid_at, sizeof(sw->rid_at));
		if (apply_items(db, sw->rid, db_cell(r, 0, 1), false, &sw->to) != 0 ||
		    repo_reservation_set_status(db, sw->rid, "expired") != 0)
			rc = -1;
	}
	db_rows_free(r);
	return rc;
}

/* A round: releases up to EXPIRY_BATCH reservations, oldest first. One whose release fails (a
 * lock held too long, books that no longer cover it) is passed over for the rest of the round,
 * so that it does not hold up those behind it, however many fail; the next round tries it again.
 * Returns how many were released; *failed counts the failures, named in `err`. */
static size_t expiry_round(struct ctx *ctx, size_t *failed, char *err, size_t errlen)
{
	struct sweep sw = {.to = {inventory_settings.alert_email, "-"}, .after_at = "1000-01-01 00:00:00"};
	size_t released = 0, used = 0;

	*failed = 0;
	err[0] = '\0';
	while (released < EXPIRY_BATCH && !server_stopping()) {
		if (db_tx(ctx->db, expiry_tx, &sw) == 0) {
			if (!sw.rid)
				break; /* none left */
			released++;
			continue;
		}
		(*failed)++;
		const char *why = ctx->db->errstr;
		if (!sw.rid) { /* the database itself: the round ends */
			if (used < errlen)
				snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", why);
			break;
		}
		/* Each failed release named (as many as fit), the reservation first. */
		if (used < errlen) {
			int n = strncmp(why, "reservation ", 12) == 0
					? snprintf(err + used, errlen - used, "%s%s", used ? "; " : "", why)
					: snprintf(err + used, errlen - used, "%sreservation %lld: %s", used ? "; " : "",
						   (long long)sw.rid, why);
			used += n > 0 ? (size_t)n : 0;
		}
		snprintf(sw.after_at, sizeof(sw.after_at), "%s", sw.rid_at);
		sw.after_id = sw.rid;
	}
	return released;
}

void expiry_loop(struct ctx *ctx)
{
	struct log_streak streak = {.what = "expiry sweep"};

	while (!server_stopping()) {
		char err[1024], line[sizeof(err) + 48];
		size_t failed;
		size_t released = expiry_round(ctx, &failed, err, sizeof(err));
		if (released)
			log_msg(LOG_INFO, NULL, "expiry: released %zu reservations", released);
		if (failed) {
			snprintf(line, sizeof(line), "%zu release%s failed: %s", failed, failed == 1 ? "" : "s", err);
			log_streak_fail(&streak, line);
		} else {
			log_streak_ok(&streak);
		}
		if (released == EXPIRY_BATCH)
			continue; /* more are waiting */
		for (int i = 0; i < 10 && !server_stopping(); i++)
			clock_sleep_ms(100);
	}
}
