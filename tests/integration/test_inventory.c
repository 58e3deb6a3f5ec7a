/* test_inventory.c: stock, ledger, reservations and their concurrency, through NGINX. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <mysql.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "db.h"

static char *admin;

static void setup(void)
{
	admin = admin_token();
}

static void teardown(void)
{
	free(admin);
}

TestSuite(inventory, .init = setup, .fini = teardown, .timeout = 120);

/* A new active product in the catalogue; returns its id. */
static long long new_product(void)
{
	return test_product(admin, 500, "EUR");
}

static void put_stock(long long pid, long long on_hand, long long threshold)
{
	test_put_stock(admin, pid, on_hand, threshold);
}

/* The sum of the ledger's deltas, read through the movements route. */
static long long ledger_sum(long long pid)
{
	char path[96];
	struct http_resp r;
	long long sum = 0;
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld/movements?limit=100", pid);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	struct json_object *items = json_object_object_get(r.json, "items");
	cr_assert_leq(json_int(&r, "total"), 100);
	for (size_t i = 0; i < json_object_array_length(items); i++)
		sum += json_object_get_int64(json_object_object_get(json_object_array_get_idx(items, i), "delta"));
	http_resp_free(&r);
	return sum;
}

static long internal_post(const char *path, const char *body, struct http_resp *r)
{
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "POST", path, body, body ? strlen(body) : 0, NULL, r);
	return r->status;
}

static void unique_ref(char *buf, size_t len)
{
	static int n;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "ord-%d-%ld%09ld-%d", (int)getpid(), (long)ts.tv_sec, ts.tv_nsec, ++n);
}

static long reserve(const char *ref, long long pid, long long qty, int ttl, struct http_resp *r)
{
	char body[256];
	snprintf(body, sizeof(body), "{\"order_ref\":\"%.64s\",\"items\":[{\"product_id\":%lld,\"quantity\":%lld}],\"ttl_seconds\":%d}",
		 ref, pid, qty, ttl);
	return internal_post("/internal/inventory/reservations", body, r);
}

