/* reviews.c: reviews of products by verified buyers, helpful votes, moderation, and the ratings they push to the product service. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../product/product_client.h"
#include "../user/user_client.h"
#include "auth.h"
#include "ctx.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "lists.h"
#include "log.h"
#include "order_port.h"
#include "outbox.h"
#include "parse.h"
#include "problem.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "rules.h"

#define REVIEW_NOT_FOUND "No such review."
#define PRODUCT_NOT_FOUND "No such product."
#define TITLE_MAX 120
#define BODY_MAX 5000
#define REASON_MAX 500
/* The product service's route that takes a product's rating (receivers are idempotent). */
#define PRODUCT_RATING_PATH "/internal/product/products/%lld/rating"

/* Refusals of the transactions below (db_tx hands positive codes back without retrying). */
enum {
	TX_GONE = 1,   /* no such review, or not the caller's, or hidden */
	TX_DUPLICATE,  /* the user already reviewed the product */
	TX_OWN,        /* a helpful vote on one's own review */
	TX_ALREADY,    /* a second helpful vote */
	TX_STATE,      /* hide of a hidden review, unhide of a visible one */
};

static void not_found(struct request *req)
{
	resp_problem(req, 404, "not_found", REVIEW_NOT_FOUND);
}

/* The path's {id} as a review or product id in 1..2^53-1; false after writing a 404. */
static bool path_id(struct request *req, int64_t *id, const char *detail)
{
	if (!req_path_id(req, "id", id) || *id > ID_MAX) {
		resp_problem(req, 404, "not_found", detail);
		return false;
	}
	return true;
}

/* Row `i` of a review result set as JSON. `full` adds what only the author and staff see:
 * the author's id, the status and the moderator's reason. Text is sent as stored (JSON
 * strings; nothing is interpreted as HTML here). */
static struct json_object *review_json(const struct db_rows *r, size_t i, bool full)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(db_cell_i64(r, i, RC_ID, 0)));
	json_object_object_add(o, "product_id", json_object_new_int64(db_cell_i64(r, i, RC_PRODUCT_ID, 0)));
	json_object_object_add(o, "rating", json_object_new_int64(db_cell_i64(r, i, RC_RATING, 0)));
	json_object_object_add(o, "title", json_object_new_string(db_cell(r, i, RC_TITLE)));
	json_object_object_add(o, "body", json_object_new_string(db_cell(r, i, RC_BODY)));
	json_object_object_add(o, "author_name", json_object_new_string(db_cell(r, i, RC_AUTHOR)));
	/* Only a buyer with a delivered order can write one. */
	json_object_object_add(o, "verified_purchase", json_object_new_boolean(1));
	json_object_object_add(o, "helpful_count", json_object_new_int64(db_cell_i64(r, i, RC_HELPFUL, 0)));
	json_object_object_add(o, "created_at", json_object_new_string(db_cell(r, i, RC_CREATED_AT)));
	json_object_object_add(o, "updated_at", json_object_new_string(db_cell(r, i, RC_UPDATED_AT)));
	if (full) {
		const char *reason = db_cell(r, i, RC_HIDDEN_REASON);
		json_object_object_add(o, "user_id", json_object_new_int64(db_cell_i64(r, i, RC_USER_ID, 0)));
		json_object_object_add(o, "status", json_object_new_string(db_cell(r, i, RC_STATUS)));
		json_object_object_add(o, "hidden_reason", reason ? json_object_new_string(reason) : NULL);
	}
	return o;
}

static struct json_object *aggregate_json(const struct review_aggregate *a)
{
	char avg[16], star[2] = "0";
	struct json_object *o = json_object_new_object(), *h = json_object_new_object();
	review_avg_text(a->total, a->count, avg, sizeof(avg));
	json_object_object_add(o, "average", json_object_new_double_s(atof(avg), avg));
	json_object_object_add(o, "count", json_object_new_int64(a->count));
	for (int i = 0; i < 5; i++) {
		star[0] = (char)('1' + i);
		json_object_object_add(h, star, json_object_new_int64(a->stars[i]));
	}
	json_object_object_add(o, "histogram", h);
	return o;
}

/* Answers 200 (or `status`) with review `id` as it stands; `full` as in review_json. */
static void answer_review(struct request *req, int status, int64_t id, bool full)
{
	struct db_rows *r;
	int rc = repo_review_get(req->ctx->db, id, false, &r);
	if (resp_lookup_failed(req, req->ctx->db, rc, REVIEW_NOT_FOUND))
		return;
	struct json_object *o = review_json(r, 0, full);
	db_rows_free(r);
	resp_json(req, status, o);
	json_object_put(o);
}

