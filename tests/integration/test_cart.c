/* test_cart.c: guest and signed-in carts, catalogue-priced reads, bad input, versions and races, through NGINX. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static char *admin;

static void setup(void)
{
	admin = admin_token();
}

static void teardown(void)
{
	free(admin);
}

TestSuite(cart, .init = setup, .fini = teardown, .timeout = 180);

/* One call to the public gateway with an optional bearer token, cart token and If-Match. */
static void call(const char *method, const char *path, const char *body, const char *bearer, const char *cart_token,
		 const char *if_match, struct http_resp *r)
{
	char auth[4096], ct[128], im[128];
	const char *h[4] = {NULL};
	size_t n = 0;
	if (bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h[n++] = auth;
	}
	if (cart_token) {
		snprintf(ct, sizeof(ct), "X-Cart-Token: %s", cart_token);
		h[n++] = ct;
	}
	if (if_match) {
		snprintf(im, sizeof(im), "If-Match: %s", if_match);
		h[n++] = im;
	}
	http_send(test_env("STORE_TEST_URL"), method, path, body, body ? strlen(body) : 0, h, r);
}

/* A new guest cart; returns its token (caller frees). */
static char *new_guest(void)
{
	struct http_resp r;
	call("POST", "/api/v1/carts", NULL, NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(http_header(&r, "Location"), "/api/v1/cart");
	cr_assert_eq(json_int(&r, "version"), 0);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0);
	const char *t = json_str(&r, "token");
	cr_assert(t && strncmp(t, "ct_", 3) == 0 && strlen(t) >= 3 + 22, "%s", r.body);
	char *tok = strdup(t);
	http_resp_free(&r);
	return tok;
}

/* PUT /cart/items/{pid} {"quantity": qty}; returns the status (the answer stays in *r). */
static long put_item(const char *bearer, const char *cart_token, long long pid, long long qty, const char *if_match,
		     struct http_resp *r)
{
	char path[64], body[64];
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", pid);
	snprintf(body, sizeof(body), "{\"quantity\":%lld}", qty);
	call("PUT", path, body, bearer, cart_token, if_match, r);
	return r->status;
}

static void put_ok(const char *bearer, const char *cart_token, long long pid, long long qty)
{
	struct http_resp r;
	cr_assert_eq(put_item(bearer, cart_token, pid, qty, NULL, &r), 200, "PUT %lld: %s", pid, r.body);
	http_resp_free(&r);
}

/* GET /cart (asserts 200); the caller frees *r. */
static void get_cart(const char *bearer, const char *cart_token, struct http_resp *r)
{
	call("GET", "/api/v1/cart", NULL, bearer, cart_token, NULL, r);
	cr_assert_eq(r->status, 200, "%s", r->body);
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"", json_int(r, "version"));
	cr_assert_str_eq(http_header(r, "ETag"), etag);
}

static long long cart_version(const char *bearer, const char *cart_token)
{
	struct http_resp r;
	get_cart(bearer, cart_token, &r);
	long long v = json_int(&r, "version");
	http_resp_free(&r);
	return v;
}

/* The item of product `pid` in a cart answer, or NULL. Borrowed from r. */
static struct json_object *item_of(const struct http_resp *r, long long pid)
{
	struct json_object *items = json_object_object_get(r->json, "items");
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		if (json_object_get_int64(json_object_object_get(it, "product_id")) == pid)
			return it;
	}
	return NULL;
}

static long long item_int(struct json_object *it, const char *key)
{
	struct json_object *v = json_object_object_get(it, key);
	cr_assert(v && json_object_is_type(v, json_type_int), "%s is not an integer in %s", key,
		  json_object_to_json_string(it));
	return json_object_get_int64(v);
}

/* The item's "problem" ("" for null). */
static const char *item_problem(struct json_object *it)
{
	struct json_object *v = json_object_object_get(it, "problem");
	return v ? json_object_get_string(v) : "";
}

static void patch_product(long long pid, const char *body)
{
	char path[64];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/products/%lld", pid);
	api("PATCH", path, body, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
}

/* Runs SQL as the database administrator; returns the first output line (static) or "". */
static const char *admin_sql(const char *sql)
{
	static char line[256];
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "mariadb --no-defaults --socket='%s' -u '%s' -N -B -e \"%s\"",
		 test_env("STORE_TEST_DB_SOCKET"), test_env("STORE_TEST_DB_ADMIN_USER"), sql);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	line[0] = '\0';
	if (!fgets(line, sizeof(line), p))
		line[0] = '\0';
	line[strcspn(line, "\n")] = '\0';
	cr_assert_eq(pclose(p), 0, "%s", cmd);
	return line;
}