Test(inventory, set_adjust_and_ledger)
{
	long long pid = new_product(), on_hand, reserved, available;
	char path[96];
	struct http_resp r;

	put_stock(pid, 10, 2);
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld/adjustments", pid);
	api("POST", path, "{\"delta\":5,\"reason\":\"received\",\"reference\":\"PO-1\"}", admin, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(json_int(&r, "on_hand"), 15);
	http_resp_free(&r);
	api("POST", path, "{\"delta\":-3,\"reason\":\"damaged\"}", admin, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(on_hand, 12);
	cr_assert_eq(ledger_sum(pid), on_hand, "the ledger sums to on_hand");

	/* Public view: availability only. */
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", pid);
	api("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_int(&r, "available"), 12);
	cr_assert_null(json_str(&r, "on_hand"));
	cr_assert_null(strstr(r.body, "on_hand"), "%s", r.body);
	http_resp_free(&r);

	/* Newest first. */
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld/movements", pid);
	api("GET", path, NULL, admin, &r);
	struct json_object *first = json_object_array_get_idx(json_object_object_get(r.json, "items"), 0);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(first, "reason")), "damaged");
	cr_assert_eq(json_object_get_int64(json_object_object_get(first, "on_hand_after")), 12);
	http_resp_free(&r);

	/* Batch availability. */
	snprintf(path, sizeof(path), "/api/v1/inventory?product_ids=%lld,999999999", pid);
	api("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 1);
	http_resp_free(&r);
}

Test(inventory, bad_quantities_are_422)
{
	long long pid = new_product();
	char path[96];
	put_stock(pid, 5, 0);
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld/adjustments", pid);
	static const char *const bad[] = {"{\"delta\":0,\"reason\":\"received\"}",
					  "{\"delta\":1.5,\"reason\":\"received\"}",
					  "{\"delta\":\"3\",\"reason\":\"received\"}",
					  "{\"delta\":3000000000,\"reason\":\"received\"}",
					  "{\"delta\":99999999999999999999,\"reason\":\"received\"}",
					  "{\"delta\":1,\"reason\":\"sold\"}",
					  "{\"delta\":1,\"reason\":\"stolen\"}",
					  "{\"delta\":1}",
					  "{\"delta\":1,\"reason\":\"received\",\"actor\":\"me\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_resp r;
		api("POST", path, bad[i], admin, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", pid);
	static const char *const badput[] = {"{\"on_hand\":-1,\"low_stock_threshold\":0}",
					     "{\"on_hand\":2147483648000,\"low_stock_threshold\":0}",
					     "{\"on_hand\":\"5\",\"low_stock_threshold\":0}", "{\"on_hand\":5}",
					     "{\"on_hand\":5,\"low_stock_threshold\":0,\"reserved\":0}"};
	for (size_t i = 0; i < sizeof(badput) / sizeof(badput[0]); i++) {
		struct http_resp r;
		api("PUT", path, badput[i], admin, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	long long on_hand, reserved, available;
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(on_hand, 5, "nothing changed");
	cr_assert_eq(ledger_sum(pid), 5);
}

Test(inventory, permissions_and_unknown_products)
{
	long long me, pid = new_product();
	char *cust = customer_token(&me), path[96];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", pid);
	api("PUT", path, "{\"on_hand\":5,\"low_stock_threshold\":0}", cust, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	api("PUT", path, "{\"on_hand\":5,\"low_stock_threshold\":0}", NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	api("GET", "/api/v1/inventory/low-stock", NULL, cust, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld/movements", pid);
	api("GET", path, NULL, cust, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	/* A draft's stock is staff-only: shoppers must not learn of unpublished products. */
	long long draft = new_product();
	snprintf(path, sizeof(path), "/api/v1/products/%lld", draft);
	api("PATCH", path, "{\"status\":\"draft\"}", admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	put_stock(draft, 3, 0);
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", draft);
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/inventory?product_ids=%lld", draft);
	api("GET", path, NULL, cust, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0, "%s", r.body);
	http_resp_free(&r);
	/* No stock row yet, and a product that does not exist at all. */
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", pid);
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("PUT", "/api/v1/inventory/999999999", "{\"on_hand\":5,\"low_stock_threshold\":0}", admin, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("POST", "/api/v1/inventory/999999999/adjustments", "{\"delta\":1,\"reason\":\"received\"}", admin, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	/* The internal routes are not on the public listener. */
	api("POST", "/internal/inventory/reservations", "{}", admin, &r);
	cr_assert_eq(r.status, 404);
	http_resp_free(&r);
	free(cust);
}

Test(inventory, reserve_commit_release_and_idempotency)
{
	long long pid = new_product(), on_hand, reserved, available;
	char ref[64], path[128];
	struct http_resp r;
	put_stock(pid, 10, 0);
	unique_ref(ref, sizeof(ref));

	cr_assert_eq(reserve(ref, pid, 4, 600, &r), 201, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "active");
	/* A new reservation is answered from what it wrote: the same document a read gives. */
	struct http_resp again;
	cr_assert_eq(reserve(ref, pid, 4, 600, &again), 200, "repeating returns the existing reservation: %s", again.body);
	cr_assert(json_object_equal(r.json, again.json), "answered %s, read back %s", r.body, again.body);
	http_resp_free(&again);
	http_resp_free(&r);
	char upper[64];
	snprintf(upper, sizeof(upper), "%s", ref);
	for (char *c = upper; *c; c++)
		*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
	cr_assert_eq(reserve(upper, pid, 1, 600, &r), 201, "order refs are case-sensitive: %s", r.body);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s/release", upper);
	cr_assert_eq(internal_post(path, NULL, &r), 200);
	http_resp_free(&r);
	cr_assert_eq(reserve(ref, pid, 5, 600, &r), 422, "same order_ref, other items: %s", r.body);
	assert_problem(&r, 422, "idempotency_mismatch");
	http_resp_free(&r);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 4, "reserved once, not twice");
	cr_assert_eq(available, 6);

	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s/commit", ref);
	cr_assert_eq(internal_post(path, NULL, &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "committed");
	http_resp_free(&r);
	cr_assert_eq(internal_post(path, NULL, &r), 200, "commit is idempotent");
	http_resp_free(&r);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(on_hand, 6);
	cr_assert_eq(reserved, 0);
	cr_assert_eq(ledger_sum(pid), 6);
	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s/release", ref);
	cr_assert_eq(internal_post(path, NULL, &r), 409, "release after commit");
	assert_problem(&r, 409, "reservation_state");
	http_resp_free(&r);

	/* Release path, then commit after release is refused. */
	unique_ref(ref, sizeof(ref));
	cr_assert_eq(reserve(ref, pid, 2, 600, &r), 201);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s/release", ref);
	cr_assert_eq(internal_post(path, NULL, &r), 200);
	http_resp_free(&r);
	cr_assert_eq(internal_post(path, NULL, &r), 200, "release is idempotent");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s/commit", ref);
	cr_assert_eq(internal_post(path, NULL, &r), 409);
	http_resp_free(&r);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(available, 6);

	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s", ref);
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "GET", path, NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_str(&r, "status"), "released");
	http_resp_free(&r);
	cr_assert_eq(internal_post("/internal/inventory/reservations/nope-nope/commit", NULL, &r), 404);
	http_resp_free(&r);
}

Test(inventory, commits_and_releases_of_many_orders_in_one_call_are_judged_each)
{
	long long pid = new_product(), on_hand, reserved, available;
	char a[64], b[64], c[64], d[64], body[1024], code[64];
	struct http_resp r;
	put_stock(pid, 10, 0);
	unique_ref(a, sizeof(a));
	unique_ref(b, sizeof(b));
	unique_ref(c, sizeof(c));
	unique_ref(d, sizeof(d));
	cr_assert_eq(reserve(a, pid, 2, 600, &r), 201, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(reserve(b, pid, 1, 600, &r), 201, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(reserve(c, pid, 1, 600, &r), 201, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(reserve(d, pid, 3, 600, &r), 201, "%s", r.body);
	http_resp_free(&r);

	/* A malformed item is refused on its own (422 invalid_item, naming what is wrong), and the
	 * call's other item is still judged: a commit of an unknown reservation, 404. */
	/* Each bad item: what comes before d's reference and what comes after it. */
	const char *bad[][2] = {
		{"{\"order_ref\":\"", "\",\"action\":\"sell\"}"},
		{"{\"order_ref\":\"has space ", "\",\"action\":\"commit\"}"},
		{"{\"order_ref\":\"", "\"}"},
		{"{\"order_ref\":\"", "\",\"action\":\"commit\",\"quantity\":1}"},
		{"{\"order_ref\":7,\"action\":\"commit\",\"x\":\"", "\"}"},
		{"[\"", "\"]"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char item[160];
		snprintf(item, sizeof(item), "%s%s%s", bad[i][0], d, bad[i][1]);
		snprintf(body, sizeof(body), "{\"items\":[{\"order_ref\":\"unknown-%s\",\"action\":\"commit\"},%s]}", d,
			 item);
		cr_assert_eq(internal_post("/internal/inventory/reservations/finishes", body, &r), 200, "%s: %s", item, r.body);
		cr_assert_eq(batch_item_status(&r, 0, code), 404, "%s", r.body);
		cr_assert_eq(batch_item_status(&r, 1, code), 422, "%s: %s", item, r.body);
		cr_assert_str_eq(code, "invalid_item");
		cr_assert(strstr(r.body, "\"field\":\"items[1]\""), "the error names the item: %s", r.body);
		http_resp_free(&r);
	}
	/* A wrong envelope is refused whole. */
	cr_assert_eq(internal_post("/internal/inventory/reservations/finishes", "{\"items\":[]}", &r), 422, "%s", r.body);
	http_resp_free(&r);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 7, "nothing was finished by a refused item");

	/* One call: a commit, the same again, a release, a commit of what was just released, an
	 * unknown reservation, another release. */
	snprintf(body, sizeof(body),
		 "{\"items\":[{\"order_ref\":\"%s\",\"action\":\"commit\"},{\"order_ref\":\"%s\",\"action\":\"commit\"},"
		 "{\"order_ref\":\"%s\",\"action\":\"release\"},{\"order_ref\":\"%s\",\"action\":\"commit\"},"
		 "{\"order_ref\":\"no-such-ref-%lld\",\"action\":\"commit\"},{\"order_ref\":\"%s\",\"action\":\"release\"}],"
		 "\"request_ids\":[\"f1\",\"f2\",\"f3\",\"f4\",\"f5\",\"f6\"]}",
		 a, a, b, b, pid, c);
	cr_assert_eq(internal_post("/internal/inventory/reservations/finishes", body, &r), 200, "%s", r.body);
	cr_assert_eq(batch_item_status(&r, 0, code), 200, "%s", r.body);
	cr_assert_eq(batch_item_status(&r, 1, code), 200, "committing twice is done: %s", r.body);
	cr_assert_eq(batch_item_status(&r, 2, code), 200);
	cr_assert_eq(batch_item_status(&r, 3, code), 409);
	cr_assert_str_eq(code, "reservation_state");
	cr_assert_eq(batch_item_status(&r, 4, code), 404);
	cr_assert_str_eq(code, "not_found");
	cr_assert_eq(batch_item_status(&r, 5, code), 200);
	http_resp_free(&r);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(on_hand, 8, "a's 2 units sold, once");
	cr_assert_eq(reserved, 3, "only d is still held");
	cr_assert_eq(available, 5);
	cr_assert_eq(ledger_sum(pid), 8, "the ledger agrees with the stock");
}

Test(inventory, all_or_nothing_with_short_items_listed)
{
	long long a = new_product(), b = new_product(), on_hand, reserved, available;
	char ref[64], body[512];
	struct http_resp r;
	put_stock(a, 5, 0);
	put_stock(b, 1, 0);
	unique_ref(ref, sizeof(ref));
	snprintf(body, sizeof(body),
		 "{\"order_ref\":\"%s\",\"items\":[{\"product_id\":%lld,\"quantity\":3},{\"product_id\":%lld,\"quantity\":2}]}",
		 ref, a, b);
	cr_assert_eq(internal_post("/internal/inventory/reservations", body, &r), 409, "%s", r.body);
	assert_problem(&r, 409, "insufficient_stock");
	struct json_object *items = json_object_object_get(r.json, "items");
	cr_assert_eq(json_object_array_length(items), 1, "%s", r.body);
	struct json_object *it = json_object_array_get_idx(items, 0);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "product_id")), b);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "available")), 1);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "requested")), 2);
	http_resp_free(&r);
	test_stock(admin, a, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 0, "nothing reserved on the item that had enough");

	static const char *const bad[] = {
		"{\"order_ref\":\"x\",\"items\":[]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":0}]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":-1}]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":2.5}]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":\"1\"}]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":4294967296}]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":1},{\"product_id\":1,\"quantity\":1}]}",
		"{\"order_ref\":\"has space\",\"items\":[{\"product_id\":1,\"quantity\":1}]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":1}],\"ttl_seconds\":0}",
		"{\"items\":[{\"product_id\":1,\"quantity\":1}]}",
		"{\"order_ref\":\"x\",\"items\":[{\"product_id\":1,\"quantity\":1,\"price\":1}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(internal_post("/internal/inventory/reservations", bad[i], &r), 422, "%zu: %s", i, r.body);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
}

