/* test_order_checkout.c: POST /orders from a real cart through NGINX: the whole path, Idempotency-Keys, races for stock, a crash mid-checkout. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
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
#include "rig.h"

/*
 * NEEDS THE CART SERVICE. Every test here fills carts through the public cart routes
 * (PUT /api/v1/cart/items/{product_id} with the shopper's token) and places orders from them,
 * so this program runs only against a stack with the cart service in SERVICES: it is built
 * with `make tests/integration/test_order_checkout` (Makefile.am's CART_INTEGRATION_TESTS) and
 * joins INTEGRATION_TESTS when the cart branch is merged. The order service's contract with
 * the cart is in fcgi-apps/order/cart_port.h.
 */

TestSuite(checkout, .init = order_suite_init, .fini = order_suite_fini, .timeout = 240);

static long long cart_lines(const char *token)
{
	struct http_resp r;
	struct json_object *items;
	api("GET", "/api/v1/cart", NULL, token, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert(json_object_object_get_ex(r.json, "items", &items));
	long long n = (long long)json_object_array_length(items);
	http_resp_free(&r);
	return n;
}

static long long orders_of(long long uid)
{
	struct db_val p[] = {db_i64(uid)};
	struct db_rows *r;
	cr_assert_eq(db_query(order_db, "SELECT COUNT(*) FROM orders WHERE user_id = ?", p, 1, &r), 0, "%s", order_db->errstr);
	long long n = db_cell_i64(r, 0, 0, -1);
	db_rows_free(r);
	return n;
}

Test(checkout, register_cart_order_pay_ship_deliver_with_emails)
{
	struct shopper s;
	struct http_resp r;
	char key[96], subject[96], path[64];
	new_shopper(&s);
	long long a = test_product(staff, 1250, "EUR"), b = test_product(staff, 990, "EUR");
	test_put_stock(staff, a, 10, 0);
	test_put_stock(staff, b, 10, 0);
	cart_put(s.token, a, 2);
	cart_put(s.token, b, 1);
	order_unique_key(key, sizeof(key));

	cr_assert_eq(send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, key, &r), 201, "%s", r.body);
	long long id = json_int(&r, "id");
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", id);
	cr_assert_str_eq(http_header(&r, "Location"), path);
	cr_assert_str_eq(json_str(&r, "status"), "pending_payment");
	cr_assert_eq(json_int(&r, "subtotal"), 3490);
	cr_assert_eq(json_int(&r, "shipping"), 490, "below the free-shipping threshold");
	cr_assert_eq(json_int(&r, "total"), 3980);
	cr_assert_str_eq(json_str(&r, "currency"), "EUR");
	char *first = strdup(r.body);
	/* The answer is built from what the placing wrote: it is the order as a read shows it. */
	struct http_resp back;
	api("GET", path, NULL, s.token, &back);
	cr_assert_eq(back.status, 200, "%s", back.body);
	cr_assert(json_object_equal(r.json, back.json), "answered %s, read back %s", r.body, back.body);
	http_resp_free(&back);
	http_resp_free(&r);
	cr_assert_eq(stock_available(staff, a), 8);
	cr_assert_eq(stock_available(staff, b), 9);

	/* The ordered lines leave the cart (through the order service's outbox). */
	for (int i = 0; i < 50 && cart_lines(s.token) != 0; i++)
		usleep(100000);
	cr_assert_eq(cart_lines(s.token), 0);

	/* Prices are a snapshot: a later catalogue change does not alter the order. */
	char pp[64];
	snprintf(pp, sizeof(pp), "/api/v1/products/%lld", a);
	api("PATCH", pp, "{\"price\":9999}", staff, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	api("GET", path, NULL, s.token, &r);
	cr_assert_eq(json_int(&r, "total"), 3980, "%s", r.body);
	http_resp_free(&r);

	/* The same key and body: the first answer again, no second order. */
	cr_assert_eq(send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, key, &r), 201);
	cr_assert_str_eq(r.body, first);
	cr_assert_str_eq(http_header(&r, "Location"), path);
	http_resp_free(&r);
	free(first);
	send_order("POST", "/api/v1/orders", "{\"shipping_address\":" ORDER_ADDRESS "}", s.token, key, &r);
	assert_problem(&r, 422, "idempotency_mismatch");
	http_resp_free(&r);
	cr_assert_eq(orders_of(s.id), 1);

	snprintf(subject, sizeof(subject), "Order %lld received", id);
	wait_mail(s.email, subject);
	cr_assert_eq(order_pay(id, 3980, "pay-e2e", &r), 200, "%s", r.body);
	http_resp_free(&r);
	snprintf(subject, sizeof(subject), "Payment received for order %lld", id);
	wait_mail(s.email, subject);
	cr_assert_eq(order_act(id, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"JJD1\"}", staff, &r), 200, "%s", r.body);
	http_resp_free(&r);
	snprintf(subject, sizeof(subject), "Order %lld is on its way", id);
	wait_mail(s.email, subject);
	cr_assert_eq(order_act(id, "deliver", NULL, staff, &r), 200, "%s", r.body);
	http_resp_free(&r);

	long long on_hand, reserved;
	test_stock(staff, a, &on_hand, &reserved, NULL);
	cr_assert_eq(on_hand, 8, "sold");
	cr_assert_eq(reserved, 0);
	free(s.token);
}