Test(cart, guest_adds_signs_in_merges_and_reads)
{
	long long a = test_product(admin, 1250, "EUR"), b = test_product(admin, 300, "EUR"), uid;
	test_put_stock(admin, a, 500, 0);
	test_put_stock(admin, b, 500, 0);
	char *guest = new_guest(), *user = customer_token(&uid);
	struct http_resp r;

	cr_assert_eq(put_item(NULL, guest, a, 60, NULL, &r), 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "version"), 1);
	cr_assert_str_eq(json_str(&r, "currency"), "EUR");
	http_resp_free(&r);
	put_ok(NULL, guest, b, 2);
	get_cart(NULL, guest, &r);
	struct json_object *it = item_of(&r, a);
	cr_assert_not_null(it, "%s", r.body);
	cr_assert_eq(item_int(it, "unit_price"), 1250);
	cr_assert_eq(item_int(it, "line_total"), 60 * 1250);
	cr_assert_eq(item_int(it, "available"), 500);
	cr_assert_str_eq(item_problem(it), "");
	cr_assert_not_null(json_object_object_get(it, "sku"));
	cr_assert_not_null(json_object_object_get(it, "name"));
	cr_assert_eq(json_int(&r, "subtotal"), 60 * 1250 + 2 * 300);
	cr_assert_eq(json_int(&r, "item_count"), 62);
	cr_assert_eq(json_int(&r, "version"), 2);
	http_resp_free(&r);

	/* The user already holds 50 of a: merged, 110 is capped at 99. */
	put_ok(user, NULL, a, 50);
	long long before = cart_version(user, NULL);
	call("POST", "/api/v1/cart/merge", NULL, user, guest, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "merged_lines"), 2);
	cr_assert_eq(json_int(&r, "version"), before + 1);
	http_resp_free(&r);
	get_cart(user, NULL, &r);
	cr_assert_eq(item_int(item_of(&r, a), "quantity"), 99);
	cr_assert_eq(item_int(item_of(&r, b), "quantity"), 2);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 2);
	cr_assert_eq(json_int(&r, "subtotal"), 99 * 1250 + 2 * 300);
	http_resp_free(&r);

	/* The guest cart is gone; merging again is harmless. */
	call("GET", "/api/v1/cart", NULL, NULL, guest, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	call("POST", "/api/v1/cart/merge", NULL, user, guest, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "merged_lines"), 0);
	cr_assert_eq(json_int(&r, "version"), before + 1, "nothing changed");
	http_resp_free(&r);
	cr_assert_eq(cart_version(user, NULL), before + 1);

	/* Merge needs a signed-in caller and a token header. */
	call("POST", "/api/v1/cart/merge", NULL, NULL, guest, NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	call("POST", "/api/v1/cart/merge", NULL, user, NULL, NULL, &r);
	assert_problem(&r, 400, "cart_token_required");
	http_resp_free(&r);
	free(guest);
	free(user);
}

Test(cart, merge_of_another_currency_is_refused_and_keeps_the_guest_cart)
{
	long long eur = test_product(admin, 100, "EUR"), usd = test_product(admin, 100, "USD");
	char *guest = new_guest(), *user = customer_token(NULL);
	struct http_resp r;
	put_ok(user, NULL, eur, 1);
	put_ok(NULL, guest, usd, 1);
	call("POST", "/api/v1/cart/merge", NULL, user, guest, NULL, &r);
	assert_problem(&r, 409, "currency_mismatch");
	http_resp_free(&r);
	get_cart(NULL, guest, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 1, "the guest cart is kept");
	http_resp_free(&r);
	free(guest);
	free(user);
}

Test(cart, price_change_in_the_catalogue_shows_and_is_flagged)
{
	long long p = test_product(admin, 500, "EUR");
	test_put_stock(admin, p, 10, 0);
	char *guest = new_guest();
	struct http_resp r;
	put_ok(NULL, guest, p, 2);
	patch_product(p, "{\"price\":450}");
	get_cart(NULL, guest, &r);
	struct json_object *it = item_of(&r, p);
	cr_assert_eq(item_int(it, "unit_price"), 450, "%s", r.body);
	cr_assert_eq(item_int(it, "added_price"), 500);
	cr_assert_eq(item_int(it, "line_total"), 900);
	cr_assert_str_eq(item_problem(it), "price_changed");
	cr_assert_eq(json_int(&r, "subtotal"), 900);
	http_resp_free(&r);
	/* Setting the line again takes the new price: the flag goes. */
	put_ok(NULL, guest, p, 2);
	get_cart(NULL, guest, &r);
	cr_assert_str_eq(item_problem(item_of(&r, p)), "");
	http_resp_free(&r);
	free(guest);
}

