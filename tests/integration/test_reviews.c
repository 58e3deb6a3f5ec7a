/* test_reviews.c: the review service through the gateway: bad inputs, who may change what, moderation, helpful votes, and the rating aggregate under concurrency. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

TestSuite(reviews, .init = setup, .fini = teardown, .timeout = 240);

/* Inserts a visible review as a delivered order would have allowed it (the order service is
 * built on another branch): the API then changes it. Returns its id. */
static long long seed_review(long long pid, long long uid, int rating, const char *title)
{
	char sql[512], out[32];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO reviews (product_id, user_id, author_name, rating, title, body) VALUES "
		 "(%lld, %lld, 'Seeded Shopper', %d, '%s', 'seeded body'); SELECT LAST_INSERT_ID()",
		 pid, uid, rating, title);
	test_sql("store_review", sql, out, sizeof(out));
	long long id = atoll(out);
	cr_assert_gt(id, 0, "%s", out);
	return id;
}

/* The first line of `sql` against the review database, as a number. */
static long long sql_num(const char *sql)
{
	char out[64];
	test_sql("store_review", sql, out, sizeof(out));
	return strcmp(out, "NULL") == 0 ? 0 : atoll(out);
}

static void reviews_path(char *buf, size_t len, long long pid, const char *query)
{
	snprintf(buf, len, "/api/v1/products/%lld/reviews%s", pid, query ? query : "");
}

static void review_path(char *buf, size_t len, long long id, const char *tail)
{
	snprintf(buf, len, "/api/v1/reviews/%lld%s", id, tail ? tail : "");
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(o && json_object_object_get_ex(o, key, &v), "no %s", key);
	return v;
}

