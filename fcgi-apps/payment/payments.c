/* payments.c: paying an order by card, refunds, reads, and the sweeper that keeps money and orders in step. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../user/user_client.h"
#include "auth.h"
#include "card.h"
#include "clock.h"
#include "config.h"
#include "ctx.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "idem.h"
#include "lists.h"
#include "log.h"
#include "order_port.h"
#include "outbox.h"
#include "parse.h"
#include "problem.h"
#include "provider.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "server.h"

#define PAYMENT_NOT_FOUND "No such payment."
#define STALE_PROCESSING_S 300
#define STALE_REFUND_S 60

struct payment_settings payment_settings;
const struct payment_provider *payment_provider;

static void not_found(struct request *req)
{
	resp_problem(req, 404, "not_found", PAYMENT_NOT_FOUND);
}

static struct json_object *payment_json(const struct payment *p)
{
	struct json_object *o = json_object_new_object(), *card = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(p->id));
	json_object_object_add(o, "order_id", json_object_new_int64(p->order_id));
	json_object_object_add(o, "user_id", json_object_new_int64(p->user_id));
	json_object_object_add(o, "amount", json_object_new_int64(p->amount));
	json_object_object_add(o, "currency", json_object_new_string(p->currency));
	json_object_object_add(o, "status", json_object_new_string(p->status));
	json_object_object_add(o, "refunded", json_object_new_int64(p->refunded));
	json_object_object_add(card, "brand", json_object_new_string(p->brand));
	json_object_object_add(card, "last4", json_object_new_string(p->last4));
	json_object_object_add(card, "exp_month", json_object_new_int64(p->exp_month));
	json_object_object_add(card, "exp_year", json_object_new_int64(p->exp_year));
	json_object_object_add(o, "card", card);
	json_object_object_add(o, "decline_code", p->decline_code[0] ? json_object_new_string(p->decline_code) : NULL);
	json_object_object_add(o, "created_at", json_object_new_string(p->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(p->updated_at));
	return o;
}

/* The payment with its refunds, or NULL after writing the 404/5xx. */
static struct json_object *payment_full(struct request *req, int64_t id, int64_t owner)
{
	struct payment p;
	struct db_rows *r;
	int rc = repo_payment_get(req->ctx->db, id, owner, &p);
	if (resp_lookup_failed(req, req->ctx->db, rc, PAYMENT_NOT_FOUND))
		return NULL;
	if (repo_refunds_of(req->ctx->db, id, &r) != 0) {
		resp_db_error(req, req->ctx->db);
		return NULL;
	}
	struct json_object *o = payment_json(&p), *list = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		struct json_object *it = json_object_new_object();
		json_object_object_add(it, "id", json_object_new_int64(db_cell_i64(r, i, 0, 0)));
		json_object_object_add(it, "amount", json_object_new_int64(db_cell_i64(r, i, 1, 0)));
		json_object_object_add(it, "reason", json_object_new_string(db_cell(r, i, 2)));
		json_object_object_add(it, "status", json_object_new_string(db_cell(r, i, 3)));
		json_object_object_add(it, "created_at", json_object_new_string(db_cell(r, i, 4)));
		json_object_array_add(list, it);
	}
	db_rows_free(r);
	json_object_object_add(o, "refunds", list);
	return o;
}

/* "12.99 EUR" for the e-mails (currencies without minor units written whole). */
static void money_text(int64_t minor, const char *currency, char *buf, size_t len)
{
	static const char *const whole[] = {"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF", NULL};
	for (const char *const *c = whole; *c; c++) {
		if (strcmp(*c, currency) == 0) {
			snprintf(buf, len, "%lld %s", (long long)minor, currency);
			return;
		}
	}
	snprintf(buf, len, "%lld.%02lld %s", (long long)(minor / 100), (long long)(minor % 100), currency);
}

/* --- POST /api/v1/payments ------------------------------------------------------------- */

struct pay_in {
	int64_t order_id;
	struct json_object *card;
};

struct card_in {
	const char *number, *cvc, *holder;
	int64_t exp_month, exp_year;
};

static const struct field_spec pay_specs[] = {
	{"order_id", FIELD_T_I64, true, 1, ID_MAX, offsetof(struct pay_in, order_id), false},
	{"card", FIELD_T_OBJECT, true, 1, 5, offsetof(struct pay_in, card), false},
};

