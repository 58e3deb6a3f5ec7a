/* orders.c: reading orders, their transitions (cancel, ship, deliver, paid, refunded), the internal routes and the expiry sweeper. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "clock.h"
#include "ctx.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "idem.h"
#include "../inventory/inventory_client.h"
#include "lists.h"
#include "log.h"
#include "outbox.h"
#include "parse.h"
#include "problem.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "rules.h"
#include "server.h"
#include "view.h"

#define ORDER_NOT_FOUND "No such order."
#define EXPIRY_BATCH 100
#define REASON_MAX 500

/* The order `id` as the API shows it, read with `db`. Returns 0 with *out (caller owns), 1 when
 * there is no such order, -1 on a database error. */
static int order_json(struct db_conn *db, int64_t id, struct json_object **out)
{
	struct order_row *o = malloc(sizeof(*o));
	struct db_rows *lines = NULL, *hist = NULL;
	struct order_line_view *lv = NULL;
	struct order_step_view *sv = NULL;
	int rc = -1;

	*out = NULL;
	if (!o) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "out of memory");
		return -1;
	}
	if ((rc = repo_order_get(db, id, o)) != 0)
		goto out;
	rc = -1;
	if (repo_order_lines(db, id, &lines) != 0 || repo_order_history(db, id, &hist) != 0)
		goto out;
	lv = calloc(lines->nrows + 1, sizeof(*lv));
	sv = calloc(hist->nrows + 1, sizeof(*sv));
	if (!lv || !sv) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "out of memory");
		goto out;
	}
	for (size_t i = 0; i < lines->nrows; i++)
		lv[i] = (struct order_line_view){db_cell_i64(lines, i, 0, 0), db_cell_i64(lines, i, 3, 0),
						 db_cell_i64(lines, i, 4, 0), db_cell_i64(lines, i, 5, 0),
						 db_cell(lines, i, 1), db_cell(lines, i, 2)};
	for (size_t i = 0; i < hist->nrows; i++)
		sv[i] = (struct order_step_view){db_cell(hist, i, 0), db_cell(hist, i, 1), db_cell(hist, i, 2),
						 db_cell(hist, i, 3), db_cell(hist, i, 4)};
	*out = order_view(o, lv, lines->nrows, sv, hist->nrows);
	rc = 0;
out:
	free(lv);
	free(sv);
	db_rows_free(lines);
	db_rows_free(hist);
	free(o);
	return rc;
}

/* Answers order `id` with `status`, or the lookup failure. */
static void answer_order(struct request *req, int status, int64_t id)
{
	struct json_object *j;
	int rc = order_json(req->ctx->db, id, &j);
	if (resp_lookup_failed(req, req->ctx->db, rc, ORDER_NOT_FOUND))
		return;
	resp_json(req, status, j);
	json_object_put(j);
}

/* --- reads ------------------------------------------------------------------------------ */

void orders_get(struct request *req)
{
	int64_t id;
	struct order_row o;
	int rc = req_path_id(req, "id", &id) ? repo_order_get(req->ctx->db, id, &o) : 1;

	/* Another user's order is not found: its existence is nobody else's business. */
	if (rc == 0 && req->role != ROLE_ADMIN && o.user_id != req->user_id)
		rc = 1;
	if (resp_lookup_failed(req, req->ctx->db, rc, ORDER_NOT_FOUND))
		return;
	answer_order(req, 200, id);
}