Test(cart, archived_and_unpublished_products_are_flagged_not_dropped)
{
	long long gone = test_product(admin, 700, "EUR"), draft = test_product(admin, 800, "EUR"),
		  ok = test_product(admin, 100, "EUR");
	test_put_stock(admin, gone, 10, 0);
	test_put_stock(admin, draft, 10, 0);
	test_put_stock(admin, ok, 10, 0);
	char *guest = new_guest(), path[64];
	struct http_resp r;
	put_ok(NULL, guest, gone, 1);
	put_ok(NULL, guest, draft, 1);
	put_ok(NULL, guest, ok, 3);
	snprintf(path, sizeof(path), "/api/v1/products/%lld", gone);
	api("DELETE", path, NULL, admin, &r); /* archives it */
	cr_assert_eq(r.status, 204, "%s", r.body);
	http_resp_free(&r);
	patch_product(draft, "{\"status\":\"draft\"}");

	get_cart(NULL, guest, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 3, "%s", r.body);
	cr_assert_str_eq(item_problem(item_of(&r, gone)), "unavailable");
	cr_assert_eq(item_int(item_of(&r, gone), "available"), 0);
	cr_assert_str_eq(item_problem(item_of(&r, draft)), "unavailable");
	cr_assert_str_eq(item_problem(item_of(&r, ok)), "");
	cr_assert_eq(json_int(&r, "subtotal"), 300, "unavailable lines are not in the subtotal");
	cr_assert_eq(json_int(&r, "item_count"), 5);
	long long v = json_int(&r, "version");
	http_resp_free(&r);

	/* They cannot be changed, only removed; new ones cannot be added. */
	cr_assert_eq(put_item(NULL, guest, gone, 2, NULL, &r), 409);
	assert_problem(&r, 409, "not_on_sale");
	http_resp_free(&r);
	cr_assert_eq(put_item(NULL, guest, draft, 2, NULL, &r), 404, "a draft is hidden");
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	cr_assert_eq(cart_version(NULL, guest), v, "nothing changed");
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", gone);
	call("DELETE", path, NULL, NULL, guest, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	cr_assert_str_eq(http_header(&r, "ETag"), "\"4\"");
	http_resp_free(&r);
	call("DELETE", path, NULL, NULL, guest, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	free(guest);
}

Test(cart, out_of_stock_line_says_what_is_available)
{
	long long few = test_product(admin, 100, "EUR"), none = test_product(admin, 100, "EUR");
	test_put_stock(admin, few, 3, 0);
	char *guest = new_guest();
	struct http_resp r;
	put_ok(NULL, guest, few, 5);
	put_ok(NULL, guest, none, 1); /* no stock row at all */
	get_cart(NULL, guest, &r);
	struct json_object *it = item_of(&r, few);
	cr_assert_str_eq(item_problem(it), "insufficient_stock", "%s", r.body);
	cr_assert_eq(item_int(it, "available"), 3);
	cr_assert_eq(item_int(it, "quantity"), 5, "the line keeps what the shopper asked for");
	cr_assert_str_eq(item_problem(item_of(&r, none)), "insufficient_stock");
	cr_assert_eq(item_int(item_of(&r, none), "available"), 0);
	http_resp_free(&r);
	free(guest);
}

Test(cart, bad_input_gets_a_problem_and_changes_nothing)
{
	long long p = test_product(admin, 100, "EUR");
	char *guest = new_guest(), path[64];
	struct http_resp r;
	put_ok(NULL, guest, p, 1);
	long long v = cart_version(NULL, guest);
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", p);
	static const char *const invalid[] = {
		"{\"quantity\":0}",	 "{\"quantity\":100}",	       "{\"quantity\":-1}",
		"{\"quantity\":1.5}",	 "{\"quantity\":\"2\"}",	   "{\"quantity\":null}",
		"{}",			 "{\"quantity\":2,\"price\":1}", "{\"quantity\":99999999999999999999}",
		"{\"qty\":2}",
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		call("PUT", path, invalid[i], NULL, guest, NULL, &r);
		assert_problem(&r, 422, "validation_failed");
		cr_assert_not_null(json_object_object_get(r.json, "errors"), "%s: %s", invalid[i], r.body);
		http_resp_free(&r);
	}
	static const char *const malformed[] = {"{\"quantity\":", "[1]", "quantity=2", "{\"quantity\":1}x"};
	for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
		call("PUT", path, malformed[i], NULL, guest, NULL, &r);
		assert_problem(&r, 400, NULL);
		http_resp_free(&r);
	}
	const char *hdrs[] = {"Content-Type: text/plain", NULL};
	char ct[128];
	snprintf(ct, sizeof(ct), "X-Cart-Token: %s", guest);
	const char *hdrs2[] = {hdrs[0], ct, NULL};
	http_send(test_env("STORE_TEST_URL"), "PUT", path, "{\"quantity\":2}", 14, hdrs2, &r);
	assert_problem(&r, 415, NULL);
	http_resp_free(&r);

	/* Product ids that are not ids, or not products. */
	static const char *const bad_ids[] = {"/api/v1/cart/items/0", "/api/v1/cart/items/abc", "/api/v1/cart/items/-1",
					      "/api/v1/cart/items/99999999999999", "/api/v1/cart/items/1.5",
					      "/api/v1/cart/items/99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_ids) / sizeof(bad_ids[0]); i++) {
		call("PUT", bad_ids[i], "{\"quantity\":1}", NULL, guest, NULL, &r);
		assert_problem(&r, 404, "not_found");
		http_resp_free(&r);
	}
	/* Carts are never reached by an id in the URL. */
	call("GET", "/api/v1/cart/1", NULL, NULL, guest, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	call("PATCH", "/api/v1/cart", "{}", NULL, guest, NULL, &r);
	assert_problem(&r, 405, "method_not_allowed");
	http_resp_free(&r);
	/* A malformed If-Match. */
	call("PUT", path, "{\"quantity\":2}", NULL, guest, "7", &r);
	assert_problem(&r, 400, "bad_if_match");
	http_resp_free(&r);

	get_cart(NULL, guest, &r);
	cr_assert_eq(json_int(&r, "version"), v, "nothing changed: %s", r.body);
	cr_assert_eq(item_int(item_of(&r, p), "quantity"), 1);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 1);
	http_resp_free(&r);
	free(guest);
}

Test(cart, at_most_one_hundred_lines)
{
	char *guest = new_guest();
	struct http_resp r;
	long long first = 0;
	for (int i = 0; i < 100; i++) {
		long long p = test_product(admin, 100 + i, "EUR");
		first = first ? first : p;
		put_ok(NULL, guest, p, 1);
	}
	long long extra = test_product(admin, 100, "EUR");
	cr_assert_eq(put_item(NULL, guest, extra, 1, NULL, &r), 409, "%s", r.body);
	assert_problem(&r, 409, "too_many_lines");
	http_resp_free(&r);
	/* A line already there can still change. */
	put_ok(NULL, guest, first, 2);
	get_cart(NULL, guest, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 100);
	cr_assert_eq(json_int(&r, "version"), 101);
	cr_assert_null(item_of(&r, extra));
	http_resp_free(&r);
	free(guest);
}

/* A hundred lines of 99 units at the highest price (10^15) add up past 2^63: the subtotal is
 * null, never a wrapped number. */
Test(cart, a_subtotal_past_64_bits_is_null)
{
	char *guest = new_guest();
	struct http_resp r;
	for (int i = 0; i < 100; i++) {
		long long p = test_product(admin, 1000000000000000LL, "EUR");
		test_put_stock(admin, p, 1000, 0);
		put_ok(NULL, guest, p, 99);
	}
	get_cart(NULL, guest, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	struct json_object *sub;
	cr_assert(json_object_object_get_ex(r.json, "subtotal", &sub), "%s", r.body);
	cr_assert_null(sub, "not a wrapped sum: %s", json_object_to_json_string(sub));
	cr_assert_eq(json_int(&r, "item_count"), 9900);
	http_resp_free(&r);
	free(guest);
}

Test(cart, another_currency_is_409_until_the_cart_is_empty)
{
	long long eur = test_product(admin, 100, "EUR"), usd = test_product(admin, 100, "USD");
	char *guest = new_guest();
	struct http_resp r;
	put_ok(NULL, guest, eur, 1);
	long long v = cart_version(NULL, guest);
	cr_assert_eq(put_item(NULL, guest, usd, 1, NULL, &r), 409);
	assert_problem(&r, 409, "currency_mismatch");
	http_resp_free(&r);
	cr_assert_eq(cart_version(NULL, guest), v);
	call("DELETE", "/api/v1/cart", NULL, NULL, guest, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	http_resp_free(&r);
	get_cart(NULL, guest, &r);
	cr_assert_eq(json_int(&r, "version"), v + 1);
	cr_assert_null(json_str(&r, "currency"));
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0);
	http_resp_free(&r);
	/* Emptying an empty cart changes nothing. */
	call("DELETE", "/api/v1/cart", NULL, NULL, guest, NULL, &r);
	cr_assert_eq(r.status, 204);
	http_resp_free(&r);
	cr_assert_eq(cart_version(NULL, guest), v + 1);
	put_ok(NULL, guest, usd, 1);
	get_cart(NULL, guest, &r);
	cr_assert_str_eq(json_str(&r, "currency"), "USD");
	http_resp_free(&r);
	free(guest);
}

Test(cart, if_match_conflict_is_412)
{
	long long p = test_product(admin, 100, "EUR"), q = test_product(admin, 100, "EUR");
	char *user = customer_token(NULL), tag[32], path[64];
	struct http_resp r;
	long long v = cart_version(user, NULL);
	cr_assert_eq(v, 0, "a new user's cart");
	snprintf(tag, sizeof(tag), "\"%lld\"", v);
	cr_assert_eq(put_item(user, NULL, p, 1, tag, &r), 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "version"), v + 1);
	http_resp_free(&r);
	/* The same precondition again: the cart moved on. */
	cr_assert_eq(put_item(user, NULL, q, 1, tag, &r), 412);
	assert_problem(&r, 412, "version_mismatch");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", p);
	call("DELETE", path, NULL, user, NULL, tag, &r);
	assert_problem(&r, 412, "version_mismatch");
	http_resp_free(&r);
	call("DELETE", "/api/v1/cart", NULL, user, NULL, "W/\"1\"", &r);
	assert_problem(&r, 412, "version_mismatch");
	http_resp_free(&r);
	get_cart(user, NULL, &r);
	cr_assert_eq(json_int(&r, "version"), v + 1);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 1);
	http_resp_free(&r);
	cr_assert_eq(put_item(user, NULL, q, 1, "\"0\", \"1\"", &r), 200, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(put_item(user, NULL, q, 2, "*", &r), 200, "%s", r.body);
	http_resp_free(&r);
	free(user);
}

Test(cart, forged_and_expired_tokens_look_the_same)
{
	long long p = test_product(admin, 100, "EUR");
	char *guest = new_guest(), detail[512];
	struct http_resp r;
	put_ok(NULL, guest, p, 1);
	get_cart(NULL, guest, &r);
	long long id = json_int(&r, "id");
	http_resp_free(&r);

	/* Well-formed but unknown, malformed, and a real one with a byte changed. */
	char forged[64];
	snprintf(forged, sizeof(forged), "%s", guest);
	forged[10] = forged[10] == 'A' ? 'B' : 'A';
	call("GET", "/api/v1/cart", NULL, NULL, forged, NULL, &r);
	assert_problem(&r, 404, "not_found");
	snprintf(detail, sizeof(detail), "%s", json_str(&r, "detail"));
	http_resp_free(&r);
	static const char *const bad[] = {"ct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "nope", "ct_",
					  "ct_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		call("GET", "/api/v1/cart", NULL, NULL, bad[i], NULL, &r);
		assert_problem(&r, 404, "not_found");
		cr_assert_str_eq(json_str(&r, "detail"), detail);
		http_resp_free(&r);
		cr_assert_eq(put_item(NULL, bad[i], p, 1, NULL, &r), 404);
		cr_assert_str_eq(json_str(&r, "detail"), detail);
		http_resp_free(&r);
	}
	call("GET", "/api/v1/cart", NULL, NULL, NULL, NULL, &r);
	assert_problem(&r, 401, "cart_token_required");
	http_resp_free(&r);

	/* Idle for 31 days: gone at once, with the same answer, then swept from the database. */
	char sql[256];
	snprintf(sql, sizeof(sql), "UPDATE store_cart.carts SET seen_at = NOW(3) - INTERVAL 31 DAY WHERE id = %lld", id);
	admin_sql(sql);
	call("GET", "/api/v1/cart", NULL, NULL, guest, NULL, &r);
	assert_problem(&r, 404, "not_found");
	cr_assert_str_eq(json_str(&r, "detail"), detail);
	http_resp_free(&r);
	cr_assert_eq(put_item(NULL, guest, p, 2, NULL, &r), 404);
	http_resp_free(&r);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM store_cart.cart_items WHERE cart_id = %lld", id);
	int i;
	for (i = 0; i < 40 && strcmp(admin_sql(sql), "0") != 0; i++)
		usleep(250000);
	cr_assert_lt(i, 40, "the sweeper did not delete the idle cart's lines");
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM store_cart.carts WHERE id = %lld", id);
	cr_assert_str_eq(admin_sql(sql), "0");
	/* Only the hash is stored. */
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM store_cart.carts WHERE token_hash = '%s'", guest);
	cr_assert_str_eq(admin_sql(sql), "0");
	free(guest);
}

Test(cart, carts_are_found_by_identity_only)
{
	long long p = test_product(admin, 100, "EUR");
	char *alice = customer_token(NULL), *bob = customer_token(NULL), *guest = new_guest();
	struct http_resp r;
	put_ok(alice, NULL, p, 3);
	put_ok(NULL, guest, p, 1);
	get_cart(bob, NULL, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0, "%s", r.body);
	http_resp_free(&r);
	/* A signed-in caller's cart is their own, whatever cart token comes along. */
	get_cart(bob, guest, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0, "%s", r.body);
	http_resp_free(&r);
	get_cart(alice, NULL, &r);
	cr_assert_eq(item_int(item_of(&r, p), "quantity"), 3);
	http_resp_free(&r);
	/* A bad bearer token is refused, not treated as a guest. */
	call("GET", "/api/v1/cart", NULL, "not-a-jwt", guest, NULL, &r);
	assert_problem(&r, 401, "invalid_token");
	http_resp_free(&r);
	/* The internal routes are not on the public listener. */
	api("GET", "/internal/cart/users/1", NULL, admin, &r);
	cr_assert_eq(r.status, 404);
	http_resp_free(&r);
	free(alice);
	free(bob);
	free(guest);
}

/* --- internal routes for the order service ------------------------------------------ */

static long internal(const char *method, const char *path, const char *body, struct http_resp *r)
{
	http_send(test_env("STORE_TEST_INTERNAL_URL"), method, path, body, body ? strlen(body) : 0, NULL, r);
	return r->status;
}

Test(cart, order_service_reads_and_clears_exactly_the_version_it_saw)
{
	long long a = test_product(admin, 100, "EUR"), b = test_product(admin, 200, "EUR"),
		  c = test_product(admin, 300, "EUR"), uid;
	char *user = customer_token(&uid), path[96], clear[112];
	struct http_resp r;
	snprintf(path, sizeof(path), "/internal/cart/users/%lld", uid);
	snprintf(clear, sizeof(clear), "/internal/cart/users/%lld/clear", uid);
	cr_assert_eq(internal("GET", path, NULL, &r), 404, "no cart yet: %s", r.body);
	http_resp_free(&r);
	put_ok(user, NULL, a, 1);
	put_ok(user, NULL, b, 2);
	cr_assert_eq(internal("GET", path, NULL, &r), 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "version"), 2);
	cr_assert_eq(json_int(&r, "user_id"), uid);
	cr_assert_str_eq(json_str(&r, "currency"), "EUR");
	cr_assert_eq(item_int(item_of(&r, b), "quantity"), 2);
	cr_assert_null(json_object_object_get(item_of(&r, b), "unit_price"), "no prices from the cart");
	http_resp_free(&r);
	/* The shopper goes on after the order read version 2. */
	put_ok(user, NULL, c, 1); /* v3 */
	put_ok(user, NULL, a, 5); /* v4: changed after the order's read */
	cr_assert_eq(internal("POST", clear, "{\"version\":2}", &r), 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "cleared_lines"), 1);
	cr_assert_eq(json_int(&r, "version"), 5);
	/* The clear answers from what it did, not from a second read: the cart as a read shows it. */
	struct http_resp back;
	cr_assert_eq(internal("GET", path, NULL, &back), 200, "%s", back.body);
	json_object_object_del(r.json, "cleared_lines");
	cr_assert(json_object_equal(r.json, back.json), "answered %s, read back %s", r.body, back.body);
	http_resp_free(&back);
	http_resp_free(&r);
	get_cart(user, NULL, &r);
	cr_assert_null(item_of(&r, b), "b was ordered: %s", r.body);
	cr_assert_eq(item_int(item_of(&r, a), "quantity"), 5);
	cr_assert_not_null(item_of(&r, c));
	http_resp_free(&r);
	cr_assert_eq(internal("POST", clear, "{\"version\":2}", &r), 200, "repeating is harmless");
	cr_assert_eq(json_int(&r, "cleared_lines"), 0);
	cr_assert_eq(json_int(&r, "version"), 5);
	http_resp_free(&r);
	cr_assert_eq(internal("POST", clear, "{\"version\":6}", &r), 409);
	assert_problem(&r, 409, "version_ahead");
	http_resp_free(&r);
	static const char *const bad[] = {"{}", "{\"version\":-1}", "{\"version\":\"2\"}", "{\"version\":2,\"x\":1}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(internal("POST", clear, bad[i], &r), 422, "%s", r.body);
		http_resp_free(&r);
	}
	cr_assert_eq(internal("POST", clear, "{\"version\":5}", &r), 200);
	cr_assert_eq(json_int(&r, "cleared_lines"), 2);
	cr_assert_null(json_str(&r, "currency"), "an empty cart has no currency");
	cr_assert_eq(internal("GET", path, NULL, &back), 200, "%s", back.body);
	json_object_object_del(r.json, "cleared_lines");
	cr_assert(json_object_equal(r.json, back.json), "answered %s, read back %s", r.body, back.body);
	http_resp_free(&back);
	http_resp_free(&r);
	cr_assert_eq(internal("POST", "/internal/cart/users/999999999/clear", "{\"version\":1}", &r), 404);
	http_resp_free(&r);
	free(user);
}