static const struct field_spec card_specs[] = {
	{"number", FIELD_T_STRING, true, 1, 40, offsetof(struct card_in, number), false},
	{"exp_month", FIELD_T_I64, true, 1, 12, offsetof(struct card_in, exp_month), false},
	{"exp_year", FIELD_T_I64, true, 2000, 2200, offsetof(struct card_in, exp_year), false},
	{"cvc", FIELD_T_STRING, true, 1, 8, offsetof(struct card_in, cvc), false},
	{"holder", FIELD_T_STRING, false, 1, 100, offsetof(struct card_in, holder), false},
};

/* Overwrites a string member of a parsed body in place (json-c owns the bytes). */
static void wipe_member(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (o && json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string))
		explicit_bzero((char *)json_object_get_string(v), (size_t)json_object_get_string_len(v));
}

/* The card's secrets leave memory: the parsed strings and the raw body. */
static void wipe_request(struct request *req, struct json_object *card_obj, struct card *card)
{
	wipe_member(card_obj, "number");
	wipe_member(card_obj, "cvc");
	if (req->body)
		explicit_bzero(req->body, req->body_len);
	card_wipe(card);
}

/* Writes and stores the answer of a payment attempt. `o` is consumed. */
static void answer(struct request *req, const struct idem *id, int status, struct json_object *o, const char *location)
{
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	int rc = idem_finish(req->ctx->db, id, status, text, location);
	if (rc < 0)
		log_msg(LOG_ERROR, req->request_id, "payment answer not stored for replays: %s", req->ctx->db->errstr);
	else if (rc > 0)
		log_msg(LOG_WARN, req->request_id, "payment answer not stored: a retry took the key over meanwhile");
	if (location)
		resp_header(req, "Location", location);
	if (status >= 400)
		resp_problem_obj(req, o);
	else
		resp_json(req, status, o);
	json_object_put(o);
}

static void answer_problem(struct request *req, const struct idem *id, int status, const char *code,
			   const char *detail)
{
	answer(req, id, status, problem_new(status, code, detail, req->request_id, NULL), NULL);
}

struct settle {
	int64_t payment_id, order_id, amount;
	const char *currency;
	const struct provider_outcome *out;
	const struct user_brief *user;
	const char *request_id;
};

/* The charge's outcome and what it causes, in one transaction: succeeded → the order service is
 * told through the outbox; declined → the shopper is told by e-mail; temporary → failed. */
static int settle_tx(struct db_conn *db, void *arg)
{
	const struct settle *s = arg;
	int rc;

	switch (s->out->result) {
	case PROVIDER_SUCCEEDED: {
		if ((rc = repo_payment_succeed(db, s->payment_id, s->out->ref)) <= 0)
			return rc < 0 ? -1 : 409;
		struct json_object *item = json_object_new_object();
		struct outbox_rows rows = {0};
		char pid[24];
		snprintf(pid, sizeof(pid), "%lld", (long long)s->payment_id);
		json_object_object_add(item, "order_id", json_object_new_int64(s->order_id));
		json_object_object_add(item, "payment_id", json_object_new_string(pid));
		json_object_object_add(item, "amount", json_object_new_int64(s->amount));
		json_object_object_add(item, "currency", json_object_new_string(s->currency));
		rc = outbox_rows_batch(db, &rows, ORDER_PAID_BATCH, item, s->request_id);
		json_object_put(item);
		return rc != 0 ? rc : outbox_rows_write(db, &rows);
	}
	case PROVIDER_DECLINED: {
		if ((rc = repo_payment_fail(db, s->payment_id, "declined", s->out->reason)) <= 0)
			return rc < 0 ? -1 : 409;
		struct json_object *data = json_object_new_object();
		char oid[24];
		snprintf(oid, sizeof(oid), "%lld", (long long)s->order_id);
		json_object_object_add(data, "name", json_object_new_string(s->user->name));
		json_object_object_add(data, "order_id", json_object_new_string(oid));
		rc = outbox_add_job(db, "payment_failed", s->user->email, data, s->request_id);
		json_object_put(data);
		return rc;
	}
	default:
		rc = repo_payment_fail(db, s->payment_id, "failed", s->out->reason);
		return rc < 0 ? -1 : rc == 0 ? 409 : 0;
	}
}

/* The request without the card's secrets, for the idempotency record. */
static void fingerprint(char *buf, size_t len, int64_t order_id, const struct card *c)
{
	snprintf(buf, len, "order=%lld;card=%s/%s/%02d/%04d", (long long)order_id, c->brand, c->last4, c->exp_month,
		 c->exp_year);
}

