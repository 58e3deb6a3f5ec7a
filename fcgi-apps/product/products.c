/* products.c: product reads (cached, with ETag), search and filters, staff writes, internal routes. */
#include <ctype.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "cache.h"
#include "catalog.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "lists.h"
#include "log.h"
#include "parse.h"
#include "problem.h"
#include "redis.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "ctx.h"
#include "validate.h"

#define PRODUCT_NAME_MAX 200
#define DESCRIPTION_MAX 10000
#define CACHE_TTL 300
/* Short: every distinct query is a page in Redis for this long (docs/OPERATIONS.md: its memory). */
#define LIST_CACHE_TTL 60
#define Q_MAX 100

static const char *const statuses[] = {"draft", "active", "archived", NULL};

static bool is_status(const char *s)
{
	for (const char *const *p = statuses; *p; p++)
		if (strcmp(*p, s) == 0)
			return true;
	return false;
}

#define PRODUCT_NOT_FOUND "No such product."

static void not_found(struct request *req)
{
	resp_problem(req, 404, "not_found", PRODUCT_NOT_FOUND);
}

static void cache_key(char *buf, size_t len, int64_t id, int64_t version)
{
	snprintf(buf, len, "product:%lld:v%lld", (long long)id, (long long)version);
}

static bool visible(const struct request *req, struct json_object *p)
{
	const char *status = json_object_get_string(json_object_object_get(p, "status"));
	return req->role == ROLE_ADMIN || (status && strcmp(status, "active") == 0);
}

/*
 * After a repository read (`rc`, `p`): answers 500/503 or 404 (also for a product the
 * caller may not see) and returns NULL, or returns the body text (owned by `p`). Never frees
 * `p`: the caller does, whatever this returns.
 */
/* A product's JSON text, as every read answers it and its ETag is taken of (PATCH's If-Match
 * compares against the same bytes). */
static const char *product_text(struct json_object *p, size_t *len)
{
	return json_object_to_json_string_length(p, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
}

static const char *visible_body(struct request *req, int rc, struct json_object *p, size_t *len)
{
	if (resp_lookup_failed(req, req->ctx->db, rc, PRODUCT_NOT_FOUND))
		return NULL;
	if (!visible(req, p)) {
		not_found(req);
		return NULL;
	}
	return product_text(p, len);
}

/*
 * The cached copy is keyed by the product's cache version, read from the database first (one
 * primary-key read): a change moves the version on in its own UPDATE, so once it has answered
 * no reader looks at an older copy, even when Redis could not be reached to delete it. A copy
 * put under a version a concurrent change has just replaced is read only by readers that
 * started before that change answered.
 */
void products_get(struct request *req)
{
	char key[64], *cached = NULL;
	size_t len = 0;
	struct json_object *p = NULL;
	int64_t id, version;
	bool active;

	if (!req_path_id(req, "id", &id)) {
		not_found(req);
		return;
	}
	int rc = repo_product_version(req->ctx->db, id, &version, &active);
	if (resp_lookup_failed(req, req->ctx->db, rc, PRODUCT_NOT_FOUND))
		return;
	/* Only active products are cached, so a hit is visible to everyone. */
	enum cache_result cr = CACHE_DOWN;
	if (active) {
		cache_key(key, sizeof(key), id, version);
		cr = cache_get(req->ctx->redis, key, &cached, &len);
		if (cr == CACHE_HIT) {
			resp_json_etag(req, cached, len);
			free(cached);
			return;
		}
	}
	rc = repo_product_get(req->ctx->db, id, false, &p);
	const char *body = visible_body(req, rc, p, &len);
	if (!body) {
		json_object_put(p);
		return;
	}
	const char *status = json_object_get_string(json_object_object_get(p, "status"));
	if (cr == CACHE_MISS && strcmp(status, "active") == 0 &&
	    cache_put(req->ctx->redis, key, body, len, CACHE_TTL) != 0)
		log_msg(LOG_WARN, req->request_id, "product %lld not cached: %s", (long long)id,
			req->ctx->redis->errstr);
	resp_json_etag(req, body, len);
	json_object_put(p);
}

void products_by_slug(struct request *req)
{
	const char *slug = req_path_param(req, "slug");
	struct json_object *p = NULL;
	size_t len;

	if (!slug || !slug_valid(slug, PRODUCT_SLUG_MAX)) {
		not_found(req);
		return;
	}
	int rc = repo_product_by_slug(req->ctx->db, slug, &p);
	const char *body = visible_body(req, rc, p, &len);
	if (body)
		resp_json_etag(req, body, len);
	json_object_put(p);
}

static bool parse_sort(const char *s, enum product_sort *out)
{
	static const struct {
		const char *name;
		enum product_sort sort;
	} sorts[] = {{"price", SORT_PRICE},
		     {"-price", SORT_PRICE_DESC},
		     {"name", SORT_NAME},
		     {"-created_at", SORT_CREATED_DESC},
		     {"-rating", SORT_RATING_DESC}};
	for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
		if (strcmp(sorts[i].name, s) == 0) {
			*out = sorts[i].sort;
			return true;
		}
	}
	return false;
}