/* Sets `field` of every session of `uid` to `value` in Redis, or removes it (value NULL). */
static void sessions_set(long long uid, const char *field, const char *value)
{
	redisContext *c = test_redis();
	redisReply *idx = redisCommand(c, "ZRANGE user_sessions:%lld 0 -1", uid);
	cr_assert(idx && idx->type == REDIS_REPLY_ARRAY && idx->elements > 0, "no session of user %lld", uid);
	for (size_t i = 0; i < idx->elements; i++) {
		redisReply *rep = value ? redisCommand(c, "HSET session:%s %s %s", idx->element[i]->str, field, value)
					: redisCommand(c, "HDEL session:%s %s", idx->element[i]->str, field);
		cr_assert(rep && rep->type == REDIS_REPLY_INTEGER);
		freeReplyObject(rep);
	}
	freeReplyObject(idx);
	redisFree(c);
}

/* Places a one-unit order of `pid` for `s` with a new key; asserts that the order row holds
 * `email` and `name` as its customer's contact. */
static void order_contact_is(struct shopper *s, long long pid, const char *email, const char *name)
{
	struct http_resp r;
	struct db_rows *rows;
	char key[96];
	cart_put(s->token, pid, 1);
	order_unique_key(key, sizeof(key));
	cr_assert_eq(send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s->token, key, &r), 201, "%s", r.body);
	struct db_val p[] = {db_i64(json_int(&r, "id"))};
	http_resp_free(&r);
	cr_assert_eq(db_query(order_db, "SELECT email, customer_name FROM orders WHERE id = ?", p, 1, &rows), 0, "%s",
		     order_db->errstr);
	cr_assert_str_eq(db_cell(rows, 0, 0), email);
	cr_assert_str_eq(db_cell(rows, 0, 1), name);
	db_rows_free(rows);
	for (int i = 0; i < 50 && cart_lines(s->token) != 0; i++) /* the outbox empties the cart */
		usleep(100000);
}

/* The order keeps its customer's e-mail address and name, read from the shopper's session
 * (which the user service keeps current on a rename), not asked of the user service; a session
 * made before sessions carried them still gets them from the user service. */
