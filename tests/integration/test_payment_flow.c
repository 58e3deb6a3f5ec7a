/* test_payment_flow.c: paying real orders (cart → order → payment through the gateway): each test card, replays, refunds. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "db.h"
#include "order_kit.h"

TestSuite(payflow, .init = order_suite_init, .fini = order_suite_fini, .timeout = 180);

Test(payflow, success_card_pays_the_order_once_and_replays)
{
	struct shopper s;
	struct http_resp r, again;
	char key[96];
	long long pid, oid = order_placed_by_new_shopper(&s, 1299, 2, &pid);

	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242 4242 4242 4242", &r), 201, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "succeeded");
	cr_assert_eq(json_int(&r, "amount"), 2 * 1299 + 490, "the amount is the order's total");
	cr_assert_not_null(http_header(&r, "Location"));
	cr_assert_null(strstr(r.body, "4242424242424242"));
	long long payment = json_int(&r, "id");
	/* The same key and body: the first answer again, no second charge. */
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242 4242 4242 4242", &again), 201);
	cr_assert_eq(json_int(&again, "id"), payment);
	cr_assert_str_eq(http_header(&again, "Idempotent-Replayed"), "true");
	http_resp_free(&again);
	/* The same key for another card: a mismatch. */
	order_pay_by_card(s.token, key, oid, "5555 5555 5555 4444", &again);
	assert_problem(&again, 422, "idempotency_mismatch");
	http_resp_free(&again);
	http_resp_free(&r);

	wait_order(oid, s.token, "paid", 10);
	wait_stock(staff, pid, 98, 0); /* the reservation was committed: 2 units sold */
	/* A second payment of a paid order, with a new key: refused. */
	order_unique_key(key, sizeof(key));
	order_pay_by_card(s.token, key, oid, "4242424242424242", &r);
	cr_assert_eq(r.status, 409, "%s", r.body);
	http_resp_free(&r);
	/* Exactly one payment took money. */
	char path[96];
	snprintf(path, sizeof(path), "/api/v1/payments?order_id=%lld", oid);
	api("GET", path, NULL, s.token, &r);
	cr_assert_eq(json_int(&r, "total"), 1, "%s", r.body);
	http_resp_free(&r);
	cr_assert(test_job_on_stream("order_paid", s.email, 10), "no order_paid e-mail for %s", s.email);
	free(s.token);
}

Test(payflow, declined_cards_are_402_and_the_order_stays_payable)
{
	struct shopper s;
	struct http_resp r;
	char key[96], st[32];
	long long oid = order_placed_by_new_shopper(&s, 500, 1, NULL);
	static const struct {
		const char *number, *code;
	} cards[] = {{"4000 0000 0000 0002", "card_declined"}, {"4000000000009995", "insufficient_funds"}};

	for (size_t i = 0; i < 2; i++) {
		order_unique_key(key, sizeof(key));
		order_pay_by_card(s.token, key, oid, cards[i].number, &r);
		assert_problem(&r, 402, cards[i].code);
		long long pid = json_int(&r, "payment_id");
		cr_assert_gt(pid, 0);
		http_resp_free(&r);
		/* Its replay is the same problem document, media type included (RFC 9457). */
		order_pay_by_card(s.token, key, oid, cards[i].number, &r);
		assert_problem(&r, 402, cards[i].code);
		cr_assert_str_eq(http_header(&r, "Idempotent-Replayed"), "true");
		cr_assert_eq(json_int(&r, "payment_id"), pid, "%s", r.body);
		http_resp_free(&r);
	}
	order_status(oid, s.token, st, sizeof(st));
	cr_assert_str_eq(st, "pending_payment");
	/* The provider failing for a moment: 502, nothing charged; a new key then succeeds. */
	order_unique_key(key, sizeof(key));
	order_pay_by_card(s.token, key, oid, "4000 0000 0000 0119", &r);
	assert_problem(&r, 502, "provider_unavailable");
	http_resp_free(&r);
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	http_resp_free(&r);
	wait_order(oid, s.token, "paid", 10);
	cr_assert(test_job_on_stream("payment_failed", s.email, 10), "no payment_failed e-mail for %s", s.email);
	free(s.token);
}