/*
 * Inside a change's transaction, after the change and under the aggregate's lock: recounts the
 * product's visible reviews into its aggregate, and queues the call that gives the product
 * service the new rating (superseding one still pending, so an older value never lands last).
 */
static int recount_and_push(struct db_conn *db, int64_t product_id, const char *request_id)
{
	struct review_aggregate a;
	char path[96], target[112], avg[16];

	if (repo_aggregate_recount(db, product_id, &a) != 0)
		return -1;
	snprintf(path, sizeof(path), PRODUCT_RATING_PATH, (long long)product_id);
	snprintf(target, sizeof(target), "POST %s", path);
	if (repo_outbox_supersede(db, target) != 0)
		return -1;
	review_avg_text(a.total, a.count, avg, sizeof(avg));
	struct json_object *body = json_object_new_object();
	json_object_object_add(body, "rating_avg", json_object_new_double_s(atof(avg), avg));
	json_object_object_add(body, "rating_count", json_object_new_int64(a.count));
	int rc = outbox_add_call(db, "POST", path, body, request_id);
	json_object_put(body);
	return rc;
}

/* true when `product_id` exists and is on sale; otherwise writes the 404 or 503. */
static bool product_on_sale(struct request *req, int64_t product_id)
{
	struct product_brief b;
	size_t found = 0;
	if (product_client_briefs(req->ctx->client, req->request_id, &product_id, 1, &b, &found) != 0) {
		resp_unavailable(req, "product service");
		return false;
	}
	if (found == 0 || b.id != product_id || !product_brief_active(&b)) {
		resp_problem(req, 404, "not_found", PRODUCT_NOT_FOUND);
		return false;
	}
	return true;
}

/* Answers a refusal code of a transaction below (or -1: the database's error). */
static void refused(struct request *req, int rc)
{
	switch (rc) {
	case TX_GONE:
		not_found(req);
		break;
	case TX_OWN:
		resp_problem(req, 403, "own_review", "You cannot vote for your own review.");
		break;
	case TX_ALREADY:
		resp_problem(req, 409, "already_voted", "You already found this review helpful.");
		break;
	default:
		resp_db_error(req, req->ctx->db);
	}
}

/* 409 already_reviewed naming the caller's review of the product in Location and review_id. */
static void already_reviewed(struct request *req, int64_t review_id)
{
	char location[64];
	snprintf(location, sizeof(location), "/api/v1/reviews/%lld", (long long)review_id);
	struct json_object *p = problem_new(409, "already_reviewed",
					    "You already reviewed this product; edit that review instead.",
					    req->request_id, NULL);
	json_object_object_add(p, "review_id", json_object_new_int64(review_id));
	resp_header(req, "Location", location);
	resp_problem_obj(req, p);
	json_object_put(p);
}

/* --- GET /api/v1/products/{id}/reviews ------------------------------------------------- */

void product_reviews_list(struct request *req)
{
	static const char *const allowed[] = {"sort", "rating", "limit", "offset", NULL};
	struct field_errors errs = {0};
	struct list_params lp;
	struct review_aggregate agg;
	enum review_sort sort = REVIEW_SORT_NEWEST;
	int64_t pid, rating = 0, total;
	struct db_rows *r;

	if (!path_id(req, &pid, PRODUCT_NOT_FOUND))
		return;
	req_query_allowed(req, allowed, &errs);
	list_params_parse(req, &lp, &errs);
	req_query_i64(req, "rating", 1, 5, 0, &rating, &errs);
	if (!review_sort_parse(req_query(req, "sort"), &sort))
		problem_add(&errs, "sort", "must be one of newest, oldest, rating_desc, rating_asc, helpful");
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (!product_on_sale(req, pid))
		return;
	if (repo_aggregate_get(req->ctx->db, pid, &agg) != 0 ||
	    repo_reviews_public(req->ctx->db, pid, rating, sort, lp.limit, lp.offset, &r, &total) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++)
		json_object_array_add(items, review_json(r, i, false));
	db_rows_free(r);
	struct json_object *o = list_envelope(items, total, &lp);
	json_object_object_add(o, "product_id", json_object_new_int64(pid));
	json_object_object_add(o, "aggregate", aggregate_json(&agg));
	resp_json(req, 200, o);
	json_object_put(o);
}

/* --- POST /api/v1/products/{id}/reviews -------------------------------------------------- */

struct review_in {
	int64_t rating;
	const char *title, *body;
};

static const struct field_spec create_specs[] = {
	{"rating", FIELD_T_I64, true, 1, 5, offsetof(struct review_in, rating), false},
	{"title", FIELD_T_STRING, true, 1, TITLE_MAX, offsetof(struct review_in, title), false},
	{"body", FIELD_T_TEXT, false, 0, BODY_MAX, offsetof(struct review_in, body), false},
};

