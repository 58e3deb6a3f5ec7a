/* test_payment_outage.c: the order service down when a charge succeeds (a program of its own: it kills a service). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "order_kit.h"

TestSuite(payoutage, .init = order_suite_init, .fini = order_suite_fini, .timeout = 180);

static void unique_key(char *buf, size_t len)
{
	static int n;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "pay-%d-%ld%09ld-%d", (int)getpid(), (long)ts.tv_sec, ts.tv_nsec, ++n);
}

/* A shopper with a placed order of `qty` units of a new product at `price`; returns the order id. */
static long long placed_order(struct shopper *s, long long price, int qty, long long *pid_out)
{
	char path[64], body[32], key[96];
	struct http_resp r;
	long long pid = test_product(staff, price, "EUR");
	test_put_stock(staff, pid, 100, 0);
	new_shopper(s);
	snprintf(path, sizeof(path), "/api/v1/cart/items/%lld", pid);
	snprintf(body, sizeof(body), "{\"quantity\":%d}", qty);
	api("PUT", path, body, s->token, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	unique_key(key, sizeof(key));
	cr_assert_eq(send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s->token, key, &r), 201, "%s", r.body);
	long long id = json_int(&r, "id");
	http_resp_free(&r);
	if (pid_out)
		*pid_out = pid;
	return id;
}

static long pay(const char *token, const char *key, long long order_id, const char *number, struct http_resp *r)
{
	char body[256];
	snprintf(body, sizeof(body),
		 "{\"order_id\":%lld,\"card\":{\"number\":\"%s\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}}",
		 order_id, number);
	return send_order("POST", "/api/v1/payments", body, token, key, r);
}


/*
 * Issue 12: the order service is down at the moment a charge succeeds. The payment is taken
 * and answered 201; the "order paid" call waits in the payment service's outbox and is retried
 * until the order service is back; the order then ends paid, exactly once.
 * To make the outage land after the charge and before the call: a transaction of the test holds
 * the order's row (the payment service's read of the order is a plain read and passes it; the
 * order service's UPDATE waits behind it), and the order service is killed while it waits.
 */
Test(payoutage, order_service_down_after_the_charge_ends_paid_exactly_once, .timeout = 150)
{
	struct shopper s;
	struct http_resp r;
	char key[96], cmd[1024], sql[256], out[64];
	long long oid = placed_order(&s, 1500, 1, NULL);

	snprintf(cmd, sizeof(cmd),
		 "(mariadb --no-defaults --socket='%s' -u '%s' store_order -e \"START TRANSACTION; SELECT id FROM orders "
		 "WHERE id = %lld FOR UPDATE; DO SLEEP(6); ROLLBACK;\" >/dev/null 2>&1 &)",
		 test_env("STORE_TEST_DB_SOCKET"), test_env("STORE_TEST_DB_ADMIN_USER"), oid);
	cr_assert_eq(system(cmd), 0);
	usleep(500000);
	unique_key(key, sizeof(key));
	cr_assert_eq(pay(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	http_resp_free(&r);
	usleep(1000000); /* the relay's call now waits behind the test's lock */
	test_service_kill("order");
	sleep(7); /* the lock is gone; the order service too */
	snprintf(sql, sizeof(sql), "SELECT status FROM orders WHERE id = %lld", oid);
	test_sql("store_order", sql, out, sizeof(out));
	cr_assert_str_eq(out, "pending_payment", "nothing marked the order paid while its service was down");
	sleep(2); /* a retry or two meet the gateway's 502 */
	test_service_start("order");
	test_until_ok("/api/v1/orders/health", NULL);
	/* The relay backs off (1, 2, 4 ... s): wait long enough for the next attempt. */
	char st[32] = "";
	for (int i = 0; i < 600 && strcmp(st, "paid") != 0; i++) {
		order_status(oid, s.token, st, sizeof(st));
		if (strcmp(st, "paid") != 0)
			usleep(100000);
	}
	cr_assert_str_eq(st, "paid", "the order never became paid after its service came back");
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM order_history WHERE order_id = %lld AND to_status = 'paid'", oid);
	test_sql("store_order", sql, out, sizeof(out));
	cr_assert_str_eq(out, "1", "paid exactly once");
	snprintf(sql, sizeof(sql), "SELECT payment_id FROM orders WHERE id = %lld", oid);
	test_sql("store_order", sql, out, sizeof(out));
	cr_assert_eq(atoll(out), payment, "the order is paid by this payment");
	free(s.token);
}