Test(payflow, another_users_order_is_404)
{
	struct shopper s, other;
	struct http_resp r;
	char key[96];
	long long oid = order_placed_by_new_shopper(&s, 700, 1, NULL);
	new_shopper(&other);
	order_unique_key(key, sizeof(key));
	order_pay_by_card(other.token, key, oid, "4242424242424242", &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	free(s.token);
	free(other.token);
}

struct refund_arg {
	long long payment;
	long status;
};

static void *refund_800(void *p)
{
	struct refund_arg *a = p;
	char path[96];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/payments/%lld/refunds", a->payment);
	api("POST", path, "{\"amount\":800,\"reason\":\"half a set broke\"}", staff, &r);
	a->status = r.status;
	http_resp_free(&r);
	return NULL;
}

Test(payflow, concurrent_partial_refunds_never_exceed_the_charge)
{
	struct shopper s;
	struct http_resp r;
	char key[96], path[96];
	long long oid = order_placed_by_new_shopper(&s, 1000, 1, NULL); /* 1000 + 490 shipping */
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	http_resp_free(&r);

	struct refund_arg a[4] = {{payment, 0}, {payment, 0}, {payment, 0}, {payment, 0}};
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, refund_800, &a[i]);
	int ok = 0, refused = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		ok += a[i].status == 201;
		refused += a[i].status == 409;
	}
	cr_assert_eq(ok, 1, "one refund of 800 fits a charge of 1490 (%d went through)", ok);
	cr_assert_eq(refused, 3);
	snprintf(path, sizeof(path), "/api/v1/payments/%lld", payment);
	api("GET", path, NULL, s.token, &r);
	cr_assert_eq(json_int(&r, "refunded"), 800);
	cr_assert_str_eq(json_str(&r, "status"), "partially_refunded");
	http_resp_free(&r);
	/* The rest, and then nothing more. */
	snprintf(path, sizeof(path), "/api/v1/payments/%lld/refunds", payment);
	api("POST", path, "{\"amount\":690,\"reason\":\"the rest\"}", staff, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "refunded");
	http_resp_free(&r);
	api("POST", path, "{\"amount\":1,\"reason\":\"one more\"}", staff, &r);
	assert_problem(&r, 409, "refund_exceeds_payment");
	http_resp_free(&r);
	free(s.token);
}

/* POST /api/v1/payments/{payment}/refunds as staff with an Idempotency-Key (NULL: none). */
static void refund_keyed(long long payment, const char *key, const char *body, struct http_resp *r)
{
	char path[96], auth[4200], idem[300];
	const char *headers[3] = {auth, NULL, NULL};
	snprintf(path, sizeof(path), "/api/v1/payments/%lld/refunds", payment);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", staff);
	if (key) {
		snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
		headers[1] = idem;
	}
	http_send(test_env("STORE_TEST_URL"), "POST", path, body, strlen(body), headers, r);
}

/* The payment's refunded amount and its count of refunds, read from its database. */
static void refund_totals(long long payment, long long *refunded, long long *refunds)
{
	struct db_conn *db = test_db("payment");
	struct db_val p[] = {db_i64(payment)};
	struct db_rows *r;
	cr_assert_eq(db_query(db, "SELECT p.refunded, (SELECT COUNT(*) FROM refunds WHERE payment_id = p.id) "
				  "FROM payments p WHERE p.id = ?",
			      p, 1, &r),
		     0, "%s", db->errstr);
	*refunded = db_cell_i64(r, 0, 0, -1);
	*refunds = db_cell_i64(r, 0, 1, -1);
	db_rows_free(r);
	test_db_free(db);
}

/* The retry of a keyed refund whose run left it pending: 201, and the payment's refunded total
 * and count of refunds are `refunded` and `refunds` (the refund was not made a second time). */
