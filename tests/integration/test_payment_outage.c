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

/* Both tests kill the order service: one at a time (Criterion runs tests side by side). */
static void outage_init(void)
{
	test_alone();
	order_suite_init();
}

static void outage_fini(void)
{
	order_suite_fini();
	test_alone_end();
}

TestSuite(payoutage, .init = outage_init, .fini = outage_fini, .timeout = 180);

/*
 * Issue 12: the order service is down at the moment a charge succeeds. The payment is taken
 * and answered 201; the "order paid" call waits in the payment service's outbox and is retried
 * until the order service is back; the order then ends paid, exactly once.
 * To make the outage land after the charge and before the call: a transaction of the test holds
 * the order's row (the payment service's read of the order is a plain read and passes it; the
 * order service's UPDATE waits behind it), and the order service is killed while it waits.
 */
/*
 * Pays order `oid` with the success card while the order service cannot take the "paid" call:
 * a transaction of the test holds the order's row (the payment service's read of the order is a
 * plain read and passes it; the order service's UPDATE waits behind it) and the order service is
 * killed while it waits. Returns the payment's id with the order service down, the lock gone and
 * the relay's first retries spent on the gateway's 502 (its backoff is then several seconds).
 */
static long long pay_while_the_order_service_dies(struct shopper *s, long long oid)
{
	struct http_resp r;
	char key[96], cmd[1024], sql[256], out[64];

	snprintf(cmd, sizeof(cmd),
		 "(mariadb --no-defaults --socket='%s' -u '%s' store_order -e \"START TRANSACTION; SELECT id FROM orders "
		 "WHERE id = %lld FOR UPDATE; DO SLEEP(6); ROLLBACK;\" >/dev/null 2>&1 &)",
		 test_env("STORE_TEST_DB_SOCKET"), test_env("STORE_TEST_DB_ADMIN_USER"), oid);
	cr_assert_eq(system(cmd), 0);
	usleep(500000);
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s->token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	http_resp_free(&r);
	usleep(1000000); /* the relay's call now waits behind the test's lock */
	test_service_kill("order");
	sleep(7); /* the lock is gone; the order service too */
	snprintf(sql, sizeof(sql), "SELECT status FROM orders WHERE id = %lld", oid);
	test_sql("store_order", sql, out, sizeof(out));
	cr_assert_str_eq(out, "pending_payment", "nothing marked the order paid while its service was down");
	sleep(2); /* more retries meet the gateway's 502 */
	return payment;
}

Test(payoutage, order_service_down_after_the_charge_ends_paid_exactly_once, .timeout = 150)
{
	struct shopper s;
	char sql[256], out[64];
	long long oid = order_placed_by_new_shopper(&s, 1500, 1, NULL);
	long long payment = pay_while_the_order_service_dies(&s, oid);

	test_service_start("order");
	test_until_ok("/api/v1/orders/health", NULL);
	/* The relay backs off (1, 2, 4 ... s): wait long enough for the next attempt. */
	wait_order(oid, s.token, "paid", 60);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM order_history WHERE order_id = %lld AND to_status = 'paid'", oid);
	test_sql("store_order", sql, out, sizeof(out));
	cr_assert_str_eq(out, "1", "paid exactly once");
	snprintf(sql, sizeof(sql), "SELECT payment_id FROM orders WHERE id = %lld", oid);
	test_sql("store_order", sql, out, sizeof(out));
	cr_assert_eq(atoll(out), payment, "the order is paid by this payment");
	free(s.token);
}

/*
 * Issue 12: an order that expires while its payment is in flight. The charge succeeded, but the
 * order's expiry sweeper gets there before the "paid" call (the relay is between retries): the
 * order service refuses the call, and the payment service refunds the whole charge on its own,
 * tells the shopper, and the stock the order held is back.
 */
Test(payoutage, order_expired_while_its_payment_was_in_flight_is_refunded, .timeout = 150)
{
	struct shopper s;
	char sql[256], path[96];
	struct http_resp r;
	long long pid, oid = order_placed_by_new_shopper(&s, 1200, 3, &pid);
	long long before = stock_available(staff, pid);
	long long payment = pay_while_the_order_service_dies(&s, oid);

	/* Its time is up: the sweeper expires it as soon as the service is back, seconds before the
	 * relay's next attempt. */
	snprintf(sql, sizeof(sql), "UPDATE orders SET expires_at = NOW() - INTERVAL 1 MINUTE WHERE id = %lld", oid);
	test_sql("store_order", sql, NULL, 0);
	test_service_start("order");
	test_until_ok("/api/v1/orders/health", NULL);
	wait_payment(payment, s.token, "refunded", 60);
	char ost[32];
	order_status(oid, s.token, ost, sizeof(ost));
	cr_assert_str_eq(ost, "expired", "the order expired (it was never paid)");
	snprintf(path, sizeof(path), "/api/v1/payments/%lld", payment);
	api("GET", path, NULL, s.token, &r);
	cr_assert_str_eq(json_str(&r, "status"), "refunded", "the charge was not given back: %s", r.body);
	cr_assert_eq(json_int(&r, "refunded"), json_int(&r, "amount"), "refunded in full: %s", r.body);
	http_resp_free(&r);
	cr_assert(test_job_on_stream("payment_refunded", s.email, 20), "no payment_refunded e-mail for %s", s.email);
	wait_stock(staff, pid, 100, 0); /* the 3 units the order held are available again */
	cr_assert_eq(stock_available(staff, pid), before + 3);
	free(s.token);
}

/*
 * A payment the order service refused is refunded by the sweeper, and its shopper e-mailed,
 * with the user service down: the payment keeps the shopper's address from when it was made.
 * Before, the sweeper asked the user service for the address first, and with it down left the
 * money where it was, round after round (and such payments took the places of others in its
 * batch of 20). The refusal is written as the outbox leaves a "paid" call given up.
 */
Test(payoutage, a_refused_payment_is_refunded_with_the_user_service_down, .timeout = 150)
{
	struct shopper s;
	char sql[128], out[32] = "";
	long long oid, payment = order_paid_by_new_shopper(&s, 800, &oid);
	test_service_stop("user");
	payment_refused_by_order(oid, payment);
	snprintf(sql, sizeof(sql), "SELECT status FROM payments WHERE id = %lld", payment);
	for (int i = 0; i < 100 && strcmp(out, "refunded") != 0; i++) {
		usleep(100000);
		test_sql("store_payment", sql, out, sizeof(out));
	}
	bool mailed = test_job_on_stream("payment_refunded", s.email, 10);
	test_service_start("user");
	test_until_ok("/api/v1/users/health", NULL);
	cr_assert_str_eq(out, "refunded", "payment %lld not refunded with the user service down", payment);
	cr_assert(mailed, "no payment_refunded e-mail for %s", s.email);
	free(s.token);
}