void orders_list(struct request *req)
{
	static const char *const customer_q[] = {"limit", "offset", "status", NULL};
	static const char *const staff_q[] = {"limit", "offset", "status", "user_id", "placed_from", "placed_to", NULL};
	struct field_errors errs = {0};
	struct list_params lp;
	struct order_filter f = {0};
	enum order_status st;
	char from[20], to[20];
	bool staff = req->role == ROLE_ADMIN;
	struct db_rows *rows;
	int64_t total;

	req_query_allowed(req, staff ? staff_q : customer_q, &errs);
	list_params_parse(req, &lp, &errs);
	if ((f.status = req_query(req, "status")) && !order_status_parse(f.status, &st))
		problem_add(&errs, "status", "must be one of pending_payment, paid, shipped, delivered, cancelled, "
					     "expired, refunded");
	if (staff) {
		req_query_i64(req, "user_id", 1, ID_MAX, 0, &f.user_id, &errs);
		const char *pf = req_query(req, "placed_from"), *pt = req_query(req, "placed_to");
		if (pf && !order_time_parse(pf, from))
			problem_add(&errs, "placed_from", "must be a date (2026-12-01) or a UTC time (2026-12-01T08:00:00Z)");
		if (pt && !order_time_parse(pt, to))
			problem_add(&errs, "placed_to", "must be a date (2026-12-01) or a UTC time (2026-12-01T08:00:00Z)");
		f.placed_from = pf ? from : NULL;
		f.placed_to = pt ? to : NULL;
	} else {
		f.user_id = req->user_id;
	}
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (repo_orders_list(req->ctx->db, &f, lp.limit, lp.offset, &rows, &total) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)rows->nrows);
	for (size_t i = 0; i < rows->nrows; i++) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "id", json_object_new_int64(db_cell_i64(rows, i, 0, 0)));
		json_object_object_add(o, "user_id", json_object_new_int64(db_cell_i64(rows, i, 1, 0)));
		json_object_object_add(o, "status", json_object_new_string(db_cell(rows, i, 2)));
		json_object_object_add(o, "currency", json_object_new_string(db_cell(rows, i, 3)));
		json_object_object_add(o, "subtotal", json_object_new_int64(db_cell_i64(rows, i, 4, 0)));
		json_object_object_add(o, "shipping", json_object_new_int64(db_cell_i64(rows, i, 5, 0)));
		json_object_object_add(o, "total", json_object_new_int64(db_cell_i64(rows, i, 6, 0)));
		json_object_object_add(o, "item_count", json_object_new_int64(db_cell_i64(rows, i, 7, 0)));
		json_object_object_add(o, "placed_at", json_object_new_string(db_cell(rows, i, 8)));
		json_object_object_add(o, "updated_at", json_object_new_string(db_cell(rows, i, 9)));
		json_object_array_add(items, o);
	}
	db_rows_free(rows);
	struct json_object *env = list_envelope(items, total, &lp);
	resp_json(req, 200, env);
	json_object_put(env);
}

/* --- transitions ------------------------------------------------------------------------ */

/* One transition asked for; change_tx never writes the inputs (it may run twice). */
struct change {
	int64_t id;
	enum order_event ev;
	enum order_actor by;
	int64_t owner; /* ORDER_BY_OWNER: the caller, who must own the order */
	char actor[40];
	const char *reason, *carrier, *tracking, *payment_id, *currency;
	int64_t amount;
	const char *request_id;
	/* out, reset on every run */
	char found[16]; /* the status it was in */
	bool repeat;    /* already done by an earlier identical call */
};

enum change_refusal {
	CHANGE_NOT_FOUND = 1,
	CHANGE_INVALID,     /* not allowed from the order's state (409 invalid_transition) */
	CHANGE_RACE,        /* the order moved between the read and the conditional update */
	CHANGE_OTHER_PAYMENT, /* already paid by another payment */
	CHANGE_AMOUNT,      /* the payment's amount or currency is not the order's */
	CHANGE_NOT_PAID,    /* refunded, but it was never paid */
};

/* The e-mail data every order template uses: the owner's name and the order id. */
static struct json_object *mail_data(const struct order_row *o)
{
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "name", json_object_new_string(o->customer_name));
	json_object_object_add(d, "order_id", json_object_new_int64(o->id));
	return d;
}

/* The helpers below add to `rows`, which apply_change writes with one statement. */
static int queue_job(struct db_conn *db, struct outbox_rows *rows, const char *type, const struct order_row *o,
		     const char *request_id, bool with_total)
{
	struct json_object *d = mail_data(o);
	char total[48];
	if (with_total && order_money_format(o->total, o->currency, total, sizeof(total)))
		json_object_object_add(d, "total", json_object_new_string(total));
	int rc = outbox_rows_job(db, rows, type, o->email, d, request_id);
	json_object_put(d);
	return rc;
}

/* The reservation's commit or release, as an item of the inventory's batch route. */
static int queue_reservation(struct db_conn *db, struct outbox_rows *rows, const struct order_row *o,
			     const char *action, const char *rid)
{
	struct json_object *item = inventory_finish_item(o->order_ref, action);
	int rc = outbox_rows_batch(db, rows, INVENTORY_FINISHES, item, rid);
	json_object_put(item);
	return rc;
}