void payments_create(struct request *req)
{
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	struct pay_in in = {0};
	struct card_in ci = {0};
	struct card card = {0};
	struct idem id;
	char fp[128], location[64];
	time_t now = time(NULL);
	struct tm tm;

	if (!body)
		return;
	field_parse(body, pay_specs, sizeof(pay_specs) / sizeof(pay_specs[0]), &in, NULL, NULL, &errs);
	if (in.card) {
		struct field_errors ce = {0};
		field_parse(in.card, card_specs, sizeof(card_specs) / sizeof(card_specs[0]), &ci, NULL, NULL, &ce);
		problem_add_nested(&errs, "card", &ce);
		gmtime_r(&now, &tm);
		if (!ce.n)
			card_check(&card, ci.number, ci.exp_month, ci.exp_year, ci.cvc, tm.tm_year + 1900, tm.tm_mon + 1,
				   &errs);
	}
	if (errs.n) {
		wipe_request(req, in.card, &card);
		resp_invalid(req, &errs);
		return;
	}
	fingerprint(fp, sizeof(fp), in.order_id, &card);
	if (!idem_begin(req, req->ctx->db, req->user_id, "POST /api/v1/payments", fp, strlen(fp), IDEM_LEASE_S, &id)) {
		wipe_request(req, in.card, &card);
		return;
	}
	/* From here the card exists only in `card`; the body and the parsed strings are gone. */
	wipe_request(req, in.card, &(struct card){0});

	/* The amount and currency come from the order, never from the client. */
	struct order_brief ob;
	struct user_brief ub;
	int rc = order_port_get(req->ctx->client, req->request_id, in.order_id, &ob);
	if (rc < 0 || (rc == 0 && ob.user_id == req->user_id &&
		       user_client_caller(req, &ub) != 0)) {
		card_wipe(&card);
		idem_release(req->ctx->db, &id);
		resp_unavailable(req, rc < 0 ? "order service" : "user service");
		return;
	}
	if (rc > 0 || ob.user_id != req->user_id) {
		card_wipe(&card);
		answer_problem(req, &id, 404, "not_found", "No such order.");
		return;
	}
	if (strcmp(ob.status, "pending_payment") != 0) {
		card_wipe(&card);
		char detail[128];
		snprintf(detail, sizeof(detail), "The order is %s; only an order pending payment can be paid.", ob.status);
		answer_problem(req, &id, 409, "order_not_payable", detail);
		return;
	}
	struct payment p = {.order_id = ob.id, .user_id = req->user_id, .amount = ob.total,
			    .exp_month = card.exp_month, .exp_year = card.exp_year};
	snprintf(p.currency, sizeof(p.currency), "%s", ob.currency);
	snprintf(p.provider, sizeof(p.provider), "%s", payment_provider->name);
	snprintf(p.brand, sizeof(p.brand), "%s", card.brand);
	snprintf(p.last4, sizeof(p.last4), "%s", card.last4);
	snprintf(p.email, sizeof(p.email), "%s", ub.email);
	snprintf(p.customer_name, sizeof(p.customer_name), "%s", ub.name);
	if (repo_payment_start(req->ctx->db, &p) != 0) {
		card_wipe(&card);
		if (req->ctx->db->err == DB_DUPLICATE) {
			answer_problem(req, &id, 409, "already_paid",
				       "This order already has a payment that succeeded or is under way.");
			return;
		}
		idem_release(req->ctx->db, &id);
		resp_db_error(req, req->ctx->db);
		return;
	}

	char key[32];
	struct provider_outcome out;
	snprintf(key, sizeof(key), "pay_%lld", (long long)p.id);
	payment_provider->charge(&card, p.amount, p.currency, key, &out);
	card_wipe(&card);

	struct settle s = {p.id, p.order_id, p.amount, p.currency, &out, &ub, req->request_id};
	rc = db_tx(req->ctx->db, settle_tx, &s);
	if (rc != 0) {
		/* The provider answered but its outcome is not recorded: the payment stays
		 * `processing` and the sweeper fails it (a charge that succeeded is then visible to
		 * staff in the log line below, with the provider's reference, for reconciliation). */
		log_msg(LOG_ERROR, req->request_id, "payment %lld: outcome %d (ref %s) not recorded: %s", (long long)p.id,
			(int)out.result, out.ref, req->ctx->db->errstr);
		idem_release(req->ctx->db, &id);
		resp_db_error(req, req->ctx->db);
		return;
	}
	if (out.result == PROVIDER_DECLINED) {
		struct json_object *pr = problem_new(402, out.reason, "The card was declined.", req->request_id, NULL);
		json_object_object_add(pr, "payment_id", json_object_new_int64(p.id));
		answer(req, &id, 402, pr, NULL);
		return;
	}
	if (out.result == PROVIDER_TEMPORARY) {
		struct json_object *pr = problem_new(502, "provider_unavailable",
						     "The payment provider could not answer; nothing was charged. Try again with a new Idempotency-Key.",
						     req->request_id, NULL);
		json_object_object_add(pr, "payment_id", json_object_new_int64(p.id));
		answer(req, &id, 502, pr, NULL);
		return;
	}
	log_msg(LOG_INFO, req->request_id, "payment %lld: order %lld charged %lld %s", (long long)p.id,
		(long long)p.order_id, (long long)p.amount, p.currency);
	if (repo_payment_get(req->ctx->db, p.id, 0, &p) != 0) {
		/* Paid and recorded; only the read back failed. */
		snprintf(p.status, sizeof(p.status), "succeeded");
	}
	snprintf(location, sizeof(location), "/api/v1/payments/%lld", (long long)p.id);
	answer(req, &id, 201, payment_json(&p), location);
}