Test(inventory, adjustment_below_reserved_is_409)
{
	long long pid = new_product();
	char ref[64], path[96];
	struct http_resp r;
	put_stock(pid, 5, 0);
	unique_ref(ref, sizeof(ref));
	cr_assert_eq(reserve(ref, pid, 4, 600, &r), 201);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld/adjustments", pid);
	api("POST", path, "{\"delta\":-2,\"reason\":\"lost\"}", admin, &r);
	assert_problem(&r, 409, "below_reserved");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", pid);
	api("PUT", path, "{\"on_hand\":3,\"low_stock_threshold\":0}", admin, &r);
	assert_problem(&r, 409, "below_reserved");
	http_resp_free(&r);
	cr_assert_eq(ledger_sum(pid), 5);
}

Test(inventory, ttl_expiry_releases_stock)
{
	long long pid = new_product(), on_hand, reserved, available;
	char ref[64], path[128];
	struct http_resp r;
	put_stock(pid, 3, 0);
	unique_ref(ref, sizeof(ref));
	cr_assert_eq(reserve(ref, pid, 3, 10, &r), 201);
	http_resp_free(&r);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(available, 0);
	/* The TTL is 10 s; the sweeper runs every second. */
	for (int i = 0; i < 30; i++) {
		sleep(1);
		test_stock(admin, pid, &on_hand, &reserved, &available);
		if (available == 3)
			break;
	}
	cr_assert_eq(available, 3, "expired reservation not released");
	cr_assert_eq(reserved, 0);
	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s", ref);
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "GET", path, NULL, 0, NULL, &r);
	cr_assert_str_eq(json_str(&r, "status"), "expired");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s/commit", ref);
	cr_assert_eq(internal_post(path, NULL, &r), 409, "an expired reservation cannot be committed");
	http_resp_free(&r);
}