/* The refund of a paid order cancelled by staff, for the payment service. */
static int queue_refund(struct db_conn *db, struct outbox_rows *rows, const struct order_row *o, const char *reason,
			const char *rid)
{
	struct json_object *b = json_object_new_object();
	json_object_object_add(b, "order_id", json_object_new_int64(o->id));
	json_object_object_add(b, "reason", json_object_new_string(reason ? reason : "cancelled"));
	int rc = outbox_rows_call(db, rows, "POST", "/internal/payment/refunds", b, rid);
	json_object_put(b);
	return rc;
}

/* Applies c to the loaded order o: the conditional update, the history row, and what the new
 * state causes elsewhere (outbox), all in the caller's transaction. */
static int apply_change(struct db_conn *db, const struct order_row *o, struct change *c)
{
	enum order_status from, to;
	int applied = 0, rc;

	snprintf(c->found, sizeof(c->found), "%s", o->status);
	if (!order_status_parse(o->status, &from))
		return -1;
	if (c->ev == ORDER_EV_PAY && o->has_payment) {
		if (strcmp(o->payment_id, c->payment_id) != 0)
			return CHANGE_OTHER_PAYMENT;
		c->repeat = true; /* the same payment again: answer the order as it is */
		return 0;
	}
	if (c->ev == ORDER_EV_REFUNDED && from == ORDER_REFUNDED) {
		c->repeat = true;
		return 0;
	}
	/* The payment's outbox sent "refunded" before "paid" (that call waits out a backoff, or
	 * another instance sent it): the refund is noted, and the payment, when it lands, takes the
	 * order on to refunded. Refusing it would have the order paid, and shipped, with its money
	 * returned. */
	if (c->ev == ORDER_EV_REFUNDED && from == ORDER_PENDING_PAYMENT) {
		if (repo_order_refunded_early(db, o->id, c->reason ? c->reason : "refunded", &applied) != 0)
			return -1;
		if (!applied)
			return CHANGE_RACE;
		c->repeat = true; /* nothing moves now: answer the order as it is */
		return 0;
	}
	if (!order_transition(c->ev, from, c->by, &to))
		return CHANGE_INVALID;
	if (c->ev == ORDER_EV_PAY && (c->amount != o->total || strcmp(c->currency, o->currency) != 0))
		return CHANGE_AMOUNT;
	if (c->ev == ORDER_EV_REFUNDED && !o->has_payment)
		return CHANGE_NOT_PAID;

	if (c->ev == ORDER_EV_PAY)
		rc = repo_order_move_paid(db, o->id, c->payment_id, o->refunded_early, &applied);
	else if (c->ev == ORDER_EV_SHIP)
		rc = repo_order_move_shipped(db, o->id, c->carrier, c->tracking, &applied);
	else
		rc = repo_order_move(db, o->id, order_status_name(from), order_status_name(to), &applied);
	if (rc != 0)
		return -1;
	if (!applied)
		return CHANGE_RACE;
	if (repo_history_insert(db, o->id, order_status_name(from), order_status_name(to), c->actor, c->reason, NULL, 0) != 0)
		return -1;

	struct outbox_rows rows = {0};
	switch (c->ev) {
	case ORDER_EV_PAY:
		if (o->refunded_early) {
			/* Its whole payment was refunded before this call landed: paid, and at once
			 * refunded, as a paid order staff refund in whole; its owner learns it will not come. */
			if (repo_order_move(db, o->id, "paid", "refunded", &applied) != 0 ||
			    repo_history_insert(db, o->id, "paid", "refunded", c->actor, o->refund_reason, NULL, 0) != 0)
				return -1;
			if (!applied)
				return CHANGE_RACE;
			rc = queue_reservation(db, &rows, o, "commit", c->request_id) != 0 ||
			     queue_job(db, &rows, "order_cancelled", o, c->request_id, false) != 0;
			break;
		}
		rc = queue_reservation(db, &rows, o, "commit", c->request_id) != 0 ||
		     queue_job(db, &rows, "order_paid", o, c->request_id, true) != 0;
		break;
	case ORDER_EV_SHIP:
		rc = queue_job(db, &rows, "order_shipped", o, c->request_id, false) != 0;
		break;
	case ORDER_EV_CANCEL:
		/* Unpaid: the stock goes back. Paid (staff): the money goes back; the units were sold
		 * and stay so (staff books returned goods at the inventory). */
		rc = (from == ORDER_PAID ? queue_refund(db, &rows, o, c->reason, c->request_id)
					 : queue_reservation(db, &rows, o, "release", c->request_id)) != 0 ||
		     queue_job(db, &rows, "order_cancelled", o, c->request_id, false) != 0;
		break;
	case ORDER_EV_EXPIRE:
		rc = queue_reservation(db, &rows, o, "release", c->request_id) != 0;
		break;
	case ORDER_EV_REFUNDED:
		/* Refunded in whole before it shipped: its owner learns it will not come. After it
		 * shipped: that the money goes back. The units were sold when it was paid and stay so,
		 * as for a paid order cancelled by staff (returned goods are booked at the inventory).
		 * Cancelled: its owner had the order_cancelled e-mail then. */
		if (from == ORDER_PAID)
			rc = queue_job(db, &rows, "order_cancelled", o, c->request_id, false) != 0;
		else if (from == ORDER_SHIPPED || from == ORDER_DELIVERED)
			rc = queue_job(db, &rows, "order_refunded", o, c->request_id, true) != 0;
		else
			rc = 0;
		break;
	case ORDER_EV_DELIVER:
		rc = 0;
		break;
	}
	if (rc != 0 || outbox_rows_write(db, &rows) != 0) {
		outbox_rows_clear(&rows);
		return -1;
	}
	return 0;
}