/* --- reads ----------------------------------------------------------------------------- */

void payments_list(struct request *req)
{
	static const char *const statuses[] = {"processing", "succeeded", "declined", "failed",
					       "partially_refunded", "refunded", NULL};
	struct field_errors errs = {0};
	struct list_params lp;
	int64_t order_id = 0, total;
	const char *status = req_query(req, "status");
	struct db_rows *r;

	list_params_parse(req, &lp, &errs);
	req_query_i64(req, "order_id", 1, ID_MAX, 0, &order_id, &errs);
	if (status) {
		bool ok = false;
		for (const char *const *s = statuses; *s; s++)
			ok = ok || strcmp(*s, status) == 0;
		if (!ok)
			problem_add(&errs, "status", "must be one of processing, succeeded, declined, failed, "
						     "partially_refunded, refunded");
	}
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	/* Shoppers see their own payments only; staff see everyone's. */
	int64_t owner = req->role == ROLE_ADMIN ? 0 : req->user_id;
	if (repo_payments_list(req->ctx->db, owner, order_id, status, lp.limit, lp.offset, &r, &total) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		struct payment p;
		repo_payment_fill(r, i, &p);
		json_object_array_add(items, payment_json(&p));
	}
	db_rows_free(r);
	struct json_object *o = list_envelope(items, total, &lp);
	resp_json(req, 200, o);
	json_object_put(o);
}

void payments_get(struct request *req)
{
	int64_t id;
	if (!req_path_id(req, "id", &id) || id > ID_MAX) {
		not_found(req);
		return;
	}
	struct json_object *o = payment_full(req, id, req->role == ROLE_ADMIN ? 0 : req->user_id);
	if (!o)
		return;
	resp_json(req, 200, o);
	json_object_put(o);
}

/* --- refunds ----------------------------------------------------------------------------- */

/* The actor of the refunds the service makes on its own (refund_refused). */
#define REFUND_ACTOR_SELF "payment-service"

enum { REFUND_NONE_LEFT = 409, REFUND_NO_PAYMENT = 404, REFUND_ENDED_BEFORE = 1, REFUND_DONE_BEFORE = 2 };

struct refund_job {
	int64_t payment_id, order_id; /* order_id: find the payment by order (payment_id 0) */
	int64_t amount;               /* 0: all that is left */
	const char *reason, *actor;
	/* A staff request with an Idempotency-Key: "<caller>:<key>" (NULL: none), and whether this
	 * run took the key over from one that died (which may have made the refund already). */
	const char *request_ref;
	bool takes_over;
	/* out */
	int64_t refund_id, taken, paid_id;
	char charge_ref[65], currency[4];
};

