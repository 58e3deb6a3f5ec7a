/* order_kit.c: shoppers, checkout and internal calls, and checks shared by the order service's integration tests. */
#include "order_kit.h"

#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "rig.h"

void new_shopper(struct shopper *s)
{
	unique_email(s->email, sizeof(s->email), "order");
	s->id = register_user(s->email, TEST_PASSWORD, "Ada");
	login_user(s->email, TEST_PASSWORD, &s->token, NULL);
}

long send_order(const char *method, const char *path, const char *body, const char *token, const char *key,
		struct http_resp *r)
{
	char auth[4200], idem[300];
	const char *h[3] = {NULL, NULL, NULL};
	size_t n = 0;
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		h[n++] = auth;
	}
	if (key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
		h[n++] = idem;
	}
	http_send(test_env("STORE_TEST_URL"), method, path, body, body ? strlen(body) : 0, h, r);
	return r->status;
}

long internal(const char *method, const char *path, const char *body, struct http_resp *r)
{
	http_send(test_env("STORE_TEST_INTERNAL_URL"), method, path, body, body ? strlen(body) : 0, NULL, r);
	return r->status;
}

long order_pay(long long id, long long amount, const char *payment_id, struct http_resp *r)
{
	char path[64], body[160];
	snprintf(path, sizeof(path), "/internal/order/orders/%lld/paid", id);
	snprintf(body, sizeof(body), "{\"payment_id\":\"%s\",\"amount\":%lld,\"currency\":\"EUR\"}", payment_id, amount);
	return internal("POST", path, body, r);
}

long order_act(long long id, const char *what, const char *body, const char *token, struct http_resp *r)
{
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/orders/%lld/%s", id, what);
	api("POST", path, body, token, r);
	return r->status;
}

long long order_paid_by_new_shopper(struct shopper *s, long long price, long long *oid)
{
	struct http_resp r;
	char key[96];
	*oid = order_placed_by_new_shopper(s, price, 1, NULL);
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s->token, key, *oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	http_resp_free(&r);
	wait_order(*oid, s->token, "paid", 10);
	return payment;
}

void payment_refused_by_order(long long oid, long long payment)
{
	char sql[320];
	snprintf(sql, sizeof(sql),
		 "INSERT INTO outbox (kind, target, payload, request_id, status, last_error) VALUES ('call', "
		 "'POST /internal/order/orders/%lld/paid', '{}', 'refused-%lld', 'failed', 'refused with 409')",
		 oid, payment);
	test_sql("store_payment", sql, NULL, 0);
}

bool order_delivered_with(long long user, long long pid)
{
	char path[96];
	struct http_resp r;
	snprintf(path, sizeof(path), "/internal/order/users/%lld/delivered/%lld", user, pid);
	cr_assert_eq(internal("GET", path, NULL, &r), 200, "%s", r.body);
	bool yes = json_object_get_boolean(json_object_object_get(r.json, "delivered"));
	http_resp_free(&r);
	return yes;
}

void order_status(long long id, const char *token, char *out, size_t len)
{
	char path[64];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", id);
	api("GET", path, NULL, token, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	snprintf(out, len, "%s", json_str(&r, "status"));
	http_resp_free(&r);
}

long long stock_available(const char *admin, long long pid)
{
	long long available;
	test_stock(admin, pid, NULL, NULL, &available);
	return available;
}

void wait_stock(const char *admin, long long pid, long long on_hand, long long reserved)
{
	long long h = -1, r = -1;
	for (int i = 0; i < 50; i++) {
		test_stock(admin, pid, &h, &r, NULL);
		if (h == on_hand && r == reserved)
			return;
		usleep(100000);
	}
	cr_assert_fail("product %lld: %lld on hand, %lld reserved; want %lld and %lld", pid, h, r, on_hand, reserved);
}

void wait_order(long long id, const char *token, const char *want, int seconds)
{
	char st[32] = "";
	for (int i = 0; i < seconds * 10; i++) {
		order_status(id, token, st, sizeof(st));
		if (strcmp(st, want) == 0)
			return;
		usleep(100000);
	}
	cr_assert_fail("order %lld is %s, not %s", id, st, want);
}

void wait_payment(long long id, const char *token, const char *want, int seconds)
{
	char path[64], st[32] = "";
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/payments/%lld", id);
	for (int i = 0; i < seconds * 10; i++) {
		api("GET", path, NULL, token, &r);
		snprintf(st, sizeof(st), "%s", json_str(&r, "status") ? json_str(&r, "status") : "");
		http_resp_free(&r);
		if (strcmp(st, want) == 0)
			return;
		usleep(100000);
	}
	cr_assert_fail("payment %lld is %s, not %s", id, st, want);
}

char *staff;
struct db_conn *order_db;

void order_suite_init(void)
{
	staff = admin_token();
	order_db = test_db("order");
}

void order_suite_fini(void)
{
	test_db_free(order_db);
	order_db = NULL;
	free(staff);
	staff = NULL;
}

void expect_transition_refused(struct http_resp *r, const char *current)
{
	assert_problem(r, 409, "invalid_transition");
	cr_assert_str_eq(json_str(r, "current_status"), current, "%s", r->body);
	http_resp_free(r);
}

void wait_mail(const char *to, const char *subject)
{
	free(rig_find_mail(test_env("STORE_TEST_MAILDIR"), to, subject, 20));
}

void order_unique_key(char *buf, size_t len)
{
	static int n;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "key-%d-%ld%09ld-%d", (int)getpid(), (long)ts.tv_sec, ts.tv_nsec, ++n);
}

void cart_put(const char *token, long long pid, int qty)
{
	char path[64], body[32];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", pid);
	snprintf(body, sizeof(body), "{\"quantity\":%d}", qty);
	api("PUT", path, body, token, &r);
	cr_assert(r.status == 200 || r.status == 201, "cart PUT: %ld %s", r.status, r.body);
	http_resp_free(&r);
}

long checkout(const char *token, struct http_resp *r)
{
	char key[96];
	order_unique_key(key, sizeof(key));
	return send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, token, key, r);
}

long long order_placed_by_new_shopper(struct shopper *s, long long price, int qty, long long *pid_out)
{
	struct http_resp r;
	long long pid = test_product(staff, price, "EUR");
	test_put_stock(staff, pid, 100, 0);
	new_shopper(s);
	cart_put(s->token, pid, qty);
	cr_assert_eq(checkout(s->token, &r), 201, "%s", r.body);
	long long id = json_int(&r, "id");
	http_resp_free(&r);
	if (pid_out)
		*pid_out = pid;
	return id;
}

long order_pay_by_card(const char *token, const char *key, long long order_id, const char *number, struct http_resp *r)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"order_id\":%lld,\"card\":{\"number\":\"%s\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}}",
		 order_id, number);
	return send_order("POST", "/api/v1/payments", body, token, key, r);
}