static int change_tx(struct db_conn *db, void *arg)
{
	struct change *c = arg;
	struct order_row o;

	c->found[0] = '\0';
	c->repeat = false;
	int rc = repo_order_get(db, c->id, &o);
	if (rc != 0)
		return rc > 0 ? CHANGE_NOT_FOUND : -1;
	if (c->by == ORDER_BY_OWNER && o.user_id != c->owner)
		return CHANGE_NOT_FOUND;
	return apply_change(db, &o, c);
}

/* Runs c in its transaction; a race lost to a concurrent transition is decided again from the
 * new state. Returns 0, a change_refusal, or -1 (db->err set). */
static int change_run(struct db_conn *db, struct change *c)
{
	int rc;
	for (int i = 0; (rc = db_tx(db, change_tx, c)) == CHANGE_RACE && i < 3; i++)
		;
	return rc;
}

/* The problem a refusal `rc` of c is: its status (0 for none), code and detail (NULL: built
 * from the state found, into `buf`). */
static int change_problem(int rc, const struct change *c, const char **code, const char **detail, char *buf,
			  size_t len)
{
	*detail = NULL;
	switch (rc) {
	case CHANGE_NOT_FOUND:
		*code = "not_found";
		*detail = ORDER_NOT_FOUND;
		return 404;
	case CHANGE_INVALID:
	case CHANGE_RACE:
		*code = "invalid_transition";
		snprintf(buf, len, "The order is %s; this change is not allowed from there.", c->found);
		*detail = buf;
		return 409;
	case CHANGE_OTHER_PAYMENT:
		*code = "already_paid";
		*detail = "The order is already paid by another payment.";
		return 409;
	case CHANGE_AMOUNT:
		*code = "amount_mismatch";
		*detail = "The amount or currency is not the order's total.";
		return 409;
	case CHANGE_NOT_PAID:
		*code = "not_paid";
		*detail = "The order was never paid, so nothing was refunded.";
		return 409;
	default:
		return 0;
	}
}

/* Runs c and answers: the order (200) or the refusal. */
static void run_change(struct request *req, struct change *c)
{
	const char *code, *detail;
	char buf[128];

	c->request_id = req->request_id;
	int rc = change_run(req->ctx->db, c);
	if (rc == 0) {
		answer_order(req, 200, c->id);
		return;
	}
	int status = change_problem(rc, c, &code, &detail, buf, sizeof(buf));
	if (!status) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *p = problem_new(status, code, detail, req->request_id, NULL);
	if (strcmp(code, "invalid_transition") == 0)
		json_object_object_add(p, "current_status", json_object_new_string(c->found));
	resp_problem_obj(req, p);
	json_object_put(p);
}