static int reserve_tx(struct db_conn *db, void *arg)
{
	struct refund_job *j = arg;
	struct payment p;
	int rc;

	j->refund_id = j->taken = 0;
	if (j->order_id) {
		rc = repo_payment_of_order_locked(db, j->order_id, &p);
	} else {
		rc = repo_payment_get(db, j->payment_id, 0, &p);
	}
	if (rc != 0)
		return rc < 0 ? -1 : REFUND_NO_PAYMENT;
	j->paid_id = p.id;
	snprintf(j->charge_ref, sizeof(j->charge_ref), "%s", p.provider_ref);
	snprintf(j->currency, sizeof(j->currency), "%s", p.currency);
	if (j->request_ref) {
		/* A run before this one may have made the refund: pending, it is ended here (the provider
		 * is asked again under the same refund key, so it refunds once); succeeded, a run that
		 * took the key over answers it. A succeeded refund met by a new key was made under a key
		 * since purged: it lets go of the name. */
		struct refund_row rr;
		if ((rc = repo_refund_by_ref(db, j->request_ref, &rr)) < 0)
			return -1;
		bool pending = rc == 0 && strcmp(rr.status, "pending") == 0;
		if (rc == 0 && rr.payment_id == p.id && (pending || j->takes_over)) {
			j->refund_id = rr.id;
			j->taken = rr.amount;
			return pending ? 0 : REFUND_DONE_BEFORE;
		}
		if (rc == 0 && repo_refund_untag(db, j->request_ref) != 0)
			return -1;
	}
	j->taken = j->amount ? j->amount : p.amount - p.refunded;
	if (j->taken <= 0)
		return REFUND_NONE_LEFT;
	rc = repo_refund_reserve(db, p.id, j->taken, j->reason, j->actor, j->request_ref, &j->refund_id);
	return rc < 0 ? -1 : rc > 0 ? REFUND_NONE_LEFT : 0;
}

/* Who hears of a refund that succeeded: the order service (the refund of a paid order, asked by
 * staff or by the order service), or, for one the service made on its own of a payment the
 * order service refused, the shopper alone, by e-mail (`shopper` set). */
struct refund_end {
	const struct refund_job *j;
	const struct provider_outcome *out;
	const struct user_brief *shopper;
	const char *request_id;
};

/* The name the shopper of `p` is greeted by: as kept with the payment. */
static const char *shopper_name(const struct payment *p)
{
	return p->customer_name[0] ? p->customer_name : "customer";
}

/* The e-mail `type` (payment_refunded, refund_issued) to `email`, `name`, of a refund of `amount`
 * of payment `p`. */
static int mail_refund(struct db_conn *db, const char *type, const char *email, const char *name,
		       const struct payment *p, int64_t amount, const char *request_id)
{
	char money[48], oid[24];
	struct json_object *data = json_object_new_object();
	money_text(amount, p->currency, money, sizeof(money));
	snprintf(oid, sizeof(oid), "%lld", (long long)p->order_id);
	json_object_object_add(data, "name", json_object_new_string(name));
	json_object_object_add(data, "order_id", json_object_new_string(oid));
	json_object_object_add(data, "amount", json_object_new_string(money));
	int rc = outbox_add_job(db, type, email, data, request_id);
	json_object_put(data);
	return rc;
}

static int refund_end_tx(struct db_conn *db, void *arg)
{
	const struct refund_end *e = arg;
	/* Either writes nothing when another run (the request, or another instance's sweeper)
	 * ended the refund first: REFUND_ENDED_BEFORE. */
	int rc = e->out->result != PROVIDER_SUCCEEDED
			 ? repo_refund_failed(db, e->j->refund_id, e->j->paid_id, e->j->taken)
			 : repo_refund_done(db, e->j->refund_id, e->j->paid_id, e->out->ref);
	if (rc != 0 || e->out->result != PROVIDER_SUCCEEDED)
		return rc > 0 ? REFUND_ENDED_BEFORE : rc;
	struct payment p;
	if (repo_payment_get(db, e->j->paid_id, 0, &p) != 0)
		return -1;
	/* The e-mails are queued in the transaction that records the refund: sent once, whoever ends
	 * it (the request, or a sweeper). */
	if (e->shopper)
		return e->shopper->email[0] ? mail_refund(db, "payment_refunded", e->shopper->email, e->shopper->name,
							  &p, e->j->taken, e->request_id)
					    : 0;
	/* A part given back: its shopper learns the amount (a payment made before its contact was
	 * kept tells no one). The whole: the order service tells them, with the order's news. */
	if (strcmp(p.status, "refunded") != 0)
		return p.email[0] ? mail_refund(db, "refund_issued", p.email, shopper_name(&p), &p, e->j->taken,
						e->request_id)
				  : 0;
	char path[96], rid[24];
	struct json_object *body = json_object_new_object();
	snprintf(rid, sizeof(rid), "%lld", (long long)e->j->refund_id);
	json_object_object_add(body, "refund_id", json_object_new_string(rid));
	snprintf(path, sizeof(path), ORDER_REFUNDED_PATH, (long long)p.order_id);
	rc = outbox_add_call(db, "POST", path, body, e->request_id);
	json_object_put(body);
	return rc;
}

