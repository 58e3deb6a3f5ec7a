/* carts.c: the caller's own cart: guest tokens, priced reads, line changes under a version, merge at sign-in. */
#include <json-c/json.h>
#include <sodium.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "log.h"
#include "problem.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "rules.h"
#include "token.h"
#include "view.h"

#define CART_NOT_FOUND "No cart for this token; it may have expired. Create one with POST /api/v1/carts."
#define PRODUCT_NOT_FOUND "No such product."
#define LINE_NOT_FOUND "This product is not in the cart."

/* Refusals of the transactions below (db_tx hands positive codes back without retrying). */
enum {
	TX_CART_GONE = 1,   /* the guest cart expired or never was */
	TX_LINE_GONE,       /* no such line */
	TX_PRECONDITION,    /* If-Match names another version */
	TX_CURRENCY,        /* the product (or guest cart) is priced in another currency */
	TX_TOO_MANY,        /* more than CART_LINES_MAX lines */
};

int cart_init(const struct store_config *cfg)
{
	(void)cfg;
	if (sodium_init() < 0) {
		fprintf(stderr, "cart: libsodium failed to initialise\n");
		return -1;
	}
	return 0;
}

static void cart_not_found(struct request *req)
{
	resp_problem(req, 404, "not_found", CART_NOT_FOUND);
}

/*
 * The caller's identity: the signed-in user, else the hash of X-Cart-Token. A malformed token
 * is answered exactly like one no cart has, so a guess learns nothing. Returns false with the
 * 401/404 written.
 */
static bool cart_owner(struct request *req, struct cart_owner *o)
{
	memset(o, 0, sizeof(*o));
	if (req->user_id > 0) {
		o->user_id = req->user_id;
		return true;
	}
	const char *t = req_header(req, "X-Cart-Token");
	if (!t) {
		resp_problem(req, 401, "cart_token_required",
			     "Sign in, or send the X-Cart-Token of a guest cart (POST /api/v1/carts makes one).");
		return false;
	}
	if (!cart_token_valid(t)) {
		cart_not_found(req);
		return false;
	}
	cart_token_hash(t, o->token_hash);
	return true;
}

/* The If-Match header into *out (NULL when absent). A malformed one is answered 400. */
static bool if_match_header(struct request *req, const char **out)
{
	const char *h = req_header(req, "If-Match");
	if (h && cart_if_match(h, 0) == IF_MATCH_MALFORMED) {
		resp_problem(req, 400, "bad_if_match",
			     "If-Match must be \"*\" or a list of entity tags such as \"12\" (the cart's version).");
		return false;
	}
	*out = h;
	return true;
}

static const struct cart_line *find_line(const struct cart *c, int64_t pid)
{
	for (size_t i = 0; i < c->n; i++)
		if (c->lines[i].product_id == pid)
			return &c->lines[i];
	return NULL;
}

/* Answers a refusal code of a transaction below (or -1: the database's error). */
static void refused(struct request *req, int rc, const char *cart_currency, const char *other_currency)
{
	switch (rc) {
	case TX_CART_GONE:
		cart_not_found(req);
		break;
	case TX_LINE_GONE:
		resp_problem(req, 404, "not_found", LINE_NOT_FOUND);
		break;
	case TX_PRECONDITION:
		resp_problem(req, 412, "version_mismatch",
			     "The cart changed since the version in If-Match; read it again and retry.");
		break;
	case TX_CURRENCY:
		resp_problemf(req, 409, "currency_mismatch", "This cart holds prices in %s; this is priced in %s.",
			      cart_currency, other_currency);
		break;
	case TX_TOO_MANY:
		resp_problemf(req, 409, "too_many_lines", "A cart holds at most %d lines.", CART_LINES_MAX);
		break;
	default:
		resp_db_error(req, req->ctx->db);
	}
}

/*
 * Reads the caller's cart into *c (a signed-in user's is created on first use; a guest's must
 * exist) and refreshes its idle clock when that is a day old. Returns 0, or -1 with the
 * answer written.
 */
static int load_cart(struct request *req, const struct cart_owner *o, struct cart *c)
{
	struct db_conn *db = req->ctx->db;
	int rc = repo_cart_read(db, o, false, c);

	if (rc == 1 && o->user_id > 0) {
		if (repo_cart_ensure_user(db, o->user_id) != 0) {
			resp_db_error(req, db);
			return -1;
		}
		rc = repo_cart_read(db, o, false, c);
	}
	if (rc < 0) {
		resp_db_error(req, db);
		return -1;
	}
	if (rc > 0) {
		cart_not_found(req);
		return -1;
	}
	/* Only a day's precision is needed for a 30-day expiry: reads write at most once a day. */
	if (c->stale_seen && repo_cart_touch(db, c->id) != 0)
		log_msg(LOG_WARN, req->request_id, "cart %lld: seen_at not refreshed: %s", (long long)c->id, db->errstr);
	return 0;
}