/* Two new products with 5 units each and a reservation of `qty[k]` units of each (`refs`), for
 * the expiry tests: pid[0] < pid[1]. */
static void two_reservations(long long pid[2], char refs[2][64], const long long qty[2])
{
	struct http_resp r;
	for (int k = 0; k < 2; k++) {
		pid[k] = new_product();
		put_stock(pid[k], 5, 0);
		unique_ref(refs[k], 64);
		cr_assert_eq(reserve(refs[k], pid[k], qty[k], 600, &r), 201);
		http_resp_free(&r);
	}
	cr_assert_lt(pid[0], pid[1]);
}

/* Makes both reservations expired, `first` the older by a second. */
static void expire_both(struct db_conn *db, const char *first, const char *second)
{
	struct db_val v[] = {db_str(first), db_str(first), db_str(second)};
	cr_assert_eq(db_exec(db, "UPDATE reservations SET expires_at = IF(order_ref = ?, NOW(3) - INTERVAL 2 SECOND, "
				 "NOW(3) - INTERVAL 1 SECOND) WHERE order_ref IN (?, ?)",
			     v, 3, NULL),
		     0, "%s", db->errstr);
}

/* The expiry sweep takes the stock rows of the reservations it releases in product order, as a
 * reservation does, so that the two never wait on each other in a cycle (a deadlock that rolls
 * one back). Two reservations expire together: the first of a product with a higher id, the
 * second of one with a lower id, which this test holds locked like a reservation in progress.
 * The sweep waits for it; the first release must be committed meanwhile and the other product
 * free to take (one transaction for a whole batch, in expiry order, kept it locked: this lock
 * then closed a cycle, and one of the two was rolled back). */
Test(inventory, the_expiry_sweep_releases_each_reservation_on_its_own)
{
	long long pid[2], on_hand, reserved, available;
	char refs2[2][64];
	two_reservations(pid, refs2, (const long long[]){1, 1});
	long long low = pid[0], high = pid[1];
	const char *ref_low = refs2[0], *ref_high = refs2[1];

	struct db_conn *holder = test_db("inventory"), *db = test_db("inventory");
	struct db_val lo[] = {db_i64(low)}, hi[] = {db_i64(high)};
	struct db_rows *rows;
	cr_assert_eq(db_exec(holder, "START TRANSACTION", NULL, 0, NULL), 0, "%s", holder->errstr);
	cr_assert_eq(db_query(holder, "SELECT on_hand FROM stock WHERE product_id = ? FOR UPDATE", lo, 1, &rows), 0,
		     "%s", holder->errstr);
	db_rows_free(rows);
	/* Both expired, the higher product's first. */
	expire_both(db, ref_high, ref_low);
	struct db_val refs[] = {db_str(ref_high)};
	sleep(3); /* the sweeper (every second) has met the held row */
	/* The first reservation's release is committed: it does not wait on the second's lock. */
	char status[16] = "";
	cr_assert_eq(db_query(db, "SELECT status FROM reservations WHERE order_ref = ?", refs, 1, &rows), 0, "%s",
		     db->errstr);
	db_cell_copy(rows, 0, 0, status, sizeof(status));
	db_rows_free(rows);
	cr_expect_str_eq(status, "expired", "the first reservation's release waits on another product's lock");
	int rc = db_query(holder, "SELECT on_hand FROM stock WHERE product_id = ? FOR UPDATE", hi, 1, &rows);
	const char *why = rc ? holder->errstr : "";
	cr_expect_eq(rc, 0, "the other product's row was held by the sweep: %s", why);
	if (rc == 0)
		db_rows_free(rows);
	db_exec(holder, "ROLLBACK", NULL, 0, NULL);
	test_db_free(holder);
	test_db_free(db);

	/* Both released in the end. */
	for (int i = 0; i < 50; i++) {
		test_stock(admin, low, &on_hand, &reserved, &available);
		long long low_reserved = reserved;
		test_stock(admin, high, &on_hand, &reserved, &available);
		if (low_reserved == 0 && reserved == 0)
			break;
		usleep(200 * 1000);
	}
	test_stock(admin, low, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 0);
	test_stock(admin, high, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 0);
}