/*
 * Refunds through the provider: reserves the amount (concurrent refunds never exceed the
 * charge), asks the provider (idempotent by the refund's id), records the outcome. Returns 0
 * (refunded), REFUND_NO_PAYMENT, REFUND_NONE_LEFT, 502 (the provider refused or could not
 * answer; the amount is refundable again), or -1 (database).
 */
static int refund(struct ctx *ctx, const char *rid, struct refund_job *j, const struct user_brief *shopper)
{
	int rc = db_tx(ctx->db, reserve_tx, j);
	if (rc != 0)
		return rc;
	char key[32];
	struct provider_outcome out;
	snprintf(key, sizeof(key), "ref_%lld", (long long)j->refund_id);
	payment_provider->refund(j->charge_ref, j->taken, j->currency, key, &out);
	struct refund_end e = {j, &out, shopper, rid};
	rc = db_tx(ctx->db, refund_end_tx, &e);
	if (rc == REFUND_ENDED_BEFORE) {
		/* Another run (the sweeper, or a run this one took over from) recorded the outcome
		 * first: that outcome is the answer, whatever the provider told this run. */
		char status[12];
		if (repo_refund_status(ctx->db, j->refund_id, status, sizeof(status)) != 0)
			return -1;
		bool ok = strcmp(status, "succeeded") == 0;
		if (ok != (out.result == PROVIDER_SUCCEEDED))
			log_msg(LOG_ERROR, rid,
				"refund %lld: recorded %s by another run, but the provider answered this one %s: "
				"reconcile with the provider",
				(long long)j->refund_id, status, out.result == PROVIDER_SUCCEEDED ? "succeeded" : out.reason);
		else
			log_msg(LOG_WARN, rid, "refund %lld: ended meanwhile by another run; its outcome stands",
				(long long)j->refund_id);
		return ok ? 0 : 502;
	} else if (rc != 0) {
		/* Left pending: the sweeper asks the provider again (same key, no second refund). */
		log_msg(LOG_ERROR, rid, "refund %lld: outcome not recorded: %s", (long long)j->refund_id, ctx->db->errstr);
		return -1;
	}
	if (out.result != PROVIDER_SUCCEEDED) {
		log_msg(LOG_WARN, rid, "refund %lld refused by the provider: %s", (long long)j->refund_id, out.reason);
		return 502;
	}
	log_msg(LOG_INFO, rid, "refund %lld: payment %lld refunded %lld %s", (long long)j->refund_id,
		(long long)j->paid_id, (long long)j->taken, j->currency);
	return 0;
}

struct refund_in {
	int64_t amount;
	const char *reason;
};

static const struct field_spec refund_specs[] = {
	{"amount", FIELD_T_I64, true, 1, INT64_C(9007199254740991), offsetof(struct refund_in, amount), false}, /* a total's highest: 2^53 - 1 */
	{"reason", FIELD_T_STRING, true, 1, 200, offsetof(struct refund_in, reason), false},
};

static void refund_failed(struct request *req, int rc)
{
	if (rc == REFUND_NO_PAYMENT)
		not_found(req);
	else if (rc == REFUND_NONE_LEFT)
		resp_problem(req, 409, "refund_exceeds_payment",
			     "The payment took no money, or less is left to refund than asked.");
	else if (rc == 502)
		resp_problem(req, 502, "provider_unavailable", "The payment provider refused or could not refund; try again.");
	else
		resp_db_error(req, req->ctx->db);
}

/* The answer of a refund request under an Idempotency-Key (`id`; NULL: none) after refund()
 * returned `rc`: answers that a retry would get again are kept for replays; after a failure a
 * retry may overcome, the key is let go, and the retry takes it over: it ends a refund left
 * pending, answers one that succeeded, and makes a new one after one that failed. */
static void refund_answer(struct request *req, const struct idem *id, int64_t payment_id, int rc)
{
	char location[96];
	struct json_object *o;

	if (rc != 0 && rc != REFUND_DONE_BEFORE) {
		if (id && (rc == REFUND_NO_PAYMENT || rc == REFUND_NONE_LEFT)) {
			struct json_object *p =
				rc == REFUND_NO_PAYMENT
					? problem_new(404, "not_found", "No such payment.", req->request_id, NULL)
					: problem_new(409, "refund_exceeds_payment",
						      "The payment took no money, or less is left to refund than asked.",
						      req->request_id, NULL);
			answer(req, id, rc, p, NULL);
			return;
		}
		/* Not forgotten: a retry takes the key over and finds what this run left under it. */
		if (id)
			idem_let_go(req->ctx->db, id);
		refund_failed(req, rc);
		return;
	}
	if (!(o = payment_full(req, payment_id, 0))) {
		if (id)
			idem_let_go(req->ctx->db, id);
		return;
	}
	snprintf(location, sizeof(location), "/api/v1/payments/%lld", (long long)payment_id);
	if (id) {
		answer(req, id, 201, o, location);
		return;
	}
	resp_header(req, "Location", location);
	resp_json(req, 201, o);
	json_object_put(o);
}