struct work {
	struct cart cart;
	struct catalogue cat;
};

static struct work *work_new(struct request *req)
{
	struct work *w = calloc(1, sizeof(*w));
	if (!w)
		resp_problem(req, 500, "internal", "Out of memory.");
	return w;
}

/* FIXME: nothing limits how fast one client creates guest carts; each costs a row for 30 days.
 * A gateway limit_req on POST /api/v1/carts (like /api/v1/auth/) belongs with the new plumbing. */
void carts_create(struct request *req)
{
	char token[CART_TOKEN_LEN + 1];
	struct cart_owner o = {0};
	struct work *w = work_new(req);
	int64_t id;

	if (!w)
		return;
	cart_token_new(token);
	cart_token_hash(token, o.token_hash);
	if (repo_cart_create_guest(req->ctx->db, o.token_hash, &id) != 0 ||
	    repo_cart_read(req->ctx->db, &o, false, &w->cart) != 0) {
		resp_db_error(req, req->ctx->db);
		goto out;
	}
	struct json_object *v = cart_view_json(&w->cart, &w->cat);
	json_object_object_add(v, "token", json_object_new_string(token));
	cart_version_headers(req, w->cart.version);
	resp_header(req, "Location", "/api/v1/cart");
	resp_json(req, 201, v);
	json_object_put(v);
out:
	sodium_memzero(token, sizeof(token));
	free(w);
}

void cart_get(struct request *req)
{
	struct cart_owner o;
	struct work *w = work_new(req);

	if (!w)
		return;
	if (cart_owner(req, &o) && load_cart(req, &o, &w->cart) == 0 && catalogue_cover(req, &w->cart, &w->cat) == 0)
		cart_view_answer(req, 200, &w->cart, &w->cat);
	free(w);
}

/* --- PUT /cart/items/{product_id} ------------------------------------------------------ */

struct put {
	/* Inputs: put_tx never writes them (it runs again after a deadlock). */
	struct cart_owner owner;
	const char *if_match;
	struct cart_line line;   /* product_id, quantity, added_price */
	char currency[4];
	/* Output, filled afresh by each run. */
	struct cart locked;
};

static int put_tx(struct db_conn *db, void *arg)
{
	struct put *p = arg;

	int rc = repo_cart_read(db, &p->owner, true, &p->locked);
	if (rc != 0)
		return rc < 0 ? -1 : TX_CART_GONE;
	if (cart_if_match(p->if_match, p->locked.version) == IF_MATCH_FAILED)
		return TX_PRECONDITION;
	if (p->locked.currency[0] && strcmp(p->locked.currency, p->currency) != 0)
		return TX_CURRENCY;
	if (!find_line(&p->locked, p->line.product_id) && p->locked.n >= CART_LINES_MAX)
		return TX_TOO_MANY;
	struct cart_line l = p->line;
	l.line_version = p->locked.version + 1;
	if (repo_line_set(db, p->locked.id, &l) != 0 || repo_cart_bump(db, p->locked.id, p->currency) != 0)
		return -1;
	return 0;
}

static const struct field_spec put_specs[] = {
	{"quantity", FIELD_T_I64, true, CART_QTY_MIN, CART_QTY_MAX, offsetof(struct cart_line, quantity), false},
};