Test(checkout, the_contact_comes_from_the_session_and_follows_a_rename)
{
	struct shopper s;
	struct http_resp r;
	new_shopper(&s);
	long long pid = test_product(staff, 500, "EUR");
	test_put_stock(staff, pid, 10, 0);
	order_contact_is(&s, pid, s.email, "Ada");

	api("PATCH", "/api/v1/users/me", "{\"name\":\"Grace Hopper\"}", s.token, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	order_contact_is(&s, pid, s.email, "Grace Hopper");

	/* What the session says is what the order takes: the user service is not asked. */
	sessions_set(s.id, "name", "As The Session Says");
	order_contact_is(&s, pid, s.email, "As The Session Says");

	/* A session without a contact (made by an older version): the user service answers. */
	sessions_set(s.id, "email", NULL);
	sessions_set(s.id, "name", NULL);
	order_contact_is(&s, pid, s.email, "Grace Hopper");
	free(s.token);
}

Test(checkout, empty_cart_is_409_and_kept_under_its_key)
{
	struct shopper s;
	struct http_resp r;
	new_shopper(&s);
	checkout(s.token, &r);
	assert_problem(&r, 409, "cart_empty");
	http_resp_free(&r);
	free(s.token);
}

Test(checkout, out_of_stock_lists_the_lines_and_holds_nothing)
{
	struct shopper s;
	struct http_resp r;
	char key[96];
	new_shopper(&s);
	long long a = test_product(staff, 100, "EUR"), b = test_product(staff, 100, "EUR");
	test_put_stock(staff, a, 5, 0);
	test_put_stock(staff, b, 1, 0);
	cart_put(s.token, a, 2);
	cart_put(s.token, b, 3);
	order_unique_key(key, sizeof(key));
	send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, key, &r);
	assert_problem(&r, 409, "out_of_stock");
	cr_assert(strstr(r.body, "\"available\":1"), "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(stock_available(staff, a), 5, "nothing is left reserved");
	cr_assert_eq(orders_of(s.id), 0);
	free(s.token);
}

/* The order's transaction fails (here a trigger refuses its INSERT for this shopper): the
 * stock comes back, and a retry with the same key, once the database accepts the order, places
 * it. The failed attempt's reservation was released under that attempt's name: the retry runs
 * as the next attempt, under a name of its own. */
Test(checkout, a_failed_order_transaction_can_be_retried_with_the_same_key)
{
	struct shopper s;
	struct http_resp r;
	char key[96], sql[512];
	new_shopper(&s);
	long long pid = test_product(staff, 250, "EUR");
	test_put_stock(staff, pid, 5, 0);
	cart_put(s.token, pid, 2);
	snprintf(sql, sizeof(sql),
		 "CREATE TRIGGER refuse_%lld BEFORE INSERT ON orders FOR EACH ROW "
		 "SET NEW.user_id = IF(NEW.user_id = %lld, NULL, NEW.user_id)", /* NOT NULL: refused */
		 s.id, s.id);
	test_sql("store_order", sql, NULL, 0);
	order_unique_key(key, sizeof(key));
	long st = send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, key, &r);
	snprintf(sql, sizeof(sql), "DROP TRIGGER refuse_%lld", s.id);
	test_sql("store_order", sql, NULL, 0);
	cr_assert_geq(st, 500, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(stock_available(staff, pid), 5, "the failed attempt holds no stock");
	cr_assert_eq(orders_of(s.id), 0);

	st = send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, key, &r);
	cr_assert_eq(st, 201, "the retry places the order: %s", r.body);
	long long id = json_int(&r, "id");
	http_resp_free(&r);
	cr_assert_eq(orders_of(s.id), 1);
	cr_assert_eq(stock_available(staff, pid), 3, "the retry holds its two units");
	/* And the key now replays it. */
	cr_assert_eq(send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, key, &r), 201, "%s", r.body);
	cr_assert_eq(json_int(&r, "id"), id);
	http_resp_free(&r);
	free(s.token);
}

struct buyer {
	struct shopper s;
	char key[96];
	long status;
};