/* The public list's aggregate: count and average (hundredths). */
static void public_aggregate(long long pid, long long *count, long long *avg_centi)
{
	char path[96];
	struct http_resp r;
	reviews_path(path, sizeof(path), pid, NULL);
	api("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	struct json_object *a = member(r.json, "aggregate");
	*count = json_object_get_int64(member(a, "count"));
	*avg_centi = (long long)(json_object_get_double(member(a, "average")) * 100 + 0.5);
	http_resp_free(&r);
}

/* The visible reviews of `pid` recounted in SQL: count and sum of ratings. */
static void recount(long long pid, long long *count, long long *sum)
{
	char sql[256];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM reviews WHERE product_id = %lld AND status = 'visible'", pid);
	*count = sql_num(sql);
	snprintf(sql, sizeof(sql),
		 "SELECT COALESCE(SUM(rating), 0) FROM reviews WHERE product_id = %lld AND status = 'visible'", pid);
	*sum = sql_num(sql);
}

static long long centi(long long sum, long long count)
{
	return count ? (sum * 200 + count) / (2 * count) : 0;
}

/* Waits up to `seconds` for the product service to show rating_count `count` and the average
 * `avg_centi` (the outbox relays the change a moment later). */
static bool product_rating_is(long long pid, long long count, long long avg_centi, int seconds)
{
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/products/%lld", pid);
	for (int i = 0; i < seconds * 10; i++) {
		struct http_resp r;
		api("GET", path, NULL, NULL, &r);
		if (r.status == 200) {
			struct json_object *c, *a;
			if (json_object_object_get_ex(r.json, "rating_count", &c) &&
			    json_object_object_get_ex(r.json, "rating_avg", &a) && json_object_get_int64(c) == count &&
			    (long long)(json_object_get_double(a) * 100 + 0.5) == avg_centi) {
				http_resp_free(&r);
				return true;
			}
		}
		http_resp_free(&r);
		usleep(100 * 1000);
	}
	return false;
}

/* true when an order service answers in this stack. */
static bool order_service_present(void)
{
	struct http_resp r;
	api("GET", "/api/v1/orders/health", NULL, NULL, &r);
	bool up = r.status == 200;
	http_resp_free(&r);
	return up;
}

/* --- the public list ------------------------------------------------------------------------ */

Test(reviews, unknown_or_unsold_product_is_404)
{
	char path[96];
	struct http_resp r;
	reviews_path(path, sizeof(path), 900000000000LL, NULL);
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);

	long long pid = test_product(admin, 500, "EUR");
	char ppath[64];
	snprintf(ppath, sizeof(ppath), "/api/v1/products/%lld", pid);
	api("PATCH", ppath, "{\"status\":\"archived\"}", admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	reviews_path(path, sizeof(path), pid, NULL);
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
}

Test(reviews, empty_list_has_a_zero_aggregate_and_five_histogram_bars)
{
	char path[96];
	struct http_resp r;
	long long pid = test_product(admin, 500, "EUR");
	reviews_path(path, sizeof(path), pid, NULL);
	api("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 0);
	cr_assert_eq(json_int(&r, "limit"), 20);
	struct json_object *a = member(r.json, "aggregate"), *h = member(a, "histogram");
	cr_assert_eq(json_object_get_int64(member(a, "count")), 0);
	cr_assert_float_eq(json_object_get_double(member(a, "average")), 0.0, 1e-9);
	for (int s = 1; s <= 5; s++) {
		char k[2] = {(char)('0' + s), 0};
		cr_assert_eq(json_object_get_int64(member(h, k)), 0);
	}
	http_resp_free(&r);
}

Test(reviews, bad_list_queries_are_422)
{
	char path[96];
	struct http_resp r;
	long long pid = test_product(admin, 500, "EUR");
	static const char *const bad[] = {"?sort=best", "?sort=", "?rating=0", "?rating=6", "?rating=3.5",
					  "?rating=x", "?limit=0",  "?limit=101", "?page=2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		reviews_path(path, sizeof(path), pid, bad[i]);
		api("GET", path, NULL, NULL, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
}

Test(reviews, sorts_and_rating_filter)
{
	char path[128];
	struct http_resp r;
	long long pid = test_product(admin, 500, "EUR");
	long long u1, u2, u3;
	free(customer_token(&u1));
	free(customer_token(&u2));
	free(customer_token(&u3));
	long long a = seed_review(pid, u1, 1, "one star");
	long long b = seed_review(pid, u2, 5, "five stars");
	long long c = seed_review(pid, u3, 3, "three stars");
	char sql[160];
	snprintf(sql, sizeof(sql), "UPDATE reviews SET helpful_count = 7 WHERE id = %lld", a);
	test_sql("store_review", sql, NULL, 0);
	static const struct {
		const char *q;
		int first_is; /* 0 a, 1 b, 2 c */
		long long total;
	} cases[] = {{"?sort=rating_desc", 1, 3}, {"?sort=rating_asc", 0, 3}, {"?sort=helpful", 0, 3},
		     {"?sort=oldest", 0, 3},      {"?sort=newest", 2, 3},     {"?rating=5", 1, 1},
		     {"?rating=3&sort=oldest", 2, 1}};
	long long ids[] = {a, b, c};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		reviews_path(path, sizeof(path), pid, cases[i].q);
		api("GET", path, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		cr_assert_eq(json_int(&r, "total"), cases[i].total, "%s: %s", cases[i].q, r.body);
		struct json_object *first = json_object_array_get_idx(member(r.json, "items"), 0);
		cr_assert_eq(json_object_get_int64(member(first, "id")), ids[cases[i].first_is], "%s: %s", cases[i].q,
			     r.body);
		/* The public view: a display name, never the e-mail or the author's id. */
		cr_assert_str_eq(json_object_get_string(member(first, "author_name")), "Seeded Shopper");
		cr_assert(json_object_get_boolean(member(first, "verified_purchase")));
		cr_assert_not(json_object_object_get_ex(first, "user_id", NULL), "%s", r.body);
		http_resp_free(&r);
	}
	reviews_path(path, sizeof(path), pid, "?sort=rating_desc&limit=1&offset=1");
	api("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_array_length(member(r.json, "items")), 1);
	cr_assert_eq(json_object_get_int64(member(json_object_array_get_idx(member(r.json, "items"), 0), "id")), c);
	http_resp_free(&r);
}

/* --- creating ---------------------------------------------------------------------------------- */

Test(reviews, create_needs_a_signed_in_caller)
{
	char path[96];
	struct http_resp r;
	reviews_path(path, sizeof(path), 1, NULL);
	api("POST", path, "{\"rating\":5,\"title\":\"ok\"}", NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	api("POST", path, "{\"rating\":5,\"title\":\"ok\"}", "not.a.token", &r);
	assert_problem(&r, 401, "invalid_token");
	http_resp_free(&r);
}

Test(reviews, bad_bodies_are_422_and_name_the_field)
{
	char path[96], long_title[200], long_body[5100];
	struct http_resp r;
	char *t = customer_token(NULL);
	long long pid = test_product(admin, 500, "EUR");
	memset(long_title, 'a', 121);
	long_title[121] = '\0';
	memset(long_body, 'b', 5001);
	long_body[5001] = '\0';
	char *too_long = malloc(400), *body_long = malloc(5200);
	snprintf(too_long, 400, "{\"rating\":4,\"title\":\"%s\"}", long_title);
	snprintf(body_long, 5200, "{\"rating\":4,\"title\":\"t\",\"body\":\"%s\"}", long_body);
	const struct {
		const char *body, *field;
	} cases[] = {
		{"{\"rating\":0,\"title\":\"ok\"}", "rating"},
		{"{\"rating\":6,\"title\":\"ok\"}", "rating"},
		{"{\"rating\":3.5,\"title\":\"ok\"}", "rating"},
		{"{\"rating\":\"5\",\"title\":\"ok\"}", "rating"},
		{"{\"rating\":null,\"title\":\"ok\"}", "rating"},
		{"{\"title\":\"ok\"}", "rating"},
		{"{\"rating\":5,\"title\":\"\"}", "title"},
		{"{\"rating\":5}", "title"},
		{too_long, "title"},
		{"{\"rating\":5,\"title\":\"bell\\u0007here\"}", "title"},
		{"{\"rating\":5,\"title\":\"two\\nlines\"}", "title"},
		{"{\"rating\":5,\"title\":\"c1\\u0085control\"}", "title"},
		{"{\"rating\":5,\"title\":\"ok\",\"body\":\"nul\\u0000byte\"}", "body"},
		{body_long, "body"},
		{"{\"rating\":5,\"title\":\"ok\",\"verified\":true}", "verified"},
		{"{\"rating\":5,\"title\":\"ok\",\"user_id\":1}", "user_id"},
	};
	reviews_path(path, sizeof(path), pid, NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		api("POST", path, cases[i].body, t, &r);
		assert_problem(&r, 422, "validation_failed");
		cr_assert(strstr(r.body, cases[i].field) != NULL, "case %zu: %s does not name %s", i, r.body,
			  cases[i].field);
		http_resp_free(&r);
	}
	api("POST", path, "{\"rating\":5,", t, &r);
	assert_problem(&r, 400, "malformed_json");
	http_resp_free(&r);
	free(too_long);
	free(body_long);
	free(t);
}

Test(reviews, create_on_an_unknown_product_is_404)
{
	char path[96];
	struct http_resp r;
	char *t = customer_token(NULL);
	reviews_path(path, sizeof(path), 900000000001LL, NULL);
	api("POST", path, "{\"rating\":5,\"title\":\"ok\"}", t, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	free(t);
}

Test(reviews, create_while_the_order_service_is_unreachable_is_503_and_stores_nothing)
{
	if (order_service_present())
		cr_skip_test("an order service answers in this stack: the outage case needs it down");
	char path[96], sql[160];
	struct http_resp r;
	long long uid;
	char *t = customer_token(&uid);
	long long pid = test_product(admin, 500, "EUR");
	reviews_path(path, sizeof(path), pid, NULL);
	api("POST", path, "{\"rating\":5,\"title\":\"Great\"}", t, &r);
	assert_problem(&r, 503, "unavailable");
	cr_assert_not_null(http_header(&r, "Retry-After"), "503 without Retry-After");
	http_resp_free(&r);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM reviews WHERE user_id = %lld", uid);
	cr_assert_eq(sql_num(sql), 0);
	free(t);
}

Test(reviews, second_review_of_a_product_is_409_with_the_first_ones_location)
{
	char path[96], want[64];
	struct http_resp r;
	long long uid;
	char *t = customer_token(&uid);
	long long pid = test_product(admin, 500, "EUR");
	long long id = seed_review(pid, uid, 4, "first");
	reviews_path(path, sizeof(path), pid, NULL);
	api("POST", path, "{\"rating\":2,\"title\":\"second\"}", t, &r);
	assert_problem(&r, 409, "already_reviewed");
	snprintf(want, sizeof(want), "/api/v1/reviews/%lld", id);
	cr_assert_str_eq(http_header(&r, "Location"), want);
	cr_assert_eq(json_int(&r, "review_id"), id);
	http_resp_free(&r);
	free(t);
}

/* --- verified buyers: these need the order service (on its own branch until merged) --------------- */

#define CARD_OK "{\"number\":\"4242 4242 4242 4242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}"
#define CHECKOUT                                                                                        \
	"{\"shipping_address\":{\"name\":\"Ada Lovelace\",\"line1\":\"1 Main Street\",\"city\":\"Berlin\"," \
	"\"postal_code\":\"10115\",\"country\":\"DE\"}}"

/* `method` `path` with a bearer token and a fresh Idempotency-Key. */
static void send_idem(const char *method, const char *path, const char *body, const char *token, struct http_resp *r)
{
	static int n;
	char auth[4200], key[96];
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	snprintf(key, sizeof(key), "Idempotency-Key: review-test-%d-%ld-%d", (int)getpid(), (long)time(NULL), ++n);
	const char *h[] = {auth, key, NULL};
	http_send(test_env("STORE_TEST_URL"), method, path, body, strlen(body), h, r);
}

/* Buys one unit of `pid` as `shopper` through the real cart, order and payment path, and, with
 * `deliver`, has staff ship and deliver it. Returns the order's id. */
static long long buy(const char *shopper, long long pid, bool deliver)
{
	char path[96], body[256];
	struct http_resp r;
	test_put_stock(admin, pid, 10, 0);
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", pid);
	api("PUT", path, "{\"quantity\":1}", shopper, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	send_idem("POST", "/api/v1/orders", CHECKOUT, shopper, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	long long oid = json_int(&r, "id");
	http_resp_free(&r);
	snprintf(body, sizeof(body), "{\"order_id\":%lld,\"card\":" CARD_OK "}", oid);
	send_idem("POST", "/api/v1/payments", body, shopper, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	/* The payment tells the order through its outbox: paid a moment later. */
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", oid);
	bool paid = false;
	for (int i = 0; i < 100 && !paid; i++) {
		api("GET", path, NULL, shopper, &r);
		paid = r.status == 200 && json_str(&r, "status") && strcmp(json_str(&r, "status"), "paid") == 0;
		http_resp_free(&r);
		if (!paid)
			usleep(100 * 1000);
	}
	cr_assert(paid, "order %lld never became paid", oid);
	if (deliver) {
		snprintf(path, sizeof(path), "/api/v1/orders/%lld/ship", oid);
		api("POST", path, "{\"carrier\":\"DHL\",\"tracking_number\":\"JD0001\"}", admin, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		http_resp_free(&r);
		snprintf(path, sizeof(path), "/api/v1/orders/%lld/deliver", oid);
		api("POST", path, "{}", admin, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		http_resp_free(&r);
	}
	return oid;
}

Test(reviews, verified_buyer_reviews_after_a_delivered_order)
{
	if (!order_service_present())
		cr_skip_test("order service not in the stack");
	char path[96], location[64];
	struct http_resp r;
	long long uid;
	char *t = customer_token(&uid);
	long long pid = test_product(admin, 1200, "EUR");
	buy(t, pid, true);
	reviews_path(path, sizeof(path), pid, NULL);
	api("POST", path, "{\"rating\":4,\"title\":\"Holds heat well\",\"body\":\"Tea stays hot.\"}", t, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	long long id = json_int(&r, "id");
	snprintf(location, sizeof(location), "/api/v1/reviews/%lld", id);
	cr_assert_str_eq(http_header(&r, "Location"), location);
	cr_assert_eq(json_int(&r, "user_id"), uid);
	http_resp_free(&r);
	long long count, avg;
	public_aggregate(pid, &count, &avg);
	cr_assert_eq(count, 1);
	cr_assert_eq(avg, 400);
	cr_assert(product_rating_is(pid, 1, 400, 15));
	api("POST", path, "{\"rating\":5,\"title\":\"again\"}", t, &r);
	assert_problem(&r, 409, "already_reviewed");
	http_resp_free(&r);
	free(t);
}

Test(reviews, paid_but_not_delivered_or_another_product_is_403)
{
	if (!order_service_present())
		cr_skip_test("order service not in the stack");
	char path[96];
	struct http_resp r;
	char *paid = customer_token(NULL), *other = customer_token(NULL);
	long long pid = test_product(admin, 1200, "EUR"), elsewhere = test_product(admin, 900, "EUR");
	buy(paid, pid, false);
	buy(other, elsewhere, true);
	reviews_path(path, sizeof(path), pid, NULL);
	api("POST", path, "{\"rating\":5,\"title\":\"not here yet\"}", paid, &r);
	assert_problem(&r, 403, "not_a_verified_buyer");
	http_resp_free(&r);
	api("POST", path, "{\"rating\":5,\"title\":\"bought something else\"}", other, &r);
	assert_problem(&r, 403, "not_a_verified_buyer");
	http_resp_free(&r);
	free(paid);
	free(other);
}

Test(reviews, shopper_without_a_delivered_order_is_403)
{
	if (!order_service_present())
		cr_skip_test("order service not in the stack");
	char path[96];
	struct http_resp r;
	char *t = customer_token(NULL);
	long long pid = test_product(admin, 500, "EUR");
	reviews_path(path, sizeof(path), pid, NULL);
	api("POST", path, "{\"rating\":5,\"title\":\"never bought it\"}", t, &r);
	assert_problem(&r, 403, "not_a_verified_buyer");
	http_resp_free(&r);
	free(t);
}

/* --- editing and deleting ------------------------------------------------------------------------ */

Test(reviews, author_edits_and_the_aggregate_reaches_the_product)
{
	char path[96];
	struct http_resp r;
	long long uid;
	char *t = customer_token(&uid);
	long long pid = test_product(admin, 500, "EUR");
	long long id = seed_review(pid, uid, 5, "good");
	review_path(path, sizeof(path), id, NULL);
	/* Text is stored as given and sent back as a JSON string, never interpreted. */
	api("PATCH", path, "{\"rating\":2,\"title\":\"<b>meh</b> & \\\"so\\\"\",\"body\":\"line 1\\nline 2\"}", t, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "rating"), 2);
	cr_assert_str_eq(json_str(&r, "title"), "<b>meh</b> & \"so\"");
	cr_assert_str_eq(json_str(&r, "body"), "line 1\nline 2");
	cr_assert_str_eq(json_str(&r, "status"), "visible");
	http_resp_free(&r);

	long long count, avg;
	public_aggregate(pid, &count, &avg);
	cr_assert_eq(count, 1);
	cr_assert_eq(avg, 200);
	cr_assert(product_rating_is(pid, 1, 200, 15), "the product never showed rating 2.00 from 1 review");

	/* Only the title: the rating stays. */
	api("PATCH", path, "{\"title\":\"fine after all\"}", t, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "rating"), 2);
	http_resp_free(&r);
	free(t);
}

Test(reviews, bad_edits_are_422)
{
	char path[96];
	struct http_resp r;
	long long uid;
	char *t = customer_token(&uid);
	long long pid = test_product(admin, 500, "EUR");
	long long id = seed_review(pid, uid, 5, "good");
	review_path(path, sizeof(path), id, NULL);
	static const char *const bad[] = {"{}", "{\"rating\":0}", "{\"rating\":6}", "{\"rating\":3.5}", "{\"rating\":\"5\"}",
					  "{\"title\":\"\"}", "{\"title\":\"tab\\there\"}", "{\"status\":\"visible\"}",
					  "{\"helpful_count\":100}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api("PATCH", path, bad[i], t, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	free(t);
}

Test(reviews, another_users_review_is_404_to_edit_or_delete)
{
	char path[96];
	struct http_resp r;
	long long uid;
	char *owner = customer_token(&uid), *other = customer_token(NULL);
	long long pid = test_product(admin, 500, "EUR");
	long long id = seed_review(pid, uid, 5, "mine");
	review_path(path, sizeof(path), id, NULL);
	api("PATCH", path, "{\"rating\":1}", other, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("DELETE", path, NULL, other, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	/* Staff do not edit shoppers' words either: they hide. */
	api("PATCH", path, "{\"rating\":1}", admin, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	review_path(path, sizeof(path), 900000000002LL, NULL);
	api("PATCH", path, "{\"rating\":1}", owner, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	free(owner);
	free(other);
}

Test(reviews, author_deletes_and_the_aggregate_follows)
{
	char path[96];
	struct http_resp r;
	long long u1, u2;
	char *t1 = customer_token(&u1), *t2 = customer_token(&u2);
	long long pid = test_product(admin, 500, "EUR");
	long long a = seed_review(pid, u1, 5, "five");
	long long b = seed_review(pid, u2, 2, "two");
	review_path(path, sizeof(path), b, NULL);
	api("PATCH", path, "{\"rating\":3}", t2, &r); /* 5 + 3 */
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	long long count, avg;
	public_aggregate(pid, &count, &avg);
	cr_assert_eq(count, 2);
	cr_assert_eq(avg, 400);

	review_path(path, sizeof(path), a, NULL);
	api("DELETE", path, NULL, t1, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	http_resp_free(&r);
	api("GET", path, NULL, t1, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("DELETE", path, NULL, t1, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	public_aggregate(pid, &count, &avg);
	cr_assert_eq(count, 1);
	cr_assert_eq(avg, 300);
	cr_assert(product_rating_is(pid, 1, 300, 15));
	free(t1);
	free(t2);
}

Test(reviews, mine_lists_only_the_callers_reviews)
{
	struct http_resp r;
	long long u1, u2;
	char *t1 = customer_token(&u1), *t2 = customer_token(&u2);
	long long p1 = test_product(admin, 500, "EUR"), p2 = test_product(admin, 500, "EUR");
	seed_review(p1, u1, 5, "one");
	seed_review(p2, u1, 4, "two");
	seed_review(p1, u2, 1, "other");
	api("GET", "/api/v1/reviews?mine=true", NULL, t1, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 2, "%s", r.body);
	struct json_object *items = member(r.json, "items");
	for (size_t i = 0; i < json_object_array_length(items); i++)
		cr_assert_eq(json_object_get_int64(member(json_object_array_get_idx(items, i), "user_id")), u1);
	http_resp_free(&r);
	api("GET", "/api/v1/reviews?mine=true", NULL, NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	api("GET", "/api/v1/reviews", NULL, t1, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	api("GET", "/api/v1/reviews?mine=yes", NULL, t1, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	free(t1);
	free(t2);
}

/* --- helpful ------------------------------------------------------------------------------------- */

Test(reviews, helpful_once_per_user_and_never_on_ones_own)
{
	char path[96];
	struct http_resp r;
	long long uid;
	char *author = customer_token(&uid), *reader = customer_token(NULL);
	long long pid = test_product(admin, 500, "EUR");
	long long id = seed_review(pid, uid, 4, "useful");
	review_path(path, sizeof(path), id, "/helpful");
	api("POST", path, NULL, NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	api("POST", path, NULL, reader, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "helpful_count"), 1);
	http_resp_free(&r);
	api("POST", path, NULL, reader, &r);
	assert_problem(&r, 409, "already_voted");
	http_resp_free(&r);
	api("POST", path, NULL, author, &r);
	assert_problem(&r, 403, "own_review");
	http_resp_free(&r);
	review_path(path, sizeof(path), 900000000003LL, "/helpful");
	api("POST", path, NULL, reader, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	free(author);
	free(reader);
}

/* One request of a burst, run on its own thread. */
struct call {
	const char *method, *token;
	char path[96], body[64];
	long status;
};

static void *run_call(void *arg)
{
	struct call *c = arg;
	struct http_resp r;
	api(c->method, c->path, c->body[0] ? c->body : NULL, c->token, &r);
	c->status = r.status;
	http_resp_free(&r);
	return NULL;
}

/* Runs calls[0..n) at once and waits for them all. */
static void burst(struct call *calls, size_t n)
{
	pthread_t *th = calloc(n, sizeof(*th));
	cr_assert_not_null(th);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(pthread_create(&th[i], NULL, run_call, &calls[i]), 0);
	for (size_t i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	free(th);
}

Test(reviews, concurrent_helpful_votes_count_once_each)
{
	enum { N = 12 };
	long long uid;
	free(customer_token(&uid));
	long long pid = test_product(admin, 500, "EUR");
	long long id = seed_review(pid, uid, 4, "popular");
	char *voters[N];
	static struct call calls[2 * N];
	for (int i = 0; i < N; i++)
		voters[i] = customer_token(NULL);
	/* Each voter twice, all at once: N votes count, N are 409. */
	for (int i = 0; i < 2 * N; i++) {
		calls[i] = (struct call){.method = "POST", .token = voters[i % N]};
		review_path(calls[i].path, sizeof(calls[i].path), id, "/helpful");
	}
	burst(calls, 2 * N);
	int ok = 0, again = 0;
	for (int i = 0; i < 2 * N; i++) {
		ok += calls[i].status == 200;
		again += calls[i].status == 409;
	}
	cr_assert_eq(ok, N, "200s: %d, 409s: %d", ok, again);
	cr_assert_eq(again, N);
	char sql[128];
	snprintf(sql, sizeof(sql), "SELECT helpful_count FROM reviews WHERE id = %lld", id);
	cr_assert_eq(sql_num(sql), N);
	for (int i = 0; i < N; i++)
		free(voters[i]);
}

/* --- moderation -------------------------------------------------------------------------------------- */

Test(reviews, staff_routes_are_403_for_customers)
{
	char path[96];
	struct http_resp r;
	long long uid;
	char *t = customer_token(&uid);
	long long pid = test_product(admin, 500, "EUR");
	long long id = seed_review(pid, uid, 4, "fine");
	review_path(path, sizeof(path), id, "/hide");
	api("POST", path, "{\"reason\":\"spam\"}", t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	review_path(path, sizeof(path), id, "/unhide");
	api("POST", path, NULL, t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	api("GET", "/api/v1/reviews?status=hidden", NULL, t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	api("GET", "/api/v1/reviews?status=visible&mine=true", NULL, t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	review_path(path, sizeof(path), id, "/hide");
	api("POST", path, "{\"reason\":\"spam\"}", NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	free(t);
}

Test(reviews, hidden_reviews_leave_the_list_and_the_aggregate)
{
	char path[96], list[96];
	struct http_resp r;
	long long u1, u2;
	char *t1 = customer_token(&u1), *t2 = customer_token(&u2);
	long long pid = test_product(admin, 500, "EUR");
	long long a = seed_review(pid, u1, 5, "honest");
	long long b = seed_review(pid, u2, 1, "spam spam");

	review_path(path, sizeof(path), b, "/hide");
	static const char *const bad[] = {"{}", "{\"reason\":\"\"}", "{\"reason\":5}", "{\"reason\":\"x\",\"notify\":true}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api("POST", path, bad[i], admin, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	api("POST", path, "{\"reason\":\"advertising\"}", admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "hidden");
	cr_assert_str_eq(json_str(&r, "hidden_reason"), "advertising");
	http_resp_free(&r);
	api("POST", path, "{\"reason\":\"again\"}", admin, &r);
	assert_problem(&r, 409, "already_hidden");
	http_resp_free(&r);

	reviews_path(list, sizeof(list), pid, NULL);
	api("GET", list, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 1, "%s", r.body);
	cr_assert_eq(json_object_get_int64(member(json_object_array_get_idx(member(r.json, "items"), 0), "id")), a);
	struct json_object *agg = member(r.json, "aggregate");
	cr_assert_eq(json_object_get_int64(member(agg, "count")), 1, "%s", r.body);
	cr_assert_eq(json_object_get_int64(member(member(agg, "histogram"), "1")), 0, "%s", r.body);
	cr_assert_eq(json_object_get_int64(member(member(agg, "histogram"), "5")), 1, "%s", r.body);
	http_resp_free(&r);
	cr_assert(product_rating_is(pid, 1, 500, 15));

	/* Hidden: 404 to the public and other shoppers, still the author's, listed for staff. */
	review_path(path, sizeof(path), b, NULL);
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", path, NULL, t1, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", path, NULL, t2, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "hidden");
	http_resp_free(&r);
	review_path(path, sizeof(path), b, "/helpful");
	api("POST", path, NULL, t1, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", "/api/v1/reviews?status=hidden&limit=100", NULL, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char needle[48];
	snprintf(needle, sizeof(needle), "\"id\":%lld,", b);
	cr_assert(strstr(r.body, needle) != NULL, "%s", r.body);
	http_resp_free(&r);
	api("GET", "/api/v1/reviews?status=gone", NULL, admin, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);

	review_path(path, sizeof(path), b, "/unhide");
	api("POST", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "visible");
	http_resp_free(&r);
	api("POST", path, NULL, admin, &r);
	assert_problem(&r, 409, "not_hidden");
	http_resp_free(&r);
	long long count, avg;
	public_aggregate(pid, &count, &avg);
	cr_assert_eq(count, 2);
	cr_assert_eq(avg, 300);
	cr_assert(product_rating_is(pid, 2, 300, 15));

	char sql[160];
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM review_moderation WHERE review_id = %lld", b);
	cr_assert_eq(sql_num(sql), 2, "every hide and unhide leaves a history row");
	free(t1);
	free(t2);
}

/* --- the aggregate under concurrency ---------------------------------------------------------------- */

Test(reviews, aggregate_equals_a_recount_after_concurrent_changes)
{
	enum { AUTHORS = 10, ROUNDS = 20 };
	long long pid = test_product(admin, 500, "EUR");
	long long uids[AUTHORS], ids[AUTHORS];
	char *tokens[AUTHORS];
	for (int i = 0; i < AUTHORS; i++) {
		tokens[i] = customer_token(&uids[i]);
		ids[i] = seed_review(pid, uids[i], 1 + i % 5, "burst");
	}
	/* 200 operations at once: edits by their authors, hides and unhides by staff, helpful
	 * votes by other authors, and deletes of two reviews. */
	static struct call calls[AUTHORS * ROUNDS];
	size_t n = 0;
	for (int round = 0; round < ROUNDS; round++) {
		for (int i = 0; i < AUTHORS; i++) {
			struct call *c = &calls[n++];
			*c = (struct call){.token = tokens[i]};
			switch ((round + i) % 5) {
			case 0:
			case 1:
				c->method = "PATCH";
				review_path(c->path, sizeof(c->path), ids[i], NULL);
				snprintf(c->body, sizeof(c->body), "{\"rating\":%d}", 1 + (round * 7 + i) % 5);
				break;
			case 2:
				c->method = "POST";
				c->token = admin;
				review_path(c->path, sizeof(c->path), ids[i], "/hide");
				snprintf(c->body, sizeof(c->body), "{\"reason\":\"burst %d\"}", round);
				break;
			case 3:
				c->method = "POST";
				c->token = admin;
				review_path(c->path, sizeof(c->path), ids[i], "/unhide");
				break;
			default:
				c->method = "POST";
				review_path(c->path, sizeof(c->path), ids[(i + 1) % AUTHORS], "/helpful");
				break;
			}
			if (round == ROUNDS - 1 && i < 2) {
				c->method = "DELETE";
				c->token = tokens[i];
				c->body[0] = '\0';
				review_path(c->path, sizeof(c->path), ids[i], NULL);
			}
		}
	}
	burst(calls, n);
	for (size_t i = 0; i < n; i++)
		cr_expect(calls[i].status < 500, "%s %s: %ld", calls[i].method, calls[i].path, calls[i].status);

	/* One more change so that every seeded row is counted whatever the burst did. */
	struct http_resp r;
	char path[96];
	review_path(path, sizeof(path), ids[AUTHORS - 1], NULL);
	api("PATCH", path, "{\"rating\":4}", tokens[AUTHORS - 1], &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);

	long long want_count, want_sum, count, avg;
	recount(pid, &want_count, &want_sum);
	char sql[200];
	snprintf(sql, sizeof(sql), "SELECT count FROM rating_aggregates WHERE product_id = %lld", pid);
	cr_assert_eq(sql_num(sql), want_count);
	snprintf(sql, sizeof(sql), "SELECT total FROM rating_aggregates WHERE product_id = %lld", pid);
	cr_assert_eq(sql_num(sql), want_sum);
	snprintf(sql, sizeof(sql), "SELECT r1 + r2 + r3 + r4 + r5 FROM rating_aggregates WHERE product_id = %lld", pid);
	cr_assert_eq(sql_num(sql), want_count);
	public_aggregate(pid, &count, &avg);
	cr_assert_eq(count, want_count);
	cr_assert_eq(avg, centi(want_sum, want_count));
	cr_assert(product_rating_is(pid, want_count, centi(want_sum, want_count), 20),
		  "the product never showed %lld reviews averaging %lld/100", want_count, centi(want_sum, want_count));
	for (int i = 0; i < AUTHORS; i++)
		free(tokens[i]);
}