/* The body of a route whose body may be left out: true with *body NULL when there is none. */
static bool optional_body(struct request *req, struct json_object **body)
{
	const char *cl = req_param(req, "CONTENT_LENGTH");
	*body = NULL;
	if (!cl || !*cl || strcmp(cl, "0") == 0)
		return true;
	return (*body = req_json_body(req, 0)) != NULL;
}

/* Reads the order id of the path, or answers 404. */
static bool path_order_id(struct request *req, int64_t *id)
{
	if (req_path_id(req, "id", id))
		return true;
	resp_problem(req, 404, "not_found", ORDER_NOT_FOUND);
	return false;
}

static void set_actor(struct request *req, struct change *c)
{
	bool staff = req->role == ROLE_ADMIN;
	c->by = staff ? ORDER_BY_STAFF : ORDER_BY_OWNER;
	c->owner = req->user_id;
	snprintf(c->actor, sizeof(c->actor), "%s:%lld", staff ? "staff" : "user", (long long)req->user_id);
}

void orders_cancel(struct request *req)
{
	struct reason_body {
		const char *reason;
	} b = {0};
	static const struct field_spec specs[] = {
		{"reason", FIELD_T_STRING, false, 1, REASON_MAX, offsetof(struct reason_body, reason), false},
	};
	struct change c = {.ev = ORDER_EV_CANCEL};
	struct json_object *body;
	struct field_errors errs = {0};

	if (!path_order_id(req, &c.id) || !optional_body(req, &body))
		return;
	set_actor(req, &c);
	if (body)
		field_parse(body, specs, 1, &b, NULL, NULL, &errs);
	/* Staff say why (the customer reads it); a customer may. */
	if (c.by == ORDER_BY_STAFF && !errs.n && !b.reason)
		problem_add(&errs, "reason", "is required when staff cancel an order");
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	c.reason = b.reason;
	run_change(req, &c);
}