void cart_item_put(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct work *w = work_new(req);
	struct put *p = calloc(1, sizeof(*p));
	int64_t pid;

	if (!w || !p) {
		if (w && !p)
			resp_problem(req, 500, "internal", "Out of memory.");
		goto out;
	}
	if (!req_path_id(req, "product_id", &pid)) {
		resp_problem(req, 404, "not_found", PRODUCT_NOT_FOUND);
		goto out;
	}
	if (!cart_owner(req, &p->owner) || !if_match_header(req, &p->if_match) || !(body = req_json_body(req, 0)))
		goto out;
	if (!field_parse(body, put_specs, sizeof(put_specs) / sizeof(put_specs[0]), &p->line, NULL, NULL, &errs)) {
		resp_invalid(req, &errs);
		goto out;
	}
	p->line.product_id = pid;

	/* The cart as it is now: its products are priced in the same two calls as the new one, and
	 * what cannot succeed is refused before asking anyone. The transaction checks again. */
	struct db_conn *db = req->ctx->db;
	int rc = repo_cart_read(db, &p->owner, false, &w->cart);
	if (rc < 0 || (rc > 0 && p->owner.user_id == 0)) {
		rc < 0 ? resp_db_error(req, db) : cart_not_found(req);
		goto out;
	}
	/* A signed-in user's first cart is created on its own, before the transaction: inside it,
	 * concurrent first PUTs would each hold a shared lock on the new row from INSERT IGNORE
	 * and then all wait to lock it for update, a deadlock. Outside, they queue on the row. */
	if (rc > 0 && repo_cart_ensure_user(db, p->owner.user_id) != 0) {
		resp_db_error(req, db);
		goto out;
	}
	if (cart_if_match(p->if_match, w->cart.version) == IF_MATCH_FAILED) {
		refused(req, TX_PRECONDITION, NULL, NULL);
		goto out;
	}
	bool has_line = find_line(&w->cart, pid) != NULL;
	if (!has_line && w->cart.n >= CART_LINES_MAX) {
		refused(req, TX_TOO_MANY, NULL, NULL);
		goto out;
	}
	int64_t ids[CART_LINES_MAX];
	size_t n = 0;
	ids[n++] = pid;
	for (size_t i = 0; i < w->cart.n; i++)
		if (w->cart.lines[i].product_id != pid)
			ids[n++] = w->cart.lines[i].product_id;
	if (catalogue_add(req, ids, n, &w->cat) != 0)
		goto out;
	const struct product_brief *b = product_brief_find(w->cat.briefs, w->cat.nbriefs, pid);
	/* A draft is answered like a product that does not exist: shoppers must not learn of it. */
	if (!b || strcmp(b->status, "draft") == 0) {
		resp_problem(req, 404, "not_found", PRODUCT_NOT_FOUND);
		goto out;
	}
	if (!product_brief_active(b)) {
		resp_problem(req, 409, "not_on_sale", "This product is no longer on sale; it can only be removed.");
		goto out;
	}
	p->line.added_price = b->price;
	snprintf(p->currency, sizeof(p->currency), "%s", b->currency);
	if ((rc = db_tx(db, put_tx, p)) != 0) {
		refused(req, rc, p->locked.currency, p->currency);
		goto out;
	}
	/* The cart after the change (and after any other that committed since): lines added by
	 * another request meanwhile are priced with one more pair of calls. */
	if (load_cart(req, &p->owner, &w->cart) == 0 && catalogue_cover(req, &w->cart, &w->cat) == 0)
		cart_view_answer(req, 200, &w->cart, &w->cat);
out:
	free(p);
	free(w);
}

/* --- DELETE /cart/items/{product_id} and DELETE /cart -------------------------------------- */

struct removal {
	/* Inputs. */
	struct cart_owner owner;
	const char *if_match;
	int64_t pid; /* 0: every line (DELETE /cart) */
	/* Outputs, reset by each run. */
	struct cart locked;
	int64_t version; /* the cart's version afterwards */
};

static int removal_tx(struct db_conn *db, void *arg)
{
	struct removal *r = arg;
	int deleted = 0;
	uint64_t n = 0;

	r->version = 0;
	int rc = repo_cart_read(db, &r->owner, true, &r->locked);
	if (rc < 0)
		return -1;
	if (rc > 0 && r->owner.user_id == 0)
		return TX_CART_GONE;
	/* A signed-in user without a cart has an empty one at version 0. */
	if (cart_if_match(r->if_match, r->locked.version) == IF_MATCH_FAILED)
		return TX_PRECONDITION;
	r->version = r->locked.version;
	if (r->pid) {
		if (!find_line(&r->locked, r->pid))
			return TX_LINE_GONE;
		if (repo_line_delete(db, r->locked.id, r->pid, &deleted) != 0)
			return -1;
		if (!deleted)
			return TX_LINE_GONE;
		n = 1;
	} else if (r->locked.n > 0 && repo_lines_delete_upto(db, r->locked.id, r->locked.version, &n) != 0) {
		return -1;
	}
	if (n == 0)
		return 0; /* emptying an empty cart changes nothing */
	const char *currency = r->locked.n > n ? r->locked.currency : NULL;
	if (repo_cart_bump(db, r->locked.id, currency) != 0)
		return -1;
	r->version = r->locked.version + 1;
	return 0;
}

