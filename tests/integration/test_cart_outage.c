/* test_cart_outage.c: the cart with the product service stopped, and the order service's batched
 * clears with the cart service stopped. Each test stops a shared service, so nothing else may run
 * beside it: scripts/store test runs the programs one by one, and the two tests here hold a lock. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "client.h"
#include "rig.h"

TestSuite(cart_outage, .init = test_alone, .fini = test_alone_end);

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

static long long outbox_count(const char *where)
{
	char sql[512], out[32];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM outbox WHERE %s", where);
	test_sql("store_order", sql, out, sizeof(out));
	return atoll(out);
}

/* The clears the order service's outbox owes the cart are sent many at once (one call for the
 * due items of a relay round); with the cart service stopped they wait and are retried, and once
 * it is back, fewer calls than clears empty every cart. */
Test(cart_outage, batched_clears_wait_for_the_cart_service, .timeout = 120)
{
	enum { N = 4 };
	char *admin = admin_token(), *tok[N], sql[4096], rid[64], where[128], log_path[1024];
	long long uid[N], pid = test_product(admin, 100, "EUR");
	struct http_resp r;
	size_t len;

	snprintf(rid, sizeof(rid), "clears-outage-%ld-%d", (long)time(NULL), getpid());
	len = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO outbox (kind, target, payload, request_id) VALUES ");
	for (int i = 0; i < N; i++) {
		char path[64];
		tok[i] = customer_token(&uid[i]);
		snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", pid);
		call("PUT", path, "{\"quantity\":1}", tok[i], NULL, &r);
		cr_assert(r.status == 200 || r.status == 201, "%ld %s", r.status, r.body);
		http_resp_free(&r);
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					"%s('batch', 'POST /internal/cart/clears', JSON_OBJECT('user_id', %lld, 'version', 1), '%s')",
					i ? ", " : "", uid[i], rid);
	}
	snprintf(where, sizeof(where), "request_id = '%s' AND status = 'pending' AND attempts > 0", rid);

	test_service_stop("cart");
	/* As the order service writes them with its orders (what checkout.c queues). */
	test_sql("store_order", sql, NULL, 0);
	for (int i = 0; i < 100 && outbox_count(where) < N; i++)
		usleep(100 * 1000);
	cr_assert_eq(outbox_count(where), N, "the clears were not retried while the cart service was stopped");

	struct stat st;
	snprintf(log_path, sizeof(log_path), "%s/log/nginx-access.log", test_env("STORE_TEST_VAR"));
	cr_assert_eq(stat(log_path, &st), 0, "%s", log_path);
	off_t mark = st.st_size;
	test_service_start("cart");
	test_until_ok("/api/v1/cart/health", NULL);
	snprintf(where, sizeof(where), "request_id = '%s' AND status = 'sent'", rid);
	for (int i = 0; i < 200 && outbox_count(where) < N; i++)
		usleep(100 * 1000);
	cr_assert_eq(outbox_count(where), N, "the clears were not delivered once the cart service was back");
	for (int i = 0; i < N; i++) {
		call("GET", "/api/v1/cart", NULL, tok[i], NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0, "%s", r.body);
		http_resp_free(&r);
		free(tok[i]);
	}
	/* Fewer calls than clears: the answered ones in the gateway's log since the restart (calls
	 * the restarting service failed do not count; a retry may split a round). */
	char *log = rig_slurp(log_path), *line, *save = NULL;
	cr_assert_not_null(log);
	int calls = 0;
	for (line = strtok_r(log + mark, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		if (strstr(line, "POST /internal/cart/clears ") && strstr(line, " status=200 "))
			calls++;
	free(log);
	cr_assert(calls >= 1 && calls < N, "%d calls for %d clears", calls, N);
	free(admin);
}