/* Reservations whose release keeps failing (here their product's reserved count no longer covers
 * them: the books are wrong) are left for staff and logged; however many there are (more than a
 * round once passed over), they do not hold up the release of the others behind them, which the
 * sweep took oldest first and so never reached. */
Test(inventory, reservations_that_cannot_be_released_do_not_hold_up_the_others)
{
	enum { BAD = 20 };
	long long pid[2], on_hand, reserved, available;
	char refs2[2][64], ref[64];
	struct http_resp r;
	two_reservations(pid, refs2, (const long long[]){1, 1});
	long long bad = pid[0], good = pid[1];
	put_stock(bad, BAD + 5, 0);
	for (int i = 1; i < BAD; i++) {
		unique_ref(ref, sizeof(ref));
		cr_assert_eq(reserve(ref, bad, 1, 600, &r), 201);
		http_resp_free(&r);
	}

	struct db_conn *db = test_db("inventory");
	struct db_val b[] = {db_i64(bad)};
	cr_assert_eq(db_exec(db, "UPDATE stock SET reserved = 0 WHERE product_id = ?", b, 1, NULL), 0, "%s", db->errstr);
	expire_both(db, refs2[0], refs2[1]);
	/* (lib/db keeps prepared statements by their text's address: one static string each) */
#define OF_BAD " WHERE r.id IN (SELECT reservation_id FROM reservation_items WHERE product_id = ?) AND r.status = 'active'"
	static const char expire_bad[] = "UPDATE reservations r SET r.expires_at = NOW(3) - INTERVAL 2 SECOND" OF_BAD,
			  release_bad[] = "UPDATE reservations r SET r.status = 'released'" OF_BAD;
#undef OF_BAD
	cr_assert_eq(db_exec(db, expire_bad, b, 1, NULL), 0, "%s", db->errstr);
	for (int i = 0; i < 40; i++) {
		test_stock(admin, good, &on_hand, &reserved, &available);
		if (reserved == 0)
			break;
		usleep(100 * 1000);
	}
	/* The wrong books are staff's to mend: this test mends them before it judges. */
	struct db_rows *rows;
	cr_assert_eq(db_query(db, "SELECT COUNT(*) FROM reservations r JOIN reservation_items i ON i.reservation_id = "
				  "r.id WHERE i.product_id = ? AND r.status = 'active'",
			      b, 1, &rows),
		     0);
	long long left = db_cell_i64(rows, 0, 0, -1);
	db_rows_free(rows);
	cr_expect_eq(db_exec(db, release_bad, b, 1, NULL), 0, "cleaning up: %s", db->errstr);
	test_db_free(db);
	cr_assert_eq(reserved, 0, "the good reservation was released behind the bad ones");
	cr_assert_eq(left, BAD, "the bad ones are left as they are");
}

/* low_stock jobs naming `needle` on the stream. */
static int low_stock_jobs(redisContext *c, const char *needle)
{
	int jobs = 0;
	redisReply *rep = redisCommand(c, "XREVRANGE jobs:email + - COUNT 2000");
	for (size_t i = 0; rep && i < rep->elements; i++) {
		const char *doc = rep->element[i]->element[1]->element[1]->str;
		if (strstr(doc, "\"type\":\"low_stock\"") && strstr(doc, needle))
			jobs++;
	}
	if (rep)
		freeReplyObject(rep);
	return jobs;
}

/* The outbox relay delivers within a moment: waits up to 5 s for `want` jobs, then 1 s more so
 * that a job too many would show. */
static int low_stock_jobs_settled(redisContext *c, const char *needle, int want)
{
	for (int i = 0; i < 50 && low_stock_jobs(c, needle) < want; i++)
		usleep(100000);
	usleep(1000000);
	return low_stock_jobs(c, needle);
}

Test(inventory, low_stock_job_enqueued_once)
{
	long long pid = new_product();
	char ref[64], path[96];
	struct http_resp r;
	put_stock(pid, 10, 3);
	for (int i = 0; i < 3; i++) {
		unique_ref(ref, sizeof(ref));
		cr_assert_eq(reserve(ref, pid, 3, 600, &r), 201, "%s", r.body); /* 7, 4, 1 left */
		http_resp_free(&r);
	}
	/* Count low_stock jobs naming this product. */
	redisContext *c = test_redis();
	char needle[64];
	snprintf(needle, sizeof(needle), "\"product_id\":%lld,", pid);
	int jobs = low_stock_jobs_settled(c, needle, 1);
	cr_assert_eq(jobs, 1, "one low_stock job, got %d", jobs);
	/* Restock above the threshold re-arms it; falling again sends a second one. */
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld/adjustments", pid);
	api("POST", path, "{\"delta\":10,\"reason\":\"received\"}", admin, &r);
	http_resp_free(&r);
	unique_ref(ref, sizeof(ref));
	cr_assert_eq(reserve(ref, pid, 9, 600, &r), 201);
	http_resp_free(&r);
	jobs = low_stock_jobs_settled(c, needle, 2);
	redisFree(c);
	cr_assert_eq(jobs, 2);
}

/* --- concurrency ----------------------------------------------------------- */

struct racer {
	long long pid[3];
	int nitems;
	int idx;
	long status;
};