static void removal(struct request *req, bool one)
{
	struct removal *r = calloc(1, sizeof(*r));

	if (!r) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	if (one && !req_path_id(req, "product_id", &r->pid)) {
		resp_problem(req, 404, "not_found", LINE_NOT_FOUND);
		goto out;
	}
	if (!cart_owner(req, &r->owner) || !if_match_header(req, &r->if_match))
		goto out;
	int rc = db_tx(req->ctx->db, removal_tx, r);
	if (rc != 0) {
		refused(req, rc, NULL, NULL);
		goto out;
	}
	/* No body, so no catalogue: removing works while the product service is down. */
	cart_version_headers(req, r->version);
	resp_empty(req, 204);
out:
	free(r);
}

void cart_item_delete(struct request *req)
{
	removal(req, true);
}

void cart_empty(struct request *req)
{
	removal(req, false);
}

/* --- POST /cart/merge ------------------------------------------------------------------------- */

struct merge {
	/* Inputs. */
	struct cart_owner user, guest;
	const char *if_match;
	/* Outputs, reset by each run. */
	struct cart mine, theirs;
	int64_t merged, version;
};

static int merge_tx(struct db_conn *db, void *arg)
{
	struct merge *m = arg;
	int rc;

	m->merged = 0;
	/* The user's cart first, then the guest's: every merge locks in that order. */
	if (repo_cart_read(db, &m->user, true, &m->mine) != 0)
		return -1;
	m->version = m->mine.version;
	if (cart_if_match(m->if_match, m->mine.version) == IF_MATCH_FAILED)
		return TX_PRECONDITION;
	rc = repo_cart_read(db, &m->guest, true, &m->theirs);
	if (rc != 0)
		return rc < 0 ? -1 : 0; /* merged already, expired or never was: nothing to do */
	if (m->theirs.n == 0)
		return repo_cart_delete(db, m->theirs.id);
	if (m->mine.currency[0] && strcmp(m->mine.currency, m->theirs.currency) != 0)
		return TX_CURRENCY;
	size_t fresh = 0;
	for (size_t i = 0; i < m->theirs.n; i++)
		fresh += find_line(&m->mine, m->theirs.lines[i].product_id) == NULL;
	if (m->mine.n + fresh > CART_LINES_MAX)
		return TX_TOO_MANY;
	for (size_t i = 0; i < m->theirs.n; i++) {
		const struct cart_line *g = &m->theirs.lines[i], *u = find_line(&m->mine, g->product_id);
		struct cart_line l = {.product_id = g->product_id,
				      .quantity = u ? cart_qty_merge(u->quantity, g->quantity) : g->quantity,
				      .added_price = u ? u->added_price : g->added_price,
				      .line_version = m->mine.version + 1};
		if (repo_line_set(db, m->mine.id, &l) != 0)
			return -1;
	}
	if (repo_cart_delete(db, m->theirs.id) != 0 ||
	    repo_cart_bump(db, m->mine.id, m->mine.currency[0] ? m->mine.currency : m->theirs.currency) != 0)
		return -1;
	m->merged = (int64_t)m->theirs.n;
	m->version = m->mine.version + 1;
	return 0;
}

void cart_merge(struct request *req)
{
	struct merge *m = calloc(1, sizeof(*m));

	if (!m) {
		resp_problem(req, 500, "internal", "Out of memory.");
		return;
	}
	const char *t = req_header(req, "X-Cart-Token");
	if (!t) {
		resp_problem(req, 400, "cart_token_required", "Send the guest cart's token in X-Cart-Token.");
		goto out;
	}
	if (!if_match_header(req, &m->if_match))
		goto out;
	m->user.user_id = req->user_id;
	/* A malformed token names no cart: it merges nothing, like a spent or expired one. */
	if (cart_token_valid(t))
		cart_token_hash(t, m->guest.token_hash);
	else
		memset(m->guest.token_hash, '-', CART_TOKEN_HASH_LEN);
	/* Created outside the transaction, as in PUT. */
	if (repo_cart_ensure_user(req->ctx->db, m->user.user_id) != 0) {
		resp_db_error(req, req->ctx->db);
		goto out;
	}
	int rc = db_tx(req->ctx->db, merge_tx, m);
	if (rc != 0) {
		refused(req, rc, m->mine.currency, m->theirs.currency);
		goto out;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "merged_lines", json_object_new_int64(m->merged));
	json_object_object_add(o, "version", json_object_new_int64(m->version));
	cart_version_headers(req, m->version);
	resp_json(req, 200, o);
	json_object_put(o);
out:
	free(m);
}