/* The item of a clears answer at `i`: asserts its user, version and outcome; returns cleared_lines (-1 without). */
static long long clears_item(struct http_resp *r, size_t i, long long uid, long long version, const char *outcome)
{
	struct json_object *items, *it, *v;
	cr_assert(json_object_object_get_ex(r->json, "items", &items) && json_object_array_length(items) > i, "%s", r->body);
	it = json_object_array_get_idx(items, i);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "user_id")), uid, "%s", r->body);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "version")), version, "%s", r->body);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(it, "outcome")), outcome, "%s", r->body);
	return json_object_object_get_ex(it, "cleared_lines", &v) ? json_object_get_int64(v) : -1;
}

static long long stored_version(long long uid)
{
	char path[64];
	struct http_resp r;
	snprintf(path, sizeof(path), "/internal/cart/users/%lld", uid);
	cr_assert_eq(internal("GET", path, NULL, &r), 200, "%s", r.body);
	long long v = json_int(&r, "version");
	http_resp_free(&r);
	return v;
}

/* The order service's outbox clears many orders' carts with one call: each item as the single
 * clear does it, the same user twice cleared up to the later version the cart has reached, a user
 * without a cart and a version the cart never reached said in the answer (changing nothing). */
Test(cart, clears_of_many_orders_in_one_call)
{
	long long a = test_product(admin, 100, "EUR"), b = test_product(admin, 200, "EUR"), u1, u2, u3;
	char *t1 = customer_token(&u1), *t2 = customer_token(&u2), *t3 = customer_token(&u3), body[1024];
	struct http_resp r;
	put_ok(t1, NULL, a, 1); /* u1 v1 */
	put_ok(t1, NULL, b, 1); /* u1 v2 */
	put_ok(t2, NULL, a, 3); /* u2 v1 */
	put_ok(t2, NULL, b, 1); /* u2 v2: set after the order read version 1 */
	snprintf(body, sizeof(body),
		 "{\"items\":[{\"user_id\":%lld,\"version\":1},{\"user_id\":%lld,\"version\":1},"
		 "{\"user_id\":%lld,\"version\":2},{\"user_id\":%lld,\"version\":1},{\"user_id\":%lld,\"version\":9}],"
		 "\"request_ids\":[\"r-1\",\"r-2\",\"r-3\",\"r-4\",\"r-5\"]}",
		 u2, u1, u1, u3, u2);
	/* u2 asks 1 and 9: 9 was never reached and changes nothing; 1 still clears what that order saw. */
	cr_assert_eq(internal("POST", "/internal/cart/clears", body, &r), 200, "%s", r.body);
	cr_assert_eq(clears_item(&r, 0, u2, 1, "cleared"), 1);
	cr_assert_eq(clears_item(&r, 1, u1, 1, "cleared"), 2, "u1's later order (version 2) clears both lines");
	cr_assert_eq(clears_item(&r, 2, u1, 2, "cleared"), 2);
	cr_assert_eq(clears_item(&r, 3, u3, 1, "not_found"), -1);
	cr_assert_eq(clears_item(&r, 4, u2, 9, "version_ahead"), -1);
	http_resp_free(&r);
	cr_assert_eq(stored_version(u1), 3, "a clear is one change of the cart");
	cr_assert_eq(stored_version(u2), 3);
	get_cart(t1, NULL, &r);
	cr_assert_null(item_of(&r, a), "%s", r.body);
	cr_assert_null(item_of(&r, b), "%s", r.body);
	cr_assert_null(json_str(&r, "currency"), "an empty cart has no currency");
	http_resp_free(&r);
	/* u2's order saw version 1: only the line of version 1 went, b (version 2) stays. */
	get_cart(t2, NULL, &r);
	cr_assert_null(item_of(&r, a), "%s", r.body);
	cr_assert_eq(item_int(item_of(&r, b), "quantity"), 1);
	cr_assert_str_eq(json_str(&r, "currency"), "EUR");
	http_resp_free(&r);

	/* Repeating a clear removes nothing more and is no change; a version never reached alone
	 * changes nothing either. */
	snprintf(body, sizeof(body), "{\"items\":[{\"user_id\":%lld,\"version\":1},{\"user_id\":%lld,\"version\":7}]}", u2, u1);
	cr_assert_eq(internal("POST", "/internal/cart/clears", body, &r), 200, "%s", r.body);
	cr_assert_eq(clears_item(&r, 0, u2, 1, "cleared"), 0);
	cr_assert_eq(clears_item(&r, 1, u1, 7, "version_ahead"), -1);
	http_resp_free(&r);
	cr_assert_eq(stored_version(u2), 3, "the repeat is not a change");
	cr_assert_eq(stored_version(u1), 3);

	/* An item that is not {user_id, version} is refused on its own (422 invalid_item, naming
	 * it), beside the call's other items, which are still cleared. */
	const char *bad_items[] = {"1", "{\"user_id\":0,\"version\":1}", "{\"user_id\":\"7\",\"version\":1}",
				   "{\"user_id\":7,\"version\":-1}", "{\"user_id\":7}", "{\"user_id\":7,\"version\":1,\"x\":1}"};
	for (size_t i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
		char one[256], code[64];
		snprintf(one, sizeof(one), "{\"items\":[%s,{\"user_id\":%lld,\"version\":1}]}", bad_items[i], u2);
		cr_assert_eq(internal("POST", "/internal/cart/clears", one, &r), 200, "%s: %s", bad_items[i], r.body);
		cr_assert_eq(batch_item_status(&r, 0, code), 422, "%s: %s", bad_items[i], r.body);
		cr_assert_str_eq(code, "invalid_item");
		cr_assert(strstr(r.body, "\"field\":\"items[0]\""), "the error names the item: %s", r.body);
		cr_assert_eq(clears_item(&r, 1, u2, 1, "cleared"), 0, "the valid item beside it is judged");
		http_resp_free(&r);
	}
	cr_assert_eq(stored_version(u2), 3, "a clear of what was cleared before changes nothing");

	/* Refused whole, changing nothing: 422 for the envelope's shape, 400 for no JSON. */
	char many[8192];
	size_t len = (size_t)snprintf(many, sizeof(many), "{\"items\":[");
	for (int i = 0; i < 65; i++)
		len += (size_t)snprintf(many + len, sizeof(many) - len, "%s{\"user_id\":%lld,\"version\":1}", i ? "," : "", u2);
	snprintf(many + len, sizeof(many) - len, "]}");
	const char *bad[] = {"{}", "{\"items\":[]}", many, "{\"items\":{}}", "{\"items\":[{\"user_id\":7,\"version\":1}],\"x\":1}",
			     "{\"items\":[{\"user_id\":7,\"version\":1}],\"request_ids\":[]}",
			     "{\"items\":[{\"user_id\":7,\"version\":1}],\"request_ids\":[7]}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(internal("POST", "/internal/cart/clears", bad[i], &r), 422, "%s: %s", bad[i], r.body);
		http_resp_free(&r);
	}
	cr_assert_eq(internal("POST", "/internal/cart/clears", "{\"items\":[", &r), 400, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(stored_version(u2), 3, "no refused call changed the cart");
	free(t1);
	free(t2);
	free(t3);
}

/* --- concurrency ------------------------------------------------------------------------ */

struct racer {
	const char *token;
	long long pid;
	const char *if_match;
	long status;
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	struct http_resp r;
	rc->status = put_item(rc->token, NULL, rc->pid, 1, rc->if_match, &r);
	http_resp_free(&r);
	return NULL;
}

Test(cart, concurrent_puts_never_lose_one)
{
	enum { N = 40 };
	long long pids[N];
	char *user = customer_token(NULL);
	for (int i = 0; i < N; i++)
		pids[i] = test_product(admin, 100, "EUR");
	/* A new user: the cart itself is created by the racers. */
	static struct racer racers[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		racers[i] = (struct racer){.token = user, .pid = pids[i]};
		cr_assert_eq(pthread_create(&t[i], NULL, race, &racers[i]), 0);
	}
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(racers[i].status, 200, "racer %d got %ld", i, racers[i].status);
	}
	struct http_resp r;
	get_cart(user, NULL, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), N, "%s", r.body);
	cr_assert_eq(json_int(&r, "version"), N, "one version per change");
	http_resp_free(&r);

	/* All with the same If-Match: exactly one wins. */
	char tag[32];
	snprintf(tag, sizeof(tag), "\"%d\"", N);
	for (int i = 0; i < N; i++) {
		racers[i] = (struct racer){.token = user, .pid = pids[i], .if_match = tag};
		cr_assert_eq(pthread_create(&t[i], NULL, race, &racers[i]), 0);
	}
	int won = 0, refused = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		won += racers[i].status == 200;
		refused += racers[i].status == 412;
	}
	cr_assert_eq(won, 1, "winners %d", won);
	cr_assert_eq(refused, N - 1);
	cr_assert_eq(cart_version(user, NULL), N + 1);
	free(user);
}
