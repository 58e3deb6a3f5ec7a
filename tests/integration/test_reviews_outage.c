/* test_reviews_outage.c: reviews with the product service stopped, or hung. Each test stops a
 * shared service, so nothing else may run beside it: scripts/store test runs the programs one by
 * one, and the tests here hold a lock. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

TestSuite(reviews_outage, .init = test_alone, .fini = test_alone_end);

static long long seed_review(long long pid, long long uid, int rating)
{
	char sql[400], out[32];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO reviews (product_id, user_id, author_name, rating, title, body) VALUES "
		 "(%lld, %lld, 'Seeded Shopper', %d, 'outage', ''); SELECT LAST_INSERT_ID()",
		 pid, uid, rating);
	test_sql("store_review", sql, out, sizeof(out));
	return atoll(out);
}

/* true once GET /api/v1/products/{pid} shows `count` ratings averaging `avg_centi` / 100. */
static bool product_rating_is(long long pid, long long count, long long avg_centi, int seconds)
{
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/products/%lld", pid);
	for (int i = 0; i < seconds * 10; i++) {
		struct http_resp r;
		struct json_object *c, *a;
		api("GET", path, NULL, NULL, &r);
		bool ok = r.status == 200 && json_object_object_get_ex(r.json, "rating_count", &c) &&
			  json_object_object_get_ex(r.json, "rating_avg", &a) && json_object_get_int64(c) == count &&
			  (long long)(json_object_get_double(a) * 100 + 0.5) == avg_centi;
		http_resp_free(&r);
		if (ok)
			return true;
		usleep(100 * 1000);
	}
	return false;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * A product service that hangs (its socket accepts, nothing answers) holds up the rating call of
 * one product: the relay keeps that row locked through the call, up to its 5 s timeout. A review
 * of another product must not wait for it. Before, the rating call's supersede (a DELETE of the
 * product's pending call) had no index on its target: it locked, and so waited for, every pending
 * row of the outbox. (A change of the *same* product does wait for its call under way: so an old
 * value never lands last. So each other product here is changed once, with no call of its own.)
 */
Test(reviews_outage, a_hung_product_service_holds_up_no_other_products_reviews, .timeout = 120)
{
	char *admin = admin_token(), path[96];
	long long uid;
	char *author = customer_token(&uid);
	long long hung = test_product(admin, 100, "EUR"), others[2];
	long long a = seed_review(hung, uid, 5), b[2];
	for (int i = 0; i < 2; i++) {
		others[i] = test_product(admin, 100, "EUR");
		b[i] = seed_review(others[i], uid, 5);
	}
	struct http_resp r;
	double slowest = 0;
	long status_b = 200;

	test_service_pause("product", true);
	snprintf(path, sizeof(path), "/api/v1/reviews/%lld", a);
	api("PATCH", path, "{\"rating\":4}", author, &r);
	long status_a = r.status;
	http_resp_free(&r);
	/* The relay takes the hung product's call within a round (250 ms) and waits on it 5 s: the
	 * other products' edits, 1 s and 2 s later, meet it locked. */
	for (int i = 0; i < 2 && status_b == 200; i++) {
		sleep(1);
		snprintf(path, sizeof(path), "/api/v1/reviews/%lld", b[i]);
		double t0 = now_s();
		api("PATCH", path, "{\"rating\":3}", author, &r);
		double took = now_s() - t0;
		status_b = r.status;
		http_resp_free(&r);
		if (took > slowest)
			slowest = took;
	}
	test_service_pause("product", false);
	cr_assert_eq(status_a, 200);
	cr_assert_eq(status_b, 200);
	cr_assert_lt(slowest, 1.5, "an edit of another product's review took %.2f s", slowest);
	/* The ratings land once the product service answers again. */
	cr_assert(product_rating_is(hung, 1, 400, 60), "the hung product's rating never landed");
	for (int i = 0; i < 2; i++)
		cr_assert(product_rating_is(others[i], 1, 300, 60), "another product's rating never landed");
	free(author);
	free(admin);
}

Test(reviews_outage, product_service_stopped_while_reviews_change, .timeout = 120)
{
	char *admin = admin_token(), path[96];
	long long uid;
	char *author = customer_token(&uid);
	long long pid = test_product(admin, 100, "EUR");
	long long id = seed_review(pid, uid, 5);
	struct http_resp r;

	test_service_stop("product");
	/* The public list needs to know the product is on sale: 503, never a guess. */
	snprintf(path, sizeof(path), "/api/v1/products/%lld/reviews", pid);
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 503, "unavailable");
	cr_assert_not_null(http_header(&r, "Retry-After"));
	http_resp_free(&r);
	/* An edit needs only the review's own database: it is stored, and its rating waits in
	 * the outbox. */
	snprintf(path, sizeof(path), "/api/v1/reviews/%lld", id);
	api("PATCH", path, "{\"rating\":3}", author, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	char sql[200], out[32];
	snprintf(sql, sizeof(sql),
		 "SELECT COUNT(*) FROM outbox WHERE status = 'pending' AND target = "
		 "'POST /internal/product/products/%lld/rating'", pid);
	test_sql("store_review", sql, out, sizeof(out));
	cr_assert_str_eq(out, "1", "one pending rating call while the product service is down");
	sleep(2);
	test_service_start("product");
	test_until_ok("/api/v1/products/health", NULL);
	/* The relay retries with backoff: the rating lands once the service is back. */
	cr_assert(product_rating_is(pid, 1, 300, 60), "the rating never reached the product");
	free(author);
	free(admin);
}