void orders_ship(struct request *req)
{
	struct ship_body {
		const char *carrier, *tracking;
	} b = {0};
	static const struct field_spec specs[] = {
		{"carrier", FIELD_T_STRING, true, 1, 100, offsetof(struct ship_body, carrier), false},
		{"tracking_number", FIELD_T_STRING, true, 1, 100, offsetof(struct ship_body, tracking), false},
	};
	struct change c = {.ev = ORDER_EV_SHIP};
	struct json_object *body;
	struct field_errors errs = {0};

	if (!path_order_id(req, &c.id) || !(body = req_json_body(req, 0)))
		return;
	if (!field_parse(body, specs, 2, &b, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	set_actor(req, &c);
	c.carrier = b.carrier;
	c.tracking = b.tracking;
	run_change(req, &c);
}

void orders_deliver(struct request *req)
{
	struct change c = {.ev = ORDER_EV_DELIVER};
	struct json_object *body;
	struct field_errors errs = {0};

	if (!path_order_id(req, &c.id) || !optional_body(req, &body))
		return;
	if (body && !field_parse(body, NULL, 0, NULL, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	set_actor(req, &c);
	run_change(req, &c);
}

/* --- internal routes -------------------------------------------------------------------- */

/* What the payment service needs: the amount to charge and whose order it is. */
void orders_internal_get(struct request *req)
{
	int64_t id;
	struct order_row o;
	int rc = req_path_id(req, "id", &id) ? repo_order_get(req->ctx->db, id, &o) : 1;

	if (resp_lookup_failed(req, req->ctx->db, rc, ORDER_NOT_FOUND))
		return;
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "id", json_object_new_int64(o.id));
	json_object_object_add(j, "order_ref", json_object_new_string(o.order_ref));
	json_object_object_add(j, "user_id", json_object_new_int64(o.user_id));
	json_object_object_add(j, "email", json_object_new_string(o.email));
	json_object_object_add(j, "status", json_object_new_string(o.status));
	json_object_object_add(j, "total", json_object_new_int64(o.total));
	json_object_object_add(j, "currency", json_object_new_string(o.currency));
	order_view_add_str(j, "payment_id", o.has_payment, o.payment_id);
	order_view_add_str(j, "expires_at", strcmp(o.status, "pending_payment") == 0, o.expires_at);
	resp_json(req, 200, j);
	json_object_put(j);
}

void orders_internal_paid(struct request *req)
{
	struct paid_body {
		const char *payment_id, *currency;
		int64_t amount;
	} b = {0};
	static const struct field_spec specs[] = {
		{"payment_id", FIELD_T_STRING, true, 1, 64, offsetof(struct paid_body, payment_id), false},
		{"amount", FIELD_T_I64, true, 0, INT64_MAX, offsetof(struct paid_body, amount), false},
		{"currency", FIELD_T_STRING, true, 3, 3, offsetof(struct paid_body, currency), false},
	};
	struct change c = {.ev = ORDER_EV_PAY, .by = ORDER_BY_PAYMENT, .actor = "payment"};
	struct json_object *body;
	struct field_errors errs = {0};

	if (!path_order_id(req, &c.id) || !(body = req_json_body(req, 0)))
		return;
	if (!field_parse(body, specs, 3, &b, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	c.payment_id = b.payment_id;
	c.amount = b.amount;
	c.currency = b.currency;
	run_change(req, &c);
}

/*
 * POST /internal/order/paid {"items":[{"order_id","payment_id","amount","currency"}, ...],
 * "request_ids":[...]}: the payment service's "paid" calls of one relay round (lib/outbox batch
 * rows). Each item is the change POST /internal/order/orders/{id}/paid makes, in a transaction
 * of its own, and is judged on its own: {"items":[{"order_id","status","code"?,
 * "current_status"?}]} in the call's order, status 200 (paid, or already paid by this payment),
 * 404 or 409 (refused for good: the payment service refunds), 422 invalid_item (not a valid
 * paid call: refused on its own, the others still done), 503 (the database failed: the relay
 * sends that item again). Only a wrong envelope (see outbox_batch_items) is refused whole.
 */
void orders_internal_paid_batch(struct request *req)
{
	struct paid_item {
		int64_t order_id, amount;
		const char *payment_id, *currency;
	};
	static const struct field_spec specs[] = {
		{"order_id", FIELD_T_I64, true, 1, ID_MAX, offsetof(struct paid_item, order_id), false},
		{"payment_id", FIELD_T_STRING, true, 1, 64, offsetof(struct paid_item, payment_id), false},
		{"amount", FIELD_T_I64, true, 0, INT64_MAX, offsetof(struct paid_item, amount), false},
		{"currency", FIELD_T_STRING, true, 3, 3, offsetof(struct paid_item, currency), false},
	};
	struct field_errors errs = {0};
	struct json_object *body, *rids, *items;

	if (!(body = req_json_body(req, 0)))
		return;
	if (!(items = outbox_batch_items(body, "{order_id, payment_id, amount, currency}", &rids, &errs))) {
		resp_invalid(req, &errs);
		return;
	}
	size_t n = json_object_array_length(items);
	struct json_object *answer = json_object_new_object(), *list = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++) {
		struct paid_item it = {0};
		struct field_errors item_errs = {0};
		if (!outbox_batch_item(items, i, specs, sizeof(specs) / sizeof(specs[0]), &it,
				       "{order_id, payment_id, amount, currency}", &item_errs)) {
			struct json_object *bad = json_object_new_object();
			outbox_item_invalid(bad, outbox_batch_rid(rids, i), &item_errs);
			json_object_array_add(list, bad);
			continue;
		}
		struct change c = {.id = it.order_id, .ev = ORDER_EV_PAY, .by = ORDER_BY_PAYMENT, .actor = "payment",
				   .payment_id = it.payment_id, .amount = it.amount, .currency = it.currency,
				   .request_id = outbox_batch_rid(rids, i)};
		const char *code = NULL, *detail;
		char buf[128];
		int rc = change_run(req->ctx->db, &c), status = 200;
		if (rc != 0 && !(status = change_problem(rc, &c, &code, &detail, buf, sizeof(buf)))) {
			log_msg(LOG_WARN, c.request_id, "paid order %lld (payment %s): %s", (long long)c.id, c.payment_id,
				req->ctx->db->errstr);
			status = 503;
			code = "unavailable";
		} else if (status != 200) {
			log_msg(LOG_WARN, c.request_id, "paid order %lld (payment %s) refused: %s", (long long)c.id,
				c.payment_id, code);
		}
		struct json_object *r = json_object_new_object();
		json_object_object_add(r, "order_id", json_object_new_int64(c.id));
		outbox_item_judge(r, status, code);
		if (code && strcmp(code, "invalid_transition") == 0)
			json_object_object_add(r, "current_status", json_object_new_string(c.found));
		json_object_array_add(list, r);
	}
	json_object_object_add(answer, "items", list);
	resp_json(req, 200, answer);
	json_object_put(answer);
}

void orders_internal_refunded(struct request *req)
{
	struct refund_body {
		const char *refund_id;
	} b = {0};
	static const struct field_spec specs[] = {
		{"refund_id", FIELD_T_STRING, false, 1, 64, offsetof(struct refund_body, refund_id), false},
	};
	struct change c = {.ev = ORDER_EV_REFUNDED, .by = ORDER_BY_PAYMENT, .actor = "payment"};
	struct json_object *body;
	struct field_errors errs = {0};
	char reason[96];

	if (!path_order_id(req, &c.id) || !optional_body(req, &body))
		return;
	if (body && !field_parse(body, specs, 1, &b, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	if (b.refund_id) {
		snprintf(reason, sizeof(reason), "refund %s", b.refund_id);
		c.reason = reason;
	}
	run_change(req, &c);
}

/* For the review service: may this user review this product (a delivered order holds it)? */
void orders_internal_delivered_with(struct request *req)
{
	int64_t uid, pid;
	bool yes;

	if (!req_path_id(req, "user_id", &uid) || !req_path_id(req, "product_id", &pid)) {
		resp_problem(req, 404, "not_found", "No such user or product.");
		return;
	}
	if (repo_delivered_with(req->ctx->db, uid, pid, &yes) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *j = json_object_new_object();
	json_object_object_add(j, "user_id", json_object_new_int64(uid));
	json_object_object_add(j, "product_id", json_object_new_int64(pid));
	json_object_object_add(j, "delivered", json_object_new_boolean(yes));
	resp_json(req, 200, j);
	json_object_put(j);
}

/* --- the expiry sweeper ----------------------------------------------------------------- */

struct sweep {
	size_t expired; /* out */
};

/* Locks up to EXPIRY_BATCH due orders (rows locked by another instance, or by a payment in
 * progress, are skipped) and expires each: one transition, exactly once across instances. */
static int expiry_tx(struct db_conn *db, void *arg)
{
	struct sweep *sw = arg;
	struct db_rows *due;
	struct order_row o;
	int rc = 0;

	sw->expired = 0;
	if (repo_orders_due(db, EXPIRY_BATCH, &due) != 0)
		return -1;
	for (size_t i = 0; i < due->nrows && rc == 0; i++) {
		struct change c = {.ev = ORDER_EV_EXPIRE, .by = ORDER_BY_SYSTEM, .actor = "system",
				   .reason = "unpaid after its time limit", .request_id = "-"};
		if ((rc = repo_order_get(db, db_cell_i64(due, i, 0, 0), &o)) != 0)
			break;
		rc = apply_change(db, &o, &c);
		if (rc == 0)
			sw->expired++;
	}
	db_rows_free(due);
	if (rc > 0) { /* a locked pending order refused to expire: cannot happen, but say so */
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "an expiring order refused its transition (%d)", rc);
		rc = -1;
	}
	return rc;
}

void orders_expiry_loop(struct ctx *ctx)
{
	unsigned long rounds = 0;
	struct log_streak sweep = {.what = "order expiry sweep"}, purge = {.what = "idempotency key purge"};

	while (!server_stopping()) {
		struct sweep sw;
		if (db_tx(ctx->db, expiry_tx, &sw) != 0) {
			log_streak_fail(&sweep, ctx->db->errstr);
		} else {
			log_streak_ok(&sweep);
			if (sw.expired) {
				log_msg(LOG_INFO, NULL, "order expiry: %zu orders expired", sw.expired);
				if (sw.expired == EXPIRY_BATCH)
					continue; /* more are waiting */
			}
		}
		/* About once an hour, forget keys old enough that no client retries them. */
		if (++rounds % 3600 == 1) {
			if (idem_purge(ctx->db, IDEM_KEEP_HOURS) < 0)
				log_streak_fail(&purge, ctx->db->errstr);
			else
				log_streak_ok(&purge);
		}
		for (int i = 0; i < 10 && !server_stopping(); i++)
			clock_sleep_ms(100);
	}
}