struct create_job {
	int64_t product_id, user_id;
	const struct review_in *in;
	const char *author, *request_id;
	int64_t id; /* out */
};

static int create_tx(struct db_conn *db, void *arg)
{
	struct create_job *j = arg;
	j->id = 0;
	if (repo_aggregate_lock(db, j->product_id) != 0)
		return -1;
	if (repo_review_insert(db, j->product_id, j->user_id, j->author, j->in->rating, j->in->title,
			       j->in->body ? j->in->body : "", &j->id) != 0)
		return db->err == DB_DUPLICATE ? TX_DUPLICATE : -1;
	return recount_and_push(db, j->product_id, j->request_id);
}

void product_reviews_create(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct review_in in = {0};
	struct user_brief ub;
	int64_t pid, existing;
	char location[64];

	if (!path_id(req, &pid, PRODUCT_NOT_FOUND))
		return;
	if (!(body = req_json_body(req, 0)))
		return;
	if (!field_parse(body, create_specs, sizeof(create_specs) / sizeof(create_specs[0]), &in, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	if (!product_on_sale(req, pid))
		return;
	int rc = repo_review_of(req->ctx->db, req->user_id, pid, &existing);
	if (rc < 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	if (rc == 0) {
		already_reviewed(req, existing);
		return;
	}
	switch (order_port_delivered(req->ctx->client, req->request_id, req->user_id, pid)) {
	case ORDER_DELIVERED_YES:
		break;
	case ORDER_DELIVERED_NO:
		resp_problem(req, 403, "not_a_verified_buyer",
			     "Only a shopper with a delivered order of this product can review it.");
		return;
	default:
		resp_unavailable(req, "order service");
		return;
	}
	/* The display name is kept with the review: the public list never asks the user service. */
	rc = user_client_caller(req, &ub);
	if (rc != 0) {
		resp_unavailable(req, "user service");
		return;
	}
	struct create_job j = {pid, req->user_id, &in, ub.name[0] ? ub.name : "Customer", req->request_id, 0};
	/* A duplicate is the review another request of the caller wrote meanwhile: 409 naming it. If
	 * that one was deleted again before it could be read, this create runs again (a few times). */
	for (int tries = 0; (rc = db_tx(req->ctx->db, create_tx, &j)) == TX_DUPLICATE; tries++) {
		int found = repo_review_of(req->ctx->db, req->user_id, pid, &existing);
		if (found == 0) {
			already_reviewed(req, existing);
			return;
		}
		if (found < 0 || tries == 2) {
			if (found < 0)
				resp_db_error(req, req->ctx->db);
			else
				resp_unavailable(req, "review database");
			return;
		}
	}
	if (rc != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	log_msg(LOG_INFO, req->request_id, "review %lld: product %lld rated %lld by user %lld", (long long)j.id,
		(long long)pid, (long long)in.rating, (long long)req->user_id);
	snprintf(location, sizeof(location), "/api/v1/reviews/%lld", (long long)j.id);
	resp_header(req, "Location", location);
	answer_review(req, 201, j.id, true);
}

/* --- GET /api/v1/reviews (mine, or staff by status) -------------------------------------- */

void reviews_list(struct request *req)
{
	static const char *const allowed[] = {"mine", "status", "limit", "offset", NULL};
	struct field_errors errs = {0};
	struct list_params lp;
	const char *mine = req_query(req, "mine"), *status = req_query(req, "status");
	int64_t total;
	struct db_rows *r;

	if (status && req->role != ROLE_ADMIN) {
		resp_problem(req, 403, "forbidden", "Listing reviews by status needs the admin role.");
		return;
	}
	req_query_allowed(req, allowed, &errs);
	list_params_parse(req, &lp, &errs);
	if (mine && strcmp(mine, "true") != 0)
		problem_add(&errs, "mine", "must be true");
	if (status && strcmp(status, "visible") != 0 && strcmp(status, "hidden") != 0)
		problem_add(&errs, "status", "must be visible or hidden");
	if (!mine && req->role != ROLE_ADMIN)
		problem_add(&errs, "mine", "must be true (staff may list every review, or by status)");
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (repo_reviews_list(req->ctx->db, mine ? req->user_id : 0, status, lp.limit, lp.offset, &r, &total) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++)
		json_object_array_add(items, review_json(r, i, true));
	db_rows_free(r);
	struct json_object *o = list_envelope(items, total, &lp);
	resp_json(req, 200, o);
	json_object_put(o);
}

/* --- GET /api/v1/reviews/{id} ------------------------------------------------------------- */

void reviews_get(struct request *req)
{
	int64_t id;
	struct db_rows *r;

	if (!path_id(req, &id, REVIEW_NOT_FOUND))
		return;
	int rc = repo_review_get(req->ctx->db, id, false, &r);
	if (resp_lookup_failed(req, req->ctx->db, rc, REVIEW_NOT_FOUND))
		return;
	bool mine = req->user_id > 0 && db_cell_i64(r, 0, RC_USER_ID, 0) == req->user_id;
	bool staff = req->role == ROLE_ADMIN;
	bool visible = strcmp(db_cell(r, 0, RC_STATUS), "visible") == 0;
	if (!visible && !mine && !staff) {
		db_rows_free(r);
		not_found(req);
		return;
	}
	struct json_object *o = review_json(r, 0, mine || staff);
	db_rows_free(r);
	resp_json(req, 200, o);
	json_object_put(o);
}

/*
 * The product of review `id` when it is the caller's (`owner` > 0) or any review (`owner` 0),
 * read before a change's transaction so that the aggregate's lock is taken first (every
 * change locks aggregate, then review). Returns false after writing the 404/5xx.
 */
static bool review_product(struct request *req, int64_t id, int64_t owner, int64_t *product_id)
{
	struct db_rows *r;
	int rc = repo_review_get(req->ctx->db, id, false, &r);
	if (rc == 0 && owner > 0 && db_cell_i64(r, 0, RC_USER_ID, 0) != owner)
		rc = 1; /* another user's review is answered as if it did not exist */
	if (rc == 0)
		*product_id = db_cell_i64(r, 0, RC_PRODUCT_ID, 0);
	db_rows_free(r);
	return !resp_lookup_failed(req, req->ctx->db, rc, REVIEW_NOT_FOUND);
}

/* --- PATCH /api/v1/reviews/{id} ------------------------------------------------------------ */

static const struct field_spec update_specs[] = {
	{"rating", FIELD_T_I64, false, 1, 5, offsetof(struct review_in, rating), false},
	{"title", FIELD_T_STRING, false, 1, TITLE_MAX, offsetof(struct review_in, title), false},
	{"body", FIELD_T_TEXT, false, 0, BODY_MAX, offsetof(struct review_in, body), false},
};

struct update_job {
	int64_t id, product_id, user_id;
	const struct review_in *in; /* members left 0/NULL were not given */
	const char *request_id;
};

static int update_tx(struct db_conn *db, void *arg)
{
	const struct update_job *j = arg;
	struct db_rows *r;
	int rc;

	if (repo_aggregate_lock(db, j->product_id) != 0)
		return -1;
	if ((rc = repo_review_get(db, j->id, true, &r)) != 0)
		return rc < 0 ? -1 : TX_GONE;
	if (db_cell_i64(r, 0, RC_USER_ID, 0) != j->user_id) {
		db_rows_free(r);
		return TX_GONE;
	}
	int64_t old = db_cell_i64(r, 0, RC_RATING, 0);
	int64_t rating = j->in->rating ? j->in->rating : old;
	bool visible = strcmp(db_cell(r, 0, RC_STATUS), "visible") == 0;
	rc = repo_review_update(db, j->id, rating, j->in->title ? j->in->title : db_cell(r, 0, RC_TITLE),
				j->in->body ? j->in->body : db_cell(r, 0, RC_BODY));
	db_rows_free(r);
	if (rc != 0)
		return -1;
	return visible && rating != old ? recount_and_push(db, j->product_id, j->request_id) : 0;
}

void reviews_update(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct review_in in = {0};
	uint64_t present = 0;
	int64_t id, pid;

	if (!path_id(req, &id, REVIEW_NOT_FOUND))
		return;
	if (!(body = req_json_body(req, 0)))
		return;
	field_parse(body, update_specs, sizeof(update_specs) / sizeof(update_specs[0]), &in, &present, NULL, &errs);
	if (!errs.n && present == 0)
		problem_add(&errs, "body", "give at least one of rating, title, body");
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (!review_product(req, id, req->user_id, &pid))
		return;
	struct update_job j = {id, pid, req->user_id, &in, req->request_id};
	int rc = db_tx(req->ctx->db, update_tx, &j);
	if (rc != 0) {
		refused(req, rc);
		return;
	}
	answer_review(req, 200, id, true);
}

/* --- DELETE /api/v1/reviews/{id} ------------------------------------------------------------ */

struct delete_job {
	int64_t id, product_id, user_id;
	const char *request_id;
};

static int delete_tx(struct db_conn *db, void *arg)
{
	const struct delete_job *j = arg;
	if (repo_aggregate_lock(db, j->product_id) != 0)
		return -1;
	int rc = repo_review_delete(db, j->id, j->user_id);
	if (rc <= 0)
		return rc < 0 ? -1 : TX_GONE;
	return recount_and_push(db, j->product_id, j->request_id);
}

void reviews_delete(struct request *req)
{
	int64_t id, pid;
	if (!path_id(req, &id, REVIEW_NOT_FOUND) || !review_product(req, id, req->user_id, &pid))
		return;
	struct delete_job j = {id, pid, req->user_id, req->request_id};
	int rc = db_tx(req->ctx->db, delete_tx, &j);
	if (rc != 0) {
		refused(req, rc);
		return;
	}
	resp_empty(req, 204);
}

/* --- POST /api/v1/reviews/{id}/helpful -------------------------------------------------------- */

struct helpful_job {
	int64_t id, user_id;
};

static int helpful_tx(struct db_conn *db, void *arg)
{
	const struct helpful_job *j = arg;
	struct db_rows *r;
	/* The review's lock first: two votes at once then queue instead of deadlocking on the
	 * shared locks their foreign-key checks would take. */
	int rc = repo_review_get(db, j->id, true, &r);
	if (rc != 0)
		return rc < 0 ? -1 : TX_GONE;
	bool visible = strcmp(db_cell(r, 0, RC_STATUS), "visible") == 0;
	bool own = db_cell_i64(r, 0, RC_USER_ID, 0) == j->user_id;
	db_rows_free(r);
	if (!visible)
		return TX_GONE;
	if (own)
		return TX_OWN;
	rc = repo_helpful_add(db, j->id, j->user_id);
	return rc < 0 ? -1 : rc > 0 ? TX_ALREADY : 0;
}

void reviews_helpful(struct request *req)
{
	int64_t id;
	if (!path_id(req, &id, REVIEW_NOT_FOUND))
		return;
	struct helpful_job j = {id, req->user_id};
	int rc = db_tx(req->ctx->db, helpful_tx, &j);
	if (rc != 0) {
		refused(req, rc);
		return;
	}
	answer_review(req, 200, id, false);
}

/* --- staff: POST /api/v1/reviews/{id}/hide and /unhide ----------------------------------------- */

struct moderate_job {
	int64_t id, product_id, actor;
	bool hide;
	const char *reason, *request_id;
};

static int moderate_tx(struct db_conn *db, void *arg)
{
	const struct moderate_job *j = arg;
	if (repo_aggregate_lock(db, j->product_id) != 0)
		return -1;
	int rc = repo_review_moderate(db, j->id, j->hide ? "visible" : "hidden", j->hide ? "hidden" : "visible",
				      j->reason, j->actor);
	if (rc <= 0)
		return rc < 0 ? -1 : TX_STATE;
	return recount_and_push(db, j->product_id, j->request_id);
}

struct hide_in {
	const char *reason;
};

static const struct field_spec hide_specs[] = {
	{"reason", FIELD_T_STRING, true, 1, REASON_MAX, offsetof(struct hide_in, reason), false},
};

/* The moderation of review `id`: hide (with `reason`) or unhide; answers the review. */
static void moderate_review(struct request *req, int64_t id, bool hide, const char *reason)
{
	int64_t pid;
	if (!review_product(req, id, 0, &pid))
		return;
	struct moderate_job j = {id, pid, req->user_id, hide, reason, req->request_id};
	int rc = db_tx(req->ctx->db, moderate_tx, &j);
	if (rc == TX_STATE) {
		resp_problem(req, 409, hide ? "already_hidden" : "not_hidden",
			     hide ? "This review is hidden already." : "This review is not hidden.");
		return;
	}
	if (rc != 0) {
		refused(req, rc);
		return;
	}
	log_msg(LOG_INFO, req->request_id, "review %lld %s by user %lld", (long long)id, hide ? "hidden" : "unhidden",
		(long long)req->user_id);
	answer_review(req, 200, id, true);
}

void reviews_hide(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct hide_in in = {0};
	int64_t id;

	if (!path_id(req, &id, REVIEW_NOT_FOUND))
		return;
	if (!(body = req_json_body(req, 0)))
		return;
	if (!field_parse(body, hide_specs, sizeof(hide_specs) / sizeof(hide_specs[0]), &in, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	moderate_review(req, id, true, in.reason);
}

void reviews_unhide(struct request *req)
{
	int64_t id;
	if (!path_id(req, &id, REVIEW_NOT_FOUND))
		return;
	moderate_review(req, id, false, NULL);
}
