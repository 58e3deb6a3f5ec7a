/* test_cart_outage.c: the cart with the product service stopped. One test: it stops a shared
 * service, so nothing else may run beside it (scripts/store test runs the programs one by one). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static void call(const char *method, const char *path, const char *body, const char *bearer, const char *cart_token,
		 struct http_resp *r)
{
	char auth[4096], ct[128];
	const char *h[3] = {NULL};
	size_t n = 0;
	if (bearer) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", bearer);
		h[n++] = auth;
	}
	if (cart_token) {
		snprintf(ct, sizeof(ct), "X-Cart-Token: %s", cart_token);
		h[n++] = ct;
	}
	http_send(test_env("STORE_TEST_URL"), method, path, body, body ? strlen(body) : 0, h, r);
}

Test(cart_outage, product_service_stopped, .timeout = 120)
{
	char *admin = admin_token(), *user = customer_token(NULL), path[64], *guest;
	long long a = test_product(admin, 100, "EUR"), b = test_product(admin, 200, "EUR");
	struct http_resp r;

	call("POST", "/api/v1/carts", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	guest = strdup(json_str(&r, "token"));
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", a);
	call("PUT", path, "{\"quantity\":1}", user, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	call("PUT", path, "{\"quantity\":2}", NULL, guest, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", b);
	call("PUT", path, "{\"quantity\":1}", user, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	long long v = json_int(&r, "version");
	http_resp_free(&r);

	test_service_stop("product");
	/* Reads need prices: 503 with Retry-After, never a cart with guessed prices. */
	call("GET", "/api/v1/cart", NULL, user, NULL, &r);
	assert_problem(&r, 503, "unavailable");
	cr_assert_not_null(http_header(&r, "Retry-After"));
	cr_assert(strstr(json_str(&r, "detail"), "product service"), "%s", r.body);
	http_resp_free(&r);
	/* Setting a line needs the catalogue: 503, and nothing changes. */
	call("PUT", path, "{\"quantity\":3}", user, NULL, &r);
	assert_problem(&r, 503, "unavailable");
	http_resp_free(&r);
	/* A new guest cart, removing a line, emptying and merging need no catalogue. */
	call("POST", "/api/v1/carts", NULL, NULL, NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	call("DELETE", path, NULL, user, NULL, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	char etag[32];
	snprintf(etag, sizeof(etag), "\"%lld\"", v + 1);
	cr_assert_str_eq(http_header(&r, "ETag"), etag, "the PUT changed nothing before");
	http_resp_free(&r);
	call("POST", "/api/v1/cart/merge", NULL, user, guest, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "merged_lines"), 1);
	http_resp_free(&r);
	/* The order service's read carries no prices either. */
	test_service_start("product");
	test_until_ok("/api/v1/products/health", NULL);
	test_until_ok("/api/v1/cart", user);
	call("GET", "/api/v1/cart", NULL, user, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	struct json_object *items = json_object_object_get(r.json, "items");
	cr_assert_eq(json_object_array_length(items), 1, "%s", r.body);
	cr_assert_eq(json_object_get_int64(json_object_object_get(json_object_array_get_idx(items, 0), "quantity")), 3,
		     "1 + 2 merged: %s", r.body);
	http_resp_free(&r);
	call("DELETE", "/api/v1/cart", NULL, user, NULL, &r);
	cr_assert_eq(r.status, 204);
	http_resp_free(&r);
	free(guest);
	free(user);
	free(admin);
}