static void *race(void *arg)
{
	struct racer *rc = arg;
	char body[512], ref[64];
	struct http_resp r;
	snprintf(ref, sizeof(ref), "race-%d-%ld-%d", (int)getpid(), (long)time(NULL), rc->idx);
	size_t o = (size_t)snprintf(body, sizeof(body), "{\"order_ref\":\"%s\",\"items\":[", ref);
	for (int i = 0; i < rc->nitems; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%s{\"product_id\":%lld,\"quantity\":1}", i ? "," : "",
				      rc->pid[i]);
	snprintf(body + o, sizeof(body) - o, "]}");
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "POST", "/internal/inventory/reservations", body, strlen(body),
		  NULL, &r);
	rc->status = r.status;
	http_resp_free(&r);
	return NULL;
}

Test(inventory, two_hundred_racers_for_fifty_units)
{
	long long pid = new_product(), on_hand, reserved, available;
	put_stock(pid, 50, 0);
	enum { N = 200 };
	static struct racer racers[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		racers[i] = (struct racer){.pid = {pid}, .nitems = 1, .idx = i};
		cr_assert_eq(pthread_create(&t[i], NULL, race, &racers[i]), 0);
	}
	int ok = 0, conflict = 0, other = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		if (racers[i].status == 201)
			ok++;
		else if (racers[i].status == 409)
			conflict++;
		else
			other++;
	}
	cr_assert_eq(ok, 50, "successes %d", ok);
	cr_assert_eq(conflict, 150, "409s %d", conflict);
	cr_assert_eq(other, 0, "other statuses %d", other);
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(available, 0);
	cr_assert_eq(reserved, 50);
	cr_assert_eq(ledger_sum(pid), on_hand);
}