static void retry_refunds_once(long long payment, const char *key, const char *body, long long refunded,
			       long long refunds)
{
	struct http_resp r;
	long long got, n;
	refund_keyed(payment, key, body, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(json_int(&r, "refunded"), refunded, "refunded once, not twice: %s", r.body);
	http_resp_free(&r);
	refund_totals(payment, &got, &n);
	cr_assert_eq(got, refunded);
	cr_assert_eq(n, refunds);
}

/* A staff refund with an Idempotency-Key happens once: a retry after a lost answer replays it,
 * the key with another body is a mismatch, and a retry after the run died between the provider's
 * refund and its record finishes that refund rather than making a second one. */
Test(payflow, a_refund_with_an_idempotency_key_happens_once)
{
	struct shopper s;
	struct http_resp r, again;
	char key[96];
	long long refunded, refunds, oid = order_placed_by_new_shopper(&s, 1000, 1, NULL); /* 1490 */
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	http_resp_free(&r);

	/* Bad keys are refused before anything is done. */
	char longkey[300];
	memset(longkey, 'k', 256);
	longkey[256] = '\0';
	refund_keyed(payment, longkey, "{\"amount\":100,\"reason\":\"scratched\"}", &r);
	assert_problem(&r, 400, "bad_idempotency_key");
	http_resp_free(&r);
	refund_keyed(payment, "sp ace", "{\"amount\":100,\"reason\":\"scratched\"}", &r);
	assert_problem(&r, 400, "bad_idempotency_key");
	http_resp_free(&r);

	/* Once, then replayed. */
	order_unique_key(key, sizeof(key));
	refund_keyed(payment, key, "{\"amount\":100,\"reason\":\"scratched\"}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_eq(json_int(&r, "refunded"), 100, "%s", r.body);
	refund_keyed(payment, key, "{\"amount\":100,\"reason\":\"scratched\"}", &again);
	cr_assert_eq(again.status, 201, "%s", again.body);
	cr_assert_str_eq(http_header(&again, "Idempotent-Replayed"), "true");
	cr_assert_str_eq(again.body, r.body, "the first answer, byte for byte");
	http_resp_free(&again);
	http_resp_free(&r);
	/* The same key with another amount, or for another payment: a mismatch, nothing refunded. */
	refund_keyed(payment, key, "{\"amount\":101,\"reason\":\"scratched\"}", &r);
	assert_problem(&r, 422, "idempotency_mismatch");
	http_resp_free(&r);
	refund_totals(payment, &refunded, &refunds);
	cr_assert_eq(refunded, 100);
	cr_assert_eq(refunds, 1);

	/* Without a key each request is a refund of its own, as before. */
	refund_keyed(payment, NULL, "{\"amount\":10,\"reason\":\"one\"}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	refund_keyed(payment, NULL, "{\"amount\":10,\"reason\":\"one\"}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	refund_totals(payment, &refunded, &refunds);
	cr_assert_eq(refunded, 120);
	cr_assert_eq(refunds, 3);

	/* A run that died after the provider refunded and before the outcome was recorded: its
	 * refund is pending, its key running with its lease passed. The retry takes the key over and
	 * ends that refund: the money goes back once. */
	order_unique_key(key, sizeof(key));
	refund_keyed(payment, key, "{\"amount\":200,\"reason\":\"dented\"}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	struct db_conn *db = test_db("payment");
	struct db_val pk[] = {db_i64(payment), db_str(key)};
	cr_assert_eq(db_exec(db, "UPDATE refunds SET status = 'pending', provider_ref = NULL WHERE payment_id = ? "
				 "AND reason = 'dented'",
			     pk, 1, NULL),
		     0, "%s", db->errstr);
	cr_assert_eq(db_exec(db, "UPDATE payments SET status = 'partially_refunded' WHERE id = ?", pk, 1, NULL), 0);
	struct db_val k[] = {db_str(key)};
	cr_assert_eq(db_exec(db, "UPDATE idempotency_keys SET state = 'running', http_status = NULL, location = NULL, "
				 "response = NULL, lease_until = NOW(3) - INTERVAL 1 SECOND WHERE idem_key = ?",
			     k, 1, NULL),
		     0, "%s", db->errstr);
	test_db_free(db);
	retry_refunds_once(payment, key, "{\"amount\":200,\"reason\":\"dented\"}", 320, 4);
	db = test_db("payment");
	struct db_rows *rows;
	cr_assert_eq(db_query(db, "SELECT status, provider_ref FROM refunds WHERE payment_id = ? AND reason = 'dented'",
			      pk, 1, &rows),
		     0);
	char st[16] = "", ref[80] = "";
	db_cell_copy(rows, 0, 0, st, sizeof(st));
	db_cell_copy(rows, 0, 1, ref, sizeof(ref));
	db_rows_free(rows);
	test_db_free(db);
	cr_assert_str_eq(st, "succeeded");
	cr_assert_str_neq(ref, "", "the provider's reference of the refund is recorded");

	/* A key forgotten while its refund was still pending (released, or purged): a new request
	 * with it ends that refund rather than making a second one. */
	order_unique_key(key, sizeof(key));
	refund_keyed(payment, key, "{\"amount\":50,\"reason\":\"bent\"}", &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	db = test_db("payment");
	struct db_val pk2[] = {db_i64(payment), db_str(key)};
	cr_assert_eq(db_exec(db, "UPDATE refunds SET status = 'pending', provider_ref = NULL WHERE payment_id = ? "
				 "AND reason = 'bent'",
			     pk2, 1, NULL),
		     0, "%s", db->errstr);
	cr_assert_eq(db_exec(db, "DELETE FROM idempotency_keys WHERE idem_key = ?", &pk2[1], 1, NULL), 0, "%s",
		     db->errstr);
	test_db_free(db);
	retry_refunds_once(payment, key, "{\"amount\":50,\"reason\":\"bent\"}", 370, 5);
	free(s.token);
}

Test(payflow, staff_cancel_of_a_paid_order_refunds_it_in_full)
{
	struct shopper s;
	struct http_resp r;
	char key[96], path[96];
	long long oid = order_placed_by_new_shopper(&s, 2000, 1, NULL);
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	http_resp_free(&r);
	wait_order(oid, s.token, "paid", 10);
	cr_assert_eq(order_act(oid, "cancel", "{\"reason\":\"out of stock at the warehouse\"}", staff, &r), 200, "%s",
		     r.body);
	http_resp_free(&r);
	/* order → payment (refund) → order (refunded), both through outboxes. */
	wait_order(oid, s.token, "refunded", 10);
	snprintf(path, sizeof(path), "/api/v1/payments/%lld", payment);
	api("GET", path, NULL, staff, &r);
	cr_assert_str_eq(json_str(&r, "status"), "refunded");
	cr_assert_eq(json_int(&r, "refunded"), 2490);
	http_resp_free(&r);
	free(s.token);
}


/* Staff refunding the whole payment of a paid order that has not shipped: the order is refunded
 * (not left `paid`, to be shipped for nothing), its owner told it is cancelled, and it can no
 * longer be shipped. A partial refund leaves it paid. */
/* Staff refund `body` of `payment`, what is left of it: the payment is refunded, and its order
 * `oid` goes from `from` to refunded. */
static void refund_the_rest(long long payment, const char *body, long long oid, const char *token, const char *from)
{
	struct http_resp r;
	char path[96], want[64];
	snprintf(path, sizeof(path), "/api/v1/payments/%lld/refunds", payment);
	api("POST", path, body, staff, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "refunded");
	http_resp_free(&r);
	wait_order(oid, token, "refunded", 10);
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", oid);
	api("GET", path, NULL, token, &r);
	snprintf(want, sizeof(want), "\"from\":\"%s\",\"to\":\"refunded\"", from);
	cr_assert_not_null(strstr(r.body, want), "%s", r.body);
	http_resp_free(&r);
}

Test(payflow, a_full_refund_of_a_paid_order_refunds_the_order)
{
	struct shopper s;
	struct http_resp r;
	char key[96], path[96], subject[96];
	long long oid = order_placed_by_new_shopper(&s, 1500, 1, NULL); /* 1500 + 490 */
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	http_resp_free(&r);
	wait_order(oid, s.token, "paid", 10);
	snprintf(path, sizeof(path), "/api/v1/payments/%lld/refunds", payment);
	api("POST", path, "{\"amount\":990,\"reason\":\"a scratch\"}", staff, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	http_resp_free(&r);
	/* A partial refund tells the order service nothing, and its shopper the amount. */
	cr_assert(test_job_on_stream("refund_issued", s.email, 10), "no refund_issued e-mail for %s", s.email);
	snprintf(subject, sizeof(subject), "A refund for order %lld", oid);
	wait_mail(s.email, subject);
	wait_order(oid, s.token, "paid", 1);
	refund_the_rest(payment, "{\"amount\":1000,\"reason\":\"the customer changed their mind\"}", oid, s.token, "paid");
	cr_assert(test_job_on_stream("order_cancelled", s.email, 10), "no order_cancelled e-mail for %s", s.email);
	order_act(oid, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"JJD0001\"}", staff, &r);
	assert_problem(&r, 409, "invalid_transition");
	http_resp_free(&r);
	free(s.token);
}

/*
 * A payment is refunded in whole only once refunds that went through cover it. Staff refund 30%
 * while another refund of the other 70% is still with the provider (written here as the refund
 * request leaves it: the amount reserved, the refund pending): the payment is partially
 * refunded, its shopper told of the 30%, and the order stays paid. Before, the status counted
 * the pending 70% too: "refunded", the order refunded and its shopper told all came back,
 * though the 70% might still fail. When the 70% goes through (the sweeper asks the provider
 * again), the payment and the order are refunded.
 */
Test(payflow, a_refund_in_flight_does_not_count_until_it_goes_through)
{
	struct shopper s;
	struct http_resp r;
	char sql[320], path[96], body[96];
	long long oid, payment = order_paid_by_new_shopper(&s, 1510, &oid); /* 1510 + 490 = 2000 */
	snprintf(sql, sizeof(sql),
		 "INSERT INTO refunds (payment_id, amount, reason, actor) VALUES (%lld, 1400, 'in flight', 'staff:1'); "
		 "UPDATE payments SET refunded = refunded + 1400 WHERE id = %lld",
		 payment, payment);
	test_sql("store_payment", sql, NULL, 0);
	snprintf(path, sizeof(path), "/api/v1/payments/%lld/refunds", payment);
	api("POST", path, "{\"amount\":600,\"reason\":\"the lid is chipped\"}", staff, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "partially_refunded", "%s", r.body);
	http_resp_free(&r);
	cr_assert(test_job_on_stream("refund_issued", s.email, 10), "no refund_issued e-mail for %s", s.email);
	sleep(2);
	wait_order(oid, s.token, "paid", 1);

	/* The 1400 goes through: the sweeper ends it (here at once: it is made old). */
	snprintf(sql, sizeof(sql),
		 "UPDATE refunds SET created_at = NOW(3) - INTERVAL 1 HOUR WHERE payment_id = %lld AND status = 'pending'",
		 payment);
	test_sql("store_payment", sql, NULL, 0);
	wait_payment(payment, s.token, "refunded", 20);
	wait_order(oid, s.token, "refunded", 20);
	snprintf(body, sizeof(body), "{\"amount\":1,\"reason\":\"more\"}");
	api("POST", path, body, staff, &r);
	assert_problem(&r, 409, "refund_exceeds_payment");
	http_resp_free(&r);
	free(s.token);
}

/*
 * The catalogue's prices go up to 10^15 minor units, and so does what an order takes: a product
 * at the highest price is ordered, paid and refunded in whole. A total past 2^53 - 1 (where a
 * JavaScript client's numbers stop being exact) is 409 total_too_large. Before, the order refused
 * any price above 10^11 as "not_on_sale", and a refund above 10^12 was a 422.
 */
Test(payflow, a_product_at_the_highest_price_is_ordered_paid_and_refunded)
{
	struct shopper s, t;
	struct http_resp r;
	char key[96], path[96], body[96];
	long long pid;
	long long oid = order_placed_by_new_shopper(&s, 1000000000000000LL, 1, &pid);
	order_unique_key(key, sizeof(key));
	cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
	long long payment = json_int(&r, "id");
	cr_assert_eq(json_int(&r, "amount"), 1000000000000000LL, "%s", r.body);
	http_resp_free(&r);
	wait_order(oid, s.token, "paid", 10);
	snprintf(body, sizeof(body), "{\"amount\":%lld,\"reason\":\"sent back\"}", 1000000000000000LL);
	snprintf(path, sizeof(path), "/api/v1/payments/%lld/refunds", payment);
	api("POST", path, body, staff, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "refunded");
	http_resp_free(&r);

	/* ten of them: 10^16, past 2^53 - 1 */
	new_shopper(&t);
	cart_put(t.token, pid, 10);
	checkout(t.token, &r);
	assert_problem(&r, 409, "total_too_large");
	http_resp_free(&r);
	free(t.token);
	free(s.token);
}

/*
 * A whole refund after the order shipped (a parcel lost, goods sent back) refunds the order too,
 * from shipped or from delivered, and its owner gets the order_refunded e-mail. Before, the order
 * service refused the payment's call (409), the payment's outbox gave it up, and the order stayed
 * shipped with its money returned: also what a staff refund in flight while staff shipped ended as.
 */
Test(payflow, a_full_refund_after_shipping_refunds_the_order)
{
	const char *after[] = {"shipped", "delivered"};
	for (int i = 0; i < 2; i++) {
		struct shopper s;
		struct http_resp r;
		char key[96], want[64];
		long long pid;
		long long oid = order_placed_by_new_shopper(&s, 1200, 1, &pid);
		order_unique_key(key, sizeof(key));
		cr_assert_eq(order_pay_by_card(s.token, key, oid, "4242424242424242", &r), 201, "%s", r.body);
		long long payment = json_int(&r, "id"), amount = json_int(&r, "amount");
		char body[96];
		http_resp_free(&r);
		wait_order(oid, s.token, "paid", 10);
		cr_assert_eq(order_act(oid, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"JJD0002\"}", staff, &r), 200,
			     "%s", r.body);
		http_resp_free(&r);
		if (i == 1) {
			cr_assert_eq(order_act(oid, "deliver", NULL, staff, &r), 200, "%s", r.body);
			http_resp_free(&r);
		}
		snprintf(body, sizeof(body), "{\"amount\":%lld,\"reason\":\"the parcel was lost\"}", amount);
		refund_the_rest(payment, body, oid, s.token, after[i]);
		cr_assert(test_job_on_stream("order_refunded", s.email, 10), "no order_refunded e-mail for %s", s.email);
		cr_assert_not(test_job_on_stream("order_cancelled", s.email, 1), "order_cancelled sent to %s", s.email);
		snprintf(want, sizeof(want), "Order %lld was refunded", oid);
		wait_mail(s.email, want);
		/* the delivered one no longer makes its owner a verified buyer, for the review service */
		if (i == 1)
			cr_assert_not(order_delivered_with(s.id, pid));
		free(s.token);
	}
}


/*
 * A payment's "paid" call queued as a single call by a payment service from before the batches,
 * and refused by the order service (left failed), is still refunded by the sweeper after an
 * upgrade. The row is written as that older service left it, for a payment that succeeded.
 */
Test(payflow, a_refused_single_paid_call_from_before_the_batches_is_refunded)
{
	struct shopper s;
	long long oid, payment = order_paid_by_new_shopper(&s, 800, &oid);
	payment_refused_by_order(oid, payment);
	wait_payment(payment, s.token, "refunded", 10); /* by the sweeper, from the refused call */
	free(s.token);
}