/*
 * Keeps the words of a search: letters and digits (any non-ASCII byte counts as part of a
 * letter), everything else one space. The full-text parser never sees an operator or a lone
 * '*' (which it refuses with a syntax error). Returns false when no word is left.
 */
static bool search_words(const char *in, char *out, size_t len)
{
	size_t o = 0;
	bool words = false;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < len; p++) {
		bool w = isalnum(*p) || *p >= 0x80;
		if (w)
			words = true;
		if (w || (o > 0 && out[o - 1] != ' '))
			out[o++] = w ? (char)*p : ' ';
	}
	out[o] = '\0';
	return words;
}

void products_list(struct request *req)
{
	struct field_errors errs = {0};
	struct list_params lp;
	struct product_filter f = {.sort = SORT_CREATED_DESC};
	struct json_object *items;
	const char *v;
	int64_t total;

	list_params_parse(req, &lp, &errs);
	req_query_i64(req, "category", 1, ID_MAX, 0, &f.category_id, &errs);
	req_query_i64(req, "min_price", 0, PRICE_MAX, -1, &f.min_price, &errs);
	req_query_i64(req, "max_price", 0, PRICE_MAX, -1, &f.max_price, &errs);
	if (f.min_price >= 0 && f.max_price >= 0 && f.min_price > f.max_price)
		problem_add(&errs, "max_price", "must not be less than min_price");
	char q[Q_MAX * 4 + 1];
	if ((v = req_query(req, "q")) != NULL) {
		size_t n = strlen(v);
		if (n == 0 || parse_utf8_len(v, n) > Q_MAX)
			problem_add(&errs, "q", "must be 1 to %d characters", Q_MAX);
		else if (!search_words(v, q, sizeof(q)))
			problem_add(&errs, "q", "must contain letters or digits");
		f.q = q;
	}
	if ((v = req_query(req, "sort")) != NULL && !parse_sort(v, &f.sort))
		problem_add(&errs, "sort", "must be one of price, -price, name, -created_at, -rating");
	struct product_cursor after;
	const char *cursor = req_query(req, "cursor");
	if (cursor) {
		if (!product_cursor_decode(cursor, &after))
			problem_add(&errs, "cursor", "is not a cursor this list gave (next_cursor)");
		else if (after.sort != (int)f.sort)
			problem_add(&errs, "cursor", "was made for another sort: give the sort of the page it came from");
		if (req_query(req, "offset"))
			problem_add(&errs, "offset", "give either offset or cursor");
		f.after = &after;
	}
	if ((v = req_query(req, "status")) != NULL) {
		if (req->role != ROLE_ADMIN)
			problem_add(&errs, "status", "only staff may filter by status");
		else if (!is_status(v))
			problem_add(&errs, "status", "must be draft, active or archived");
		f.status = v;
	} else if (req->role != ROLE_ADMIN) {
		f.status = "active";
	}
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	f.limit = lp.limit;
	f.offset = lp.offset;

	/* The public view (active products only) is cached with the catalogue's version, leased
	 * in Redis from MariaDB's: every product or category write moves that on in its own
	 * transaction and publishes it before answering, so once a change has answered no reader
	 * is served a page from before it, even when Redis could not be reached or is slow
	 * (catalog.h). A cached page is one Redis call. Staff lists are not cached. */
	char key[LIST_KEY_MAX], *cached = NULL;
	size_t len = 0;
	int64_t version = 0;
	enum catalog_page_result cr = CATALOG_DOWN;
	if (req->role != ROLE_ADMIN) {
		product_list_key(key, &f);
		cr = catalog_page(req->ctx, key, &version, &cached, &len);
		if (cr == CATALOG_HIT) {
			resp_json_raw(req, 200, cached, len);
			free(cached);
			return;
		}
		if (cr == CATALOG_DB_ERROR) {
			resp_db_error(req, req->ctx->db);
			return;
		}
	}
	char next[CURSOR_MAX + 1];
	if (repo_product_list(req->ctx->db, &f, &items, &total, next) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *o = list_envelope(items, total, &lp);
	json_object_object_add(o, "next_cursor", next[0] ? json_object_new_string(next) : NULL);
	const char *body = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	if (cr == CATALOG_MISS && catalog_page_put(req->ctx, key, version, body, len, LIST_CACHE_TTL) != 0)
		log_msg(LOG_WARN, req->request_id, "product list not cached: %s", req->ctx->redis->errstr);
	resp_json_raw(req, 200, body, len);
	json_object_put(o);
}

/*
 * Reads a create (all required fields) or patch (each optional, `cur` the current product)
 * body into `in`. Strings point into `body` or `cur`; `slugbuf` holds a derived slug.
 */
static bool parse_product(struct json_object *body, struct json_object *cur, struct product_in *in,
			  char slugbuf[PRODUCT_SLUG_MAX + 1], struct field_errors *errs)
{
	static const char *const allowed[] = {"sku",	   "name",   "slug",   "description", "price",
					      "currency", "status", "images", "attributes",  "category_id",
					      NULL};
	bool create = cur == NULL, present;
	struct json_object *v;

	field_only(body, allowed, errs);
	if (!create) {
		in->sku = json_object_get_string(json_object_object_get(cur, "sku"));
		in->name = json_object_get_string(json_object_object_get(cur, "name"));
		in->slug = json_object_get_string(json_object_object_get(cur, "slug"));
		in->description = json_object_get_string(json_object_object_get(cur, "description"));
		in->price = json_object_get_int64(json_object_object_get(cur, "price"));
		in->currency = json_object_get_string(json_object_object_get(cur, "currency"));
		in->status = json_object_get_string(json_object_object_get(cur, "status"));
		in->category_id = json_object_get_int64(json_object_object_get(cur, "category_id"));
		in->images = json_object_to_json_string_ext(json_object_object_get(cur, "images"), JSON_C_TO_STRING_PLAIN);
		in->attributes =
			json_object_to_json_string_ext(json_object_object_get(cur, "attributes"), JSON_C_TO_STRING_PLAIN);
	} else {
		in->description = "";
		in->status = "draft";
		in->images = "[]";
		in->attributes = "{}";
	}
	if (field_string(body, "sku", create, 1, SKU_MAX, false, &in->sku, errs) == FIELD_OK && !sku_valid(in->sku))
		problem_add(errs, "sku", "must be letters, digits, '.', '_' or '-'");
	bool has_name = field_string(body, "name", create, 1, PRODUCT_NAME_MAX, false, &in->name, errs) == FIELD_OK;
	bool has_slug = field_string(body, "slug", false, 1, PRODUCT_SLUG_MAX, false, &in->slug, errs) == FIELD_OK;
	if (has_slug && !slug_valid(in->slug, PRODUCT_SLUG_MAX))
		problem_add(errs, "slug", "must be lower-case letters, digits and single inner hyphens");
	if (create && has_name && !has_slug) {
		if (slugify(in->name, slugbuf, PRODUCT_SLUG_MAX))
			in->slug = slugbuf;
		else
			problem_add(errs, "slug", "is required: the name has no letters or digits to derive it from");
	}
	field_string(body, "description", false, 0, DESCRIPTION_MAX, true, &in->description, errs);
	field_i64(body, "price", create, 0, PRICE_MAX, &in->price, errs);
	if (field_string(body, "currency", create, 3, 3, false, &in->currency, errs) == FIELD_OK &&
	    !currency_valid(in->currency))
		problem_add(errs, "currency", "must be an ISO 4217 code such as EUR or USD");
	if (field_string(body, "status", false, 1, 16, false, &in->status, errs) == FIELD_OK && !is_status(in->status))
		problem_add(errs, "status", "must be draft, active or archived");
	if (field_is_null(body, "category_id"))
		in->category_id = 0;
	else
		field_i64(body, "category_id", false, 1, ID_MAX, &in->category_id, errs);
	if ((v = images_field(body, "images", errs, &present)) != NULL)
		in->images = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if ((v = attributes_field(body, "attributes", errs, &present)) != NULL)
		in->attributes = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	return errs->n == 0;
}

/* Maps a failed product write: duplicate sku/slug 409, unknown category 422, else by db->err. */
static void answer_write_error(struct request *req)
{
	struct db_conn *db = req->ctx->db;
	struct field_errors errs = {0};

	if (db->err == DB_DUPLICATE) {
		resp_problem(req, 409, "duplicate", "Another product already has this sku or slug.");
	} else if (db->err == DB_FOREIGN_KEY) {
		problem_add(&errs, "category_id", "no such category");
		resp_invalid(req, &errs);
	} else {
		resp_db_error(req, db);
	}
}

static void answer_product(struct request *req, int status, int64_t id)
{
	struct json_object *p;
	int rc = repo_product_get(req->ctx->db, id, false, &p);
	if (rc != 0) {
		if (rc < 0)
			resp_db_error(req, req->ctx->db);
		else
			not_found(req);
		return;
	}
	resp_json(req, status, p);
	json_object_put(p);
}

void products_create(struct request *req)
{
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	struct product_in in = {0};
	char slug[PRODUCT_SLUG_MAX + 1];
	int64_t id;

	if (!body)
		return;
	if (!parse_product(body, NULL, &in, slug, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	int rc = repo_product_insert(req->ctx->db, &in, &id);
	catalog_publish(req->ctx, req->request_id); /* before any answer: catalog.h */
	if (rc != 0) {
		answer_write_error(req);
		return;
	}
	char location[64];
	snprintf(location, sizeof(location), "/api/v1/products/%lld", (long long)id);
	resp_header(req, "Location", location);
	answer_product(req, 201, id);
}

struct patch {
	int64_t id;
	struct json_object *body;
	struct field_errors *errs;
	const char *if_match; /* the request's If-Match, or NULL */
};

/* Locks the row, checks If-Match against it (the ETag GET gives the product as it is now),
 * merges the patch into it and writes it back, all in one transaction. Returns 0, -1
 * (database), 404, 412 or 422 (pt->errs filled). */
static int patch_tx(struct db_conn *db, void *arg)
{
	struct patch *pt = arg;
	struct json_object *cur = NULL;
	struct product_in in = {0};
	char slug[PRODUCT_SLUG_MAX + 1];
	int rc = repo_product_get(db, pt->id, true, &cur);

	if (rc != 0)
		return rc > 0 ? 404 : -1;
	if (pt->if_match) {
		size_t len;
		char hex[33];
		const char *now = product_text(cur, &len);
		resp_etag_hex(now, len, hex);
		if (req_if_match_eval(pt->if_match, hex) != IF_MATCH_OK) {
			json_object_put(cur);
			return 412;
		}
	}
	pt->errs->n = 0; /* a retried run starts from no errors */
	if (!parse_product(pt->body, cur, &in, slug, pt->errs)) {
		json_object_put(cur);
		return 422;
	}
	rc = repo_product_update(db, pt->id, &in);
	json_object_put(cur);
	return rc;
}

void products_patch(struct request *req)
{
	struct field_errors errs = {0};
	struct patch pt = {.errs = &errs};

	if (!req_path_id(req, "id", &pt.id)) {
		not_found(req);
		return;
	}
	if (!(pt.body = req_json_body(req, 0)))
		return;
	if (json_object_object_length(pt.body) == 0) {
		problem_add(&errs, "", "give at least one field to change");
		resp_invalid(req, &errs);
		return;
	}
	pt.if_match = req_header(req, "If-Match");
	if (req_if_match_eval(pt.if_match, "") == IF_MATCH_MALFORMED) {
		resp_problem(req, 400, "bad_if_match",
			     "If-Match must be \"*\" or a list of entity tags, such as the ETag a GET of the product gave.");
		return;
	}
	int rc = db_tx(req->ctx->db, patch_tx, &pt);
	catalog_publish(req->ctx, req->request_id); /* before any answer: catalog.h */
	if (rc != 0) {
		if (rc == 404)
			not_found(req);
		else if (rc == 412)
			resp_problem(req, 412, "version_mismatch",
				     "The product changed since the ETag in If-Match; read it again and retry.");
		else if (rc == 422)
			resp_invalid(req, &errs);
		else
			answer_write_error(req);
		return;
	}
	answer_product(req, 200, pt.id); /* the UPDATE moved the cache version on */
}

void products_delete(struct request *req)
{
	int64_t id;
	int found = 0;

	if (!req_path_id(req, "id", &id)) {
		not_found(req);
		return;
	}
	int rc = repo_product_archive(req->ctx->db, id, &found);
	catalog_publish(req->ctx, req->request_id); /* before any answer: catalog.h */
	if (rc != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	if (!found) {
		not_found(req);
		return;
	}
	resp_empty(req, 204); /* the UPDATE moved the cache version on */
}

void internal_products_brief(struct request *req)
{
	int64_t ids[LIST_LIMIT_MAX];
	struct json_object *items;

	long n = req_query_only_ids(req, "ids", ids, LIST_LIMIT_MAX);
	if (n < 0)
		return;
	if (repo_product_brief(req->ctx->db, ids, (size_t)n, &items) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "items", items);
	resp_json(req, 200, o);
	json_object_put(o);
}

void internal_products_rating(struct request *req)
{
	static const char *const allowed[] = {"rating_avg", "rating_count", NULL};
	struct json_object *body;
	struct field_errors errs = {0};
	double avg = 0;
	int64_t id, count = 0;
	int found = 0;

	if (!req_path_id(req, "id", &id)) {
		not_found(req);
		return;
	}
	if (!(body = req_json_body(req, 0)))
		return;
	field_only(body, allowed, &errs);
	field_number(body, "rating_avg", true, 0, 5, &avg, &errs);
	field_i64(body, "rating_count", true, 0, INT32_MAX, &count, &errs);
	if (!errs.n && count == 0 && avg != 0)
		problem_add(&errs, "rating_avg", "must be 0 when there are no ratings");
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	int rc = repo_product_set_rating(req->ctx->db, id, avg, count, &found);
	catalog_publish(req->ctx, req->request_id); /* before any answer: catalog.h */
	if (rc != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	if (!found) {
		not_found(req);
		return;
	}
	answer_product(req, 200, id); /* the UPDATE moved the cache version on */
}