static void *checkout_once(void *arg)
{
	struct buyer *b = arg;
	struct http_resp r;
	b->status = send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, b->s.token, b->key, &r);
	http_resp_free(&r);
	return NULL;
}

/* n shoppers with `qty` of `pid` in their carts check out at once; returns how many got 201. */
static int stampede(struct buyer *buyers, int n, long long pid)
{
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	int created = 0;
	for (int i = 0; i < n; i++) {
		new_shopper(&buyers[i].s);
		cart_put(buyers[i].s.token, pid, 1);
		order_unique_key(buyers[i].key, sizeof(buyers[i].key));
	}
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, checkout_once, &buyers[i]);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		cr_assert(buyers[i].status == 201 || buyers[i].status == 409, "status %ld", buyers[i].status);
		created += buyers[i].status == 201;
	}
	free(t);
	return created;
}

Test(checkout, two_shoppers_race_for_the_last_unit)
{
	struct buyer b[2];
	long long pid = test_product(staff, 100, "EUR"), on_hand, reserved;
	test_put_stock(staff, pid, 1, 0);
	cr_assert_eq(stampede(b, 2, pid), 1, "one order, one 409");
	test_stock(staff, pid, &on_hand, &reserved, NULL);
	cr_assert_eq(on_hand, 1);
	cr_assert_eq(reserved, 1, "stock never negative, the winner holds the unit");
	for (int i = 0; i < 2; i++)
		free(b[i].s.token);
}

Test(checkout, hundred_checkouts_for_fifty_units)
{
	enum { N = 100 };
	struct buyer *b = calloc(N, sizeof(*b));
	long long pid = test_product(staff, 100, "EUR"), on_hand, reserved;
	test_put_stock(staff, pid, 50, 0);
	cr_assert_eq(stampede(b, N, pid), 50, "exactly 50 orders");
	test_stock(staff, pid, &on_hand, &reserved, NULL);
	cr_assert_eq(reserved, 50);
	cr_assert_eq(on_hand, 50);
	for (int i = 0; i < N; i++)
		free(b[i].s.token);
	free(b);
}

/* Retries `b`'s checkout with its key until it is answered for good (not 409 in flight, not
 * 502/503 while the service restarts): at most `seconds`. */
static long retry_until_answered(struct buyer *b, int seconds)
{
	struct http_resp r;
	long status = 0;
	for (int i = 0; i < seconds * 5; i++) {
		status = send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, b->s.token, b->key, &r);
		bool again = status == 502 || status == 503 ||
			     (status == 409 && strstr(r.body, "idempotency_in_flight"));
		http_resp_free(&r);
		if (!again)
			return status;
		usleep(200000);
	}
	return status;
}

Test(checkout, killed_mid_checkout_then_retried_with_the_same_keys)
{
	enum { N = 12 };
	struct buyer b[N];
	pthread_t t[N];
	long long pid = test_product(staff, 100, "EUR");
	test_put_stock(staff, pid, 100, 0);
	for (int i = 0; i < N; i++) {
		new_shopper(&b[i].s);
		cart_put(b[i].s.token, pid, 1);
		order_unique_key(b[i].key, sizeof(b[i].key));
	}
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, checkout_once, &b[i]);
	usleep(30000); /* some checkouts are between their reservation and their commit */
	test_service_kill("order");
	for (int i = 0; i < N; i++)
		pthread_join(t[i], NULL);
	test_service_start("order");
	test_until_ok("/api/v1/orders/health", NULL);

	/* Every client retries with its key until it has its answer: a crashed attempt's key is
	 * taken over once its lease has passed, and its reservation released first. */
	for (int i = 0; i < N; i++)
		cr_assert_eq(retry_until_answered(&b[i], 60), 201, "buyer %d", i);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(orders_of(b[i].s.id), 1, "buyer %d: one order", i);
		free(b[i].s.token);
	}
	/* No stock leak: exactly the N orders' units are held. */
	wait_stock(staff, pid, 100, N);
}