void refunds_create(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct refund_in in = {0};
	char actor[40], scope[64], request_ref[IDEM_KEY_MAX + 24];
	struct idem id;
	bool keyed = req_header(req, "Idempotency-Key") != NULL;
	int64_t pid;

	if (!req_path_id(req, "id", &pid) || pid > ID_MAX) {
		not_found(req);
		return;
	}
	/* The key is optional here (staff tools that retry send one); when sent, it is judged
	 * before the body, and claimed only for a valid body. */
	if ((keyed && !idem_key_header(req)) || !(body = req_json_body(req, 0)))
		return;
	if (!field_parse(body, refund_specs, sizeof(refund_specs) / sizeof(refund_specs[0]), &in, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	snprintf(actor, sizeof(actor), "user:%lld", (long long)req->user_id);
	struct refund_job j = {.payment_id = pid, .amount = in.amount, .reason = in.reason, .actor = actor};
	if (keyed) {
		snprintf(scope, sizeof(scope), "POST /api/v1/payments/%lld/refunds", (long long)pid);
		if (!idem_begin(req, req->ctx->db, req->user_id, scope, req->body, req->body_len, IDEM_LEASE_S, &id))
			return;
		snprintf(request_ref, sizeof(request_ref), "%lld:%s", (long long)req->user_id, id.key);
		j.request_ref = request_ref;
		j.takes_over = id.attempt > 1;
	}
	refund_answer(req, keyed ? &id : NULL, pid, refund(req->ctx, req->request_id, &j, NULL));
}

struct internal_refund_in {
	int64_t order_id;
	const char *reason;
};

static const struct field_spec internal_refund_specs[] = {
	{"order_id", FIELD_T_I64, true, 1, ID_MAX, offsetof(struct internal_refund_in, order_id), false},
	{"reason", FIELD_T_STRING, true, 1, 200, offsetof(struct internal_refund_in, reason), false},
};

/* POST /internal/payment/refunds {order_id, reason}: the order was cancelled after it was paid.
 * Refunds what is left of its payment; idempotent by order (a second call finds nothing left). */
void internal_refund_order(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct internal_refund_in in = {0};

	if (!(body = req_json_body(req, 0)))
		return;
	if (!field_parse(body, internal_refund_specs, sizeof(internal_refund_specs) / sizeof(internal_refund_specs[0]),
			 &in, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	struct refund_job j = {.order_id = in.order_id, .reason = in.reason, .actor = "order-service"};
	int rc = refund(req->ctx, req->request_id, &j, NULL);
	if (rc != 0 && rc != REFUND_NONE_LEFT) {
		refund_failed(req, rc);
		return;
	}
	/* Refunded now, or already (a retry): the payment as it stands. */
	struct json_object *o = payment_full(req, j.paid_id, 0);
	if (!o)
		return;
	resp_json(req, 200, o);
	json_object_put(o);
}

/* --- the sweeper ------------------------------------------------------------------------- */

/* The shopper of payment `p`, to e-mail: as kept with the payment, or, for one made before it
 * kept them, from the user service. Returns 0, or -1 when the user service cannot answer. */
static int shopper_of(struct ctx *ctx, const struct payment *p, struct user_brief *ub)
{
	memset(ub, 0, sizeof(*ub));
	if (!p->email[0])
		return user_client_get(ctx->client, "-", p->user_id, ub) < 0 ? -1 : 0;
	ub->id = p->user_id;
	snprintf(ub->email, sizeof(ub->email), "%s", p->email);
	snprintf(ub->name, sizeof(ub->name), "%s", shopper_name(p));
	return 0;
}

/* A payment the order service refused (the order expired or was cancelled while it was
 * charged): the money goes back and the shopper is told. */
static void refund_refused(struct ctx *ctx, int64_t payment_id)
{
	struct payment p;
	struct user_brief ub;
	if (repo_payment_get(ctx->db, payment_id, 0, &p) != 0)
		return;
	/* The e-mail needs the shopper's address: for an old payment without the user service,
	 * next round. */
	if (shopper_of(ctx, &p, &ub) != 0)
		return;
	struct refund_job j = {.payment_id = payment_id, .reason = "the order could not take the payment",
			       .actor = REFUND_ACTOR_SELF};
	int rc = refund(ctx, "-", &j, &ub);
	if (rc != 0) {
		if (rc != REFUND_NONE_LEFT)
			log_msg(LOG_WARN, NULL, "payment %lld: automatic refund not done (%d)", (long long)payment_id, rc);
		return;
	}
	log_msg(LOG_WARN, NULL, "payment %lld: the order service refused it (order %lld); refunded %lld %s",
		(long long)payment_id, (long long)p.order_id, (long long)j.taken, p.currency);
}

/* Refunds interrupted between the provider and the database: ask the provider again with the
 * same key (it refunds once whatever the number of calls) and record what it says. */
static void finish_stale_refunds(struct ctx *ctx, struct log_streak *streak)
{
	struct db_rows *r;
	if (repo_refunds_stale(ctx->db, STALE_REFUND_S, IDEM_LEASE_S, 20, &r) != 0) {
		log_streak_fail(streak, ctx->db->errstr);
		return;
	}
	log_streak_ok(streak);
	for (size_t i = 0; i < r->nrows; i++) {
		struct refund_job j = {.refund_id = db_cell_i64(r, i, 0, 0), .paid_id = db_cell_i64(r, i, 1, 0),
				       .taken = db_cell_i64(r, i, 2, 0)};
		char key[32];
		struct provider_outcome out;
		db_cell_copy(r, i, 3, j.charge_ref, sizeof(j.charge_ref));
		db_cell_copy(r, i, 4, j.currency, sizeof(j.currency));
		/* A refund the service made of a payment the order service refused tells that order
		 * nothing (it never took the payment) but its shopper, as refund_refused() does. */
		char actor[41];
		struct user_brief ub = {0};
		struct payment p;
		db_cell_copy(r, i, 5, actor, sizeof(actor));
		bool self = strcmp(actor, REFUND_ACTOR_SELF) == 0;
		if (self && (repo_payment_get(ctx->db, j.paid_id, 0, &p) != 0 || shopper_of(ctx, &p, &ub) != 0))
			continue;
		snprintf(key, sizeof(key), "ref_%lld", (long long)j.refund_id);
		payment_provider->refund(j.charge_ref, j.taken, j.currency, key, &out);
		struct refund_end e = {&j, &out, self ? &ub : NULL, "-"};
		if (db_tx(ctx->db, refund_end_tx, &e) == 0)
			log_msg(LOG_WARN, NULL, "refund %lld finished after an interruption (%s)", (long long)j.refund_id,
				out.result == PROVIDER_SUCCEEDED ? "refunded" : "refused");
	}
	db_rows_free(r);
}

void payments_sweeper(struct ctx *ctx)
{
	long long next_purge = 0;
	/* While the database is down every step fails each second: each logs its streak, not each round. */
	struct log_streak stale = {.what = "payments interrupted mid-charge: sweep"},
			  refunds = {.what = "interrupted refunds: read"},
			  refused = {.what = "payments refused by the order service: read"},
			  purge = {.what = "idempotency key purge"};
	while (!server_stopping()) {
		long n = repo_payments_fail_stale(ctx->db, STALE_PROCESSING_S);
		if (n < 0)
			log_streak_fail(&stale, ctx->db->errstr);
		else
			log_streak_ok(&stale);
		if (n > 0)
			log_msg(LOG_ERROR, NULL, "%ld payments interrupted mid-charge marked failed: reconcile with the provider", n);
		finish_stale_refunds(ctx, &refunds);
		struct db_rows *r;
		if (repo_payments_refused_by_order(ctx->db, 20, &r) == 0) {
			log_streak_ok(&refused);
			for (size_t i = 0; i < r->nrows && !server_stopping(); i++)
				refund_refused(ctx, db_cell_i64(r, i, 0, 0));
			db_rows_free(r);
		} else {
			log_streak_fail(&refused, ctx->db->errstr);
		}
		if (clock_now_ms() >= next_purge) {
			next_purge = clock_now_ms() + 3600 * 1000LL;
			if (idem_purge(ctx->db, IDEM_KEEP_HOURS) < 0)
				log_streak_fail(&purge, ctx->db->errstr);
			else
				log_streak_ok(&purge);
		}
		for (int i = 0; i < 10 && !server_stopping(); i++)
			clock_sleep_ms(100);
	}
}
