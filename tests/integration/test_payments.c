/* test_payments.c: the payment service through the gateway: the bad inputs, who may see what, and card data hygiene. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "db.h"
#include "order_kit.h"

#define CARD_OK "{\"number\":\"4242 4242 4242 4242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}"

/* POST /api/v1/payments with an Idempotency-Key (NULL: none) and a bearer token. */
static void pay(const char *token, const char *key, const char *body, struct http_resp *r)
{
	char auth[4200], idem[300];
	const char *headers[3] = {NULL, NULL, NULL};
	size_t n = 0;
	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		headers[n++] = auth;
	}
	if (key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
		headers[n++] = idem;
	}
	http_send(test_env("STORE_TEST_URL"), "POST", "/api/v1/payments", body, strlen(body), headers, r);
}

Test(payments, signed_in_callers_only)
{
	struct http_resp r;
	pay(NULL, "k1", "{\"order_id\":1,\"card\":" CARD_OK "}", &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	pay("not.a.token", "k1", "{\"order_id\":1,\"card\":" CARD_OK "}", &r);
	assert_problem(&r, 401, "invalid_token");
	http_resp_free(&r);
}

Test(payments, bad_bodies_are_422_and_name_the_field)
{
	char *t = customer_token(NULL), key[64];
	struct http_resp r;
	static const struct {
		const char *body, *field;
	} cases[] = {
		/* The amount comes from the order, never from the client. */
		{"{\"order_id\":1,\"amount\":1,\"card\":" CARD_OK "}", "amount"},
		{"{\"order_id\":\"1\",\"card\":" CARD_OK "}", "order_id"},
		{"{\"order_id\":0,\"card\":" CARD_OK "}", "order_id"},
		{"{\"order_id\":9007199254740992,\"card\":" CARD_OK "}", "order_id"},
		{"{\"card\":" CARD_OK "}", "order_id"},
		{"{\"order_id\":1}", "card"},
		{"{\"order_id\":1,\"card\":\"4242424242424242\"}", "card"},
		{"{\"order_id\":1,\"card\":{\"number\":\"4242424242424241\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}}", "card.number"},
		{"{\"order_id\":1,\"card\":{\"number\":\"4242-4242-4242-4242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}}", "card.number"},
		{"{\"order_id\":1,\"card\":{\"number\":\"4242424242424242\",\"exp_month\":1,\"exp_year\":2020,\"cvc\":\"123\"}}", "card.exp_year"},
		{"{\"order_id\":1,\"card\":{\"number\":\"4242424242424242\",\"exp_month\":13,\"exp_year\":2031,\"cvc\":\"123\"}}", "card.exp_month"},
		{"{\"order_id\":1,\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"12\"}}", "card.cvc"},
		{"{\"order_id\":1,\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":123}}", "card.cvc"},
		{"{\"order_id\":1,\"card\":{\"number\":\"4242424242424242\",\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\",\"pin\":\"1\"}}", "card.pin"},
		{"{\"order_id\":1,\"card\":{\"exp_month\":12,\"exp_year\":2031,\"cvc\":\"123\"}}", "card.number"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		order_unique_key(key, sizeof(key));
		pay(t, key, cases[i].body, &r);
		assert_problem(&r, 422, "validation_failed");
		char named[64];
		snprintf(named, sizeof(named), "\"field\":\"%s\"", cases[i].field); /* the field itself */
		cr_assert(strstr(r.body, named) != NULL, "case %zu: %s does not name %s", i, r.body, cases[i].field);
		cr_assert(strstr(r.body, "4242424242424241") == NULL && strstr(r.body, "\"123\"") == NULL,
			  "the answer echoes card data: %s", r.body);
		http_resp_free(&r);
	}
	pay(t, "k", "{\"order_id\":1,", &r);
	assert_problem(&r, 400, "malformed_json");
	http_resp_free(&r);
	free(t);
}

Test(payments, huge_body_is_413)
{
	char *t = customer_token(NULL);
	size_t n = 8000;
	char *body = malloc(n + 64);
	struct http_resp r;
	snprintf(body, n + 64, "{\"order_id\":1,\"card\":" CARD_OK ",\"x\":\"");
	size_t o = strlen(body);
	memset(body + o, 'a', n - o);
	strcpy(body + n, "\"}");
	pay(t, "k-huge", body, &r);
	assert_problem(&r, 413, "body_too_large");
	http_resp_free(&r);
	free(body);
	free(t);
}

Test(payments, idempotency_key_required_and_checked)
{
	char *t = customer_token(NULL);
	struct http_resp r;
	pay(t, NULL, "{\"order_id\":1,\"card\":" CARD_OK "}", &r);
	assert_problem(&r, 400, "idempotency_key_required");
	http_resp_free(&r);
	char longkey[300];
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	pay(t, longkey, "{\"order_id\":1,\"card\":" CARD_OK "}", &r);
	assert_problem(&r, 400, "bad_idempotency_key");
	http_resp_free(&r);
	free(t);
}

Test(payments, reads_are_the_callers_own)
{
	char *t = customer_token(NULL);
	struct http_resp r;
	api("GET", "/api/v1/payments", NULL, t, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 0);
	http_resp_free(&r);
	api("GET", "/api/v1/payments/123456789", NULL, t, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", "/api/v1/payments?status=paid", NULL, t, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	api("GET", "/api/v1/payments?order_id=1&role=admin", NULL, t, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	/* Refunds are staff work. */
	api("POST", "/api/v1/payments/1/refunds", "{\"amount\":1,\"reason\":\"x\"}", t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	free(t);
}

Test(payments, staff_refund_of_nothing_is_404_and_bad_amounts_422)
{
	char *a = admin_token();
	struct http_resp r;
	api("POST", "/api/v1/payments/987654321/refunds", "{\"amount\":100,\"reason\":\"broken\"}", a, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	static const char *const bad[] = {"{\"amount\":0,\"reason\":\"x\"}", "{\"amount\":-5,\"reason\":\"x\"}",
					  "{\"amount\":1.5,\"reason\":\"x\"}", "{\"amount\":100}",
					  "{\"amount\":100,\"reason\":\"\"}", "{\"amount\":100,\"reason\":\"x\",\"to\":\"me\"}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api("POST", "/api/v1/payments/1/refunds", bad[i], a, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	free(a);
}

/* A payment of 100 EUR by the test provider for `order` of `user` (no such order needs to exist), written
 * straight into the payment service's database as it would stand: its id. */
static long long payment_row(struct db_conn *db, long long order, long long user, const char *status,
			     long long refunded, const char *charge_ref)
{
	struct db_val v[] = {db_i64(order), db_i64(user), db_str(status), db_i64(refunded), db_str(charge_ref)};
	struct db_rows *r;
	cr_assert_eq(db_exec(db,
			     "INSERT INTO payments (order_id, user_id, amount, currency, status, refunded, provider, "
			     "provider_ref, brand, last4, exp_month, exp_year) VALUES (?, ?, 100, 'EUR', ?, ?, 'test', ?, "
			     "'visa', '4242', 12, 2031)",
			     v, 5, NULL),
		     0, "%s", db->errstr);
	cr_assert_eq(db_query(db, "SELECT id FROM payments WHERE order_id = ?", v, 1, &r), 0);
	long long id = db_cell_i64(r, 0, 0, 0);
	db_rows_free(r);
	return id;
}

/* Two payment instances' sweepers read the same stale refund and each ends it: the outcome is
 * recorded once. Here the provider refuses it (the charge is unknown to it), so the amount goes
 * back to the refundable once, not twice. To make both sweepers end it, the payment's row is
 * held locked while the refund turns stale: both read it, ask the provider, and queue their
 * writes behind the lock. */
Test(payments, a_refund_ended_by_two_sweepers_is_recorded_once)
{
	cr_assert_geq(test_service_instances("payment"), 2, "needs two payment instances (STORE_TEST_INSTANCES)");
	struct db_conn *db = test_db("payment"), *holder = test_db("payment");
	long long order = 8000000000000LL + (long long)getpid();
	struct db_rows *r;
	long long pay = payment_row(db, order, 1, "partially_refunded", 90, "gone_charge");
	struct db_val pp[] = {db_i64(pay)};
	cr_assert_eq(db_exec(db,
			     "INSERT INTO refunds (payment_id, amount, reason, actor, status, provider_ref) VALUES "
			     "(?, 60, 'earlier', 'staff', 'succeeded', 'test_re_x')",
			     pp, 1, NULL),
		     0, "%s", db->errstr);
	/* Stale (60 s) two seconds from now. */
	cr_assert_eq(db_exec(db,
			     "INSERT INTO refunds (payment_id, amount, reason, actor, created_at) VALUES "
			     "(?, 30, 'stuck', 'staff', NOW(3) - INTERVAL 58 SECOND)",
			     pp, 1, NULL),
		     0, "%s", db->errstr);
	cr_assert_eq(db_exec(holder, "START TRANSACTION", NULL, 0, NULL), 0, "%s", holder->errstr);
	cr_assert_eq(db_query(holder, "SELECT refunded FROM payments WHERE id = ? FOR UPDATE", pp, 1, &r), 0);
	db_rows_free(r);
	sleep(5); /* stale after 2 s; each sweeper reads it within a second and waits on the lock */
	cr_assert_eq(db_exec(holder, "COMMIT", NULL, 0, NULL), 0, "%s", holder->errstr);

	long long refunded = -1;
	char status[16] = "";
	for (int i = 0; i < 50; i++) {
		usleep(100 * 1000);
		cr_assert_eq(db_query(db, "SELECT p.refunded, r.status FROM payments p JOIN refunds r ON r.payment_id = p.id "
					  "WHERE p.id = ? AND r.reason = 'stuck'",
				      pp, 1, &r),
			     0, "%s", db->errstr);
		refunded = db_cell_i64(r, 0, 0, -1);
		db_cell_copy(r, 0, 1, status, sizeof(status));
		db_rows_free(r);
		if (strcmp(status, "pending") != 0)
			break;
	}
	sleep(1); /* the second sweeper's write, if any, lands */
	cr_assert_eq(db_query(db, "SELECT refunded FROM payments WHERE id = ?", pp, 1, &r), 0);
	refunded = db_cell_i64(r, 0, 0, -1);
	db_rows_free(r);
	cr_assert_str_eq(status, "failed", "the provider refused the refund");
	cr_assert_eq(refunded, 60, "30 given back once: 60 stay refunded (not %lld)", refunded);
	db_exec(db, "DELETE FROM refunds WHERE payment_id = ?", pp, 1, NULL);
	db_exec(db, "DELETE FROM payments WHERE id = ?", pp, 1, NULL);
	test_db_free(holder);
	test_db_free(db);
}

/* A refund the payment service made on its own (the order service refused the payment: the
 * order had expired or been cancelled) and that was interrupted is finished by the sweeper, which
 * must not tell the order service that order was refunded (it never took the payment), and must
 * tell the shopper by e-mail, as the uninterrupted refund does. */
Test(payments, an_interrupted_refund_of_a_refused_payment_does_not_tell_the_order)
{
	struct db_conn *db = test_db("payment");
	long long order = 8100000000000LL + (long long)getpid();
	struct db_rows *r;
	char email[128];
	unique_email(email, sizeof(email), "refused");
	long long shopper = register_user(email, "correct horse battery", "Refused Shopper");
	long long pay = payment_row(db, order, shopper, "succeeded", 100, "test_ch_refused");
	struct db_val pp[] = {db_i64(pay)};
	cr_assert_eq(db_exec(db,
			     "INSERT INTO refunds (payment_id, amount, reason, actor, created_at) VALUES "
			     "(?, 100, 'the order could not take the payment', 'payment-service', NOW(3) - INTERVAL 61 SECOND)",
			     pp, 1, NULL),
		     0, "%s", db->errstr);
	char status[16] = "";
	for (int i = 0; i < 50 && strcmp(status, "succeeded") != 0; i++) {
		usleep(100 * 1000);
		cr_assert_eq(db_query(db, "SELECT status FROM refunds WHERE payment_id = ?", pp, 1, &r), 0);
		db_cell_copy(r, 0, 0, status, sizeof(status));
		db_rows_free(r);
	}
	cr_assert_str_eq(status, "succeeded", "the sweeper finished the refund");
	char target[96];
	snprintf(target, sizeof(target), "POST /internal/order/orders/%lld/refunded", order);
	struct db_val t[] = {db_str(target)};
	cr_assert_eq(db_query(db, "SELECT COUNT(*) FROM outbox WHERE target = ?", t, 1, &r), 0);
	long long told = db_cell_i64(r, 0, 0, -1);
	db_rows_free(r);
	db_exec(db, "DELETE FROM outbox WHERE target = ?", t, 1, NULL);
	db_exec(db, "DELETE FROM refunds WHERE payment_id = ?", pp, 1, NULL);
	db_exec(db, "DELETE FROM payments WHERE id = ?", pp, 1, NULL);
	test_db_free(db);
	cr_assert_eq(told, 0, "the order service was told of a refund of a payment it refused");
	cr_assert(test_job_on_stream("payment_refunded", email, 10), "the shopper %s was not told", email);
}