Test(inventory, overlapping_multi_item_reservations_never_deadlock_to_a_client)
{
	long long p[4], on_hand, reserved, available;
	for (int i = 0; i < 4; i++) {
		p[i] = new_product();
		put_stock(p[i], 1000, 0);
	}
	enum { N = 120 };
	static struct racer racers[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		/* Overlapping sets in different orders: {0,1,2}, {2,1,3}, {3,0,1}, ... */
		racers[i] = (struct racer){.pid = {p[i % 4], p[(i + 1) % 4], p[(i + 3) % 4]}, .nitems = 3, .idx = 1000 + i};
		if (i % 2)
			racers[i].pid[0] = p[(i + 2) % 4];
		cr_assert_eq(pthread_create(&t[i], NULL, race, &racers[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(racers[i].status, 201, "racer %d got %ld", i, racers[i].status);
		ok += racers[i].status == 201;
	}
	cr_assert_eq(ok, N);
	long long total_reserved = 0;
	for (int i = 0; i < 4; i++) {
		test_stock(admin, p[i], &on_hand, &reserved, &available);
		total_reserved += reserved;
		cr_assert_eq(on_hand - reserved, available);
	}
	cr_assert_eq(total_reserved, 3 * N);
}

struct putter {
	long long pid, on_hand;
	long status;
};

static void *put_racer(void *arg)
{
	struct putter *p = arg;
	char path[64], body[128];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", p->pid);
	snprintf(body, sizeof(body), "{\"on_hand\":%lld,\"low_stock_threshold\":0}", p->on_hand);
	api("PUT", path, body, admin, &r);
	p->status = r.status;
	http_resp_free(&r);
	return NULL;
}

/* Staff setting the stock of one product at once (a product with a stock row, and a new one
 * without): each PUT is answered 200 and the ledger adds up to the last one. Taking the row's
 * lock shared first (INSERT IGNORE) and then exclusive made two such PUTs deadlock each other. */
Test(inventory, concurrent_stock_puts_of_one_product_all_succeed)
{
	long long p[2] = {new_product(), new_product()}, on_hand, reserved, available;
	put_stock(p[0], 10, 0);
	enum { N = 24 };
	static struct putter putters[N];
	pthread_t t[N];
	for (int i = 0; i < N; i++) {
		putters[i] = (struct putter){p[i % 2], 100 + i, 0};
		cr_assert_eq(pthread_create(&t[i], NULL, put_racer, &putters[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		cr_expect_eq(putters[i].status, 200, "PUT %d got %ld", i, putters[i].status);
		ok += putters[i].status == 200;
	}
	cr_assert_eq(ok, N);
	for (int k = 0; k < 2; k++) {
		test_stock(admin, p[k], &on_hand, &reserved, &available);
		cr_assert_geq(on_hand, 100);
		cr_assert_eq(ledger_sum(p[k]), on_hand, "the ledger adds up to the stock");
	}
}

/* Starts a second inventory instance (its own socket, same database) so two sweepers race. */
static pid_t second_instance(void)
{
	char bin[1024], env[1024], sock[1024];
	const char *store = test_env("STORE_TEST_STORE"), *var = test_env("STORE_TEST_VAR");
	snprintf(bin, sizeof(bin), "%.*s/../fcgi-apps/inventory/store-inventory", (int)(strrchr(store, '/') - store), store);
	snprintf(env, sizeof(env), "%s/env/inventory.env", var);
	snprintf(sock, sizeof(sock), "%s/run/inventory-second.sock", var);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char cmd[4096];
		snprintf(cmd, sizeof(cmd), "set -a; . '%s'; set +a; STORE_LISTEN='%s' exec '%s' 2>>'%s/log/inventory-second.log'",
			 env, sock, bin, var);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* Counts the lines of the inventory logs (both instances) that hold `needle` and not `unless`
 * (NULL: no such condition). */
static int log_count(const char *needle, const char *unless)
{
	char cmd[2048];
	const char *var = test_env("STORE_TEST_VAR");
	if (unless)
		snprintf(cmd, sizeof(cmd),
			 "cat '%s/log/inventory.log' '%s/log/inventory-second.log' 2>/dev/null | grep -F '%s' | "
			 "grep -c -v -F '%s'",
			 var, var, needle, unless);
	else
		snprintf(cmd, sizeof(cmd),
			 "cat '%s/log/inventory.log' '%s/log/inventory-second.log' 2>/dev/null | grep -c -F '%s'", var,
			 var, needle);
	FILE *p = popen(cmd, "r");
	int n = 0;
	cr_assert_not_null(p);
	if (fscanf(p, "%d", &n) != 1)
		n = 0;
	pclose(p);
	return n;
}

Test(inventory, two_instances_expire_each_reservation_exactly_once)
{
	long long pid = new_product(), on_hand, reserved, available;
	char ref[64], refs[40][64];
	/* Other tests' reservations whose books are wrong on purpose fail their sweeps too: only
	 * this product's, and failures of the database, are counted. */
	char uncovered[96];
	snprintf(uncovered, sizeof(uncovered), "stock of %lld does not cover it", pid);
	int failed_before = log_count("expiry sweep failed", "does not cover it"),
	    uncovered_before = log_count(uncovered, NULL);
	struct http_resp r;
	put_stock(pid, 100, 0);
	pid_t other = second_instance();
	/* One long reservation that must survive, and 40 short ones for both sweepers. */
	unique_ref(ref, sizeof(ref));
	cr_assert_eq(reserve(ref, pid, 10, 3600, &r), 201);
	http_resp_free(&r);
	for (int i = 0; i < 40; i++) {
		unique_ref(refs[i], sizeof(refs[i]));
		cr_assert_eq(reserve(refs[i], pid, 1, 10, &r), 201, "%s", r.body);
		http_resp_free(&r);
	}
	test_stock(admin, pid, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 50);
	for (int i = 0; i < 40; i++) {
		sleep(1);
		test_stock(admin, pid, &on_hand, &reserved, &available);
		if (reserved <= 10)
			break;
	}
	/* Each short reservation ended exactly once: it says "expired", and no sweep of either
	 * instance met a reservation already released (the second release would fail the books'
	 * check, "does not cover it", and its whole sweep). A double release that slipped past the
	 * check would leave reserved below 10 with every reservation expired. */
	for (int i = 0; i < 40; i++) {
		char path[128];
		snprintf(path, sizeof(path), "/internal/inventory/reservations/%.63s", refs[i]);
		http_send(test_env("STORE_TEST_INTERNAL_URL"), "GET", path, NULL, 0, NULL, &r);
		cr_assert_eq(r.status, 200);
		cr_assert_str_eq(json_str(&r, "status"), "expired", "reservation %d", i);
		http_resp_free(&r);
	}
	test_stock(admin, pid, &on_hand, &reserved, &available);
	kill(other, SIGTERM);
	int status = 0;
	waitpid(other, &status, 0);
	cr_assert_eq(log_count(uncovered, NULL), uncovered_before, "a reservation was released twice");
	cr_assert_eq(log_count("expiry sweep failed", "does not cover it"), failed_before,
		     "a sweep failed while both instances ran");
	cr_assert_eq(reserved, 10, "expired reservations released %lld times too often", 10 - reserved);
	cr_assert_eq(available, 90);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the second instance did not exit 0 on SIGTERM");
}

/* --- #15.11: a reservation that loses a deadlock runs again from its original items --------- */

static MYSQL *admin_db(void)
{
	MYSQL *m = mysql_init(NULL);
	cr_assert_not_null(m);
	cr_assert_not_null(mysql_real_connect(m, NULL, test_env("STORE_TEST_DB_ADMIN_USER"), NULL, NULL, 0,
					      test_env("STORE_TEST_DB_SOCKET"), 0),
			   "admin connection: %s", mysql_error(m));
	return m;
}

static void sql_ok(MYSQL *m, const char *sql)
{
	cr_assert_eq(mysql_query(m, sql), 0, "%s: %s", sql, mysql_error(m));
	MYSQL_RES *res = mysql_store_result(m);
	if (res)
		mysql_free_result(res);
}

static long long sql_int(MYSQL *m, const char *sql)
{
	cr_assert_eq(mysql_query(m, sql), 0, "%s: %s", sql, mysql_error(m));
	MYSQL_RES *res = mysql_store_result(m);
	MYSQL_ROW row = res ? mysql_fetch_row(res) : NULL;
	long long v = row && row[0] ? atoll(row[0]) : -1;
	if (res)
		mysql_free_result(res);
	return v;
}

struct pending_post {
	const char *body;
	struct http_resp r;
};

static void *post_reservation(void *arg)
{
	struct pending_post *pp = arg;
	internal_post("/internal/inventory/reservations", pp->body, &pp->r);
	return NULL;
}

/*
 * Sends reservation `body` (its items end with product `last`, after `first`) and makes it
 * the victim of a deadlock on its first run: a transaction of our own, made heavy (InnoDB
 * rolls back the lighter one), holds `last`'s stock row; once the reservation holds `first`'s
 * and waits for `last`'s, ours asks for `first`'s. Then ours rolls back, and the reservation
 * runs again. Fills `r` with its answer.
 */
static void reserve_through_a_deadlock(const char *body, long long first, long long last, struct http_resp *r)
{
	char sql[256];
	MYSQL *m = admin_db();
	long long deadlocks = sql_int(m, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
					 "WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'");
	sql_ok(m, "CREATE DATABASE IF NOT EXISTS store_test_scratch");
	sql_ok(m, "CREATE TABLE IF NOT EXISTS store_test_scratch.ballast (n INT) ENGINE=InnoDB");
	sql_ok(m, "START TRANSACTION");
	sql_ok(m, "INSERT INTO store_test_scratch.ballast SELECT seq FROM store_test_scratch.seq_1_to_5000");
	snprintf(sql, sizeof(sql), "SELECT on_hand FROM store_inventory.stock WHERE product_id = %lld FOR UPDATE", last);
	sql_ok(m, sql);

	struct pending_post pp = {.body = body};
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, post_reservation, &pp), 0);
	/* Wait until the reservation waits for our row (it holds `first`'s by then). */
	long long waiting = 0;
	for (int i = 0; i < 100 && waiting < 1; i++) {
		usleep(50000);
		waiting = sql_int(m, "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT'");
	}
	cr_assert_geq(waiting, 1, "the reservation never waited for the row we hold");
	snprintf(sql, sizeof(sql), "SELECT on_hand FROM store_inventory.stock WHERE product_id = %lld FOR UPDATE", first);
	cr_assert_eq(mysql_query(m, sql), 0, "our transaction, not the reservation, lost the deadlock: %s",
		     mysql_error(m));
	mysql_free_result(mysql_store_result(m));
	usleep(200000); /* the reservation's second run now waits for us */
	sql_ok(m, "ROLLBACK");
	pthread_join(t, NULL);
	cr_assert_gt(sql_int(m, "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
				"WHERE VARIABLE_NAME = 'INNODB_DEADLOCKS'"),
		     deadlocks, "no deadlock happened");
	mysql_close(m);
	*r = pp.r;
}

/* The bug: a run that found an item short marked it by negating its quantity in the request's
 * items, and the run after a lost deadlock started from that marked array (it answered 500 and
 * released units of another order's hold on the way). */
Test(inventory, reservation_retried_after_a_deadlock_starts_from_its_original_items)
{
	long long s = new_product(), a = new_product(), b = new_product(), on_hand, reserved, available;
	char other[64], ref[64], body[512];
	struct http_resp r;
	put_stock(s, 3, 0);
	put_stock(a, 10, 0);
	put_stock(b, 10, 0);
	/* Another order holds 2 of each. */
	unique_ref(other, sizeof(other));
	snprintf(body, sizeof(body),
		 "{\"order_ref\":\"%s\",\"items\":[{\"product_id\":%lld,\"quantity\":2},{\"product_id\":%lld,\"quantity\":2},"
		 "{\"product_id\":%lld,\"quantity\":2}]}",
		 other, s, a, b);
	cr_assert_eq(internal_post("/internal/inventory/reservations", body, &r), 201, "%s", r.body);
	http_resp_free(&r);

	/* s is short (2 asked, 1 left), and found so before the deadlock on b. */
	unique_ref(ref, sizeof(ref));
	snprintf(body, sizeof(body),
		 "{\"order_ref\":\"%s\",\"items\":[{\"product_id\":%lld,\"quantity\":2},{\"product_id\":%lld,\"quantity\":1},"
		 "{\"product_id\":%lld,\"quantity\":1}]}",
		 ref, s, a, b);
	reserve_through_a_deadlock(body, a, b, &r);
	assert_problem(&r, 409, "insufficient_stock");
	struct json_object *items = json_object_object_get(r.json, "items");
	cr_assert_eq(json_object_array_length(items), 1, "%s", r.body);
	struct json_object *it = json_object_array_get_idx(items, 0);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "product_id")), s, "%s", r.body);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "requested")), 2, "%s", r.body);
	cr_assert_eq(json_object_get_int64(json_object_object_get(it, "available")), 1, "%s", r.body);
	http_resp_free(&r);

	/* Nothing of it was kept, and the other order's holds are whole. */
	long long pids[] = {s, a, b}, want_on_hand[] = {3, 10, 10};
	for (int i = 0; i < 3; i++) {
		test_stock(admin, pids[i], &on_hand, &reserved, &available);
		cr_assert_eq(on_hand, want_on_hand[i]);
		cr_assert_eq(reserved, 2, "product %lld: reserved %lld, the other order holds 2", pids[i], reserved);
	}
	char path[128];
	snprintf(path, sizeof(path), "/internal/inventory/reservations/%s", other);
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "GET", path, NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "active");
	items = json_object_object_get(r.json, "items");
	cr_assert_eq(json_object_array_length(items), 3, "%s", r.body);
	for (size_t i = 0; i < 3; i++)
		cr_assert_eq(json_object_get_int64(json_object_object_get(json_object_array_get_idx(items, i), "quantity")), 2,
			     "%s", r.body);
	http_resp_free(&r);

	/* The same without a short item: the second run reserves everything, once. */
	unique_ref(ref, sizeof(ref));
	snprintf(body, sizeof(body),
		 "{\"order_ref\":\"%s\",\"items\":[{\"product_id\":%lld,\"quantity\":3},{\"product_id\":%lld,\"quantity\":4}]}",
		 ref, a, b);
	reserve_through_a_deadlock(body, a, b, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	test_stock(admin, a, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 5);
	test_stock(admin, b, &on_hand, &reserved, &available);
	cr_assert_eq(reserved, 6);
}
