/* test_order.c: the order service through NGINX: auth, validation, Idempotency-Key handling, an order's life, its e-mails, stock, expiry and races. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "ctx.h"
#include "db.h"
#include "../unit/fake_io.h"
#include "../../lib/client.h" /* lib's internal client, beside the tests' client.h */
#include "idem.h"
#include "order_kit.h"
#include "outbox.h"
#include "request.h"
#include "rig.h"

/*
 * Placing an order reads the caller's cart from the cart service, which is not in this branch's
 * stack yet: every test here runs without it. The orders whose life these tests follow are
 * written the way POST /orders writes them (order, line, first history row, and a real
 * reservation at the inventory under the order's reference) by seed_order() below; the checkout
 * itself through the cart is in test_order_checkout.c.
 */

TestSuite(order, .init = order_suite_init, .fini = order_suite_fini, .timeout = 120);

static void exec_ok(const char *sql, const struct db_val *p, size_t n, struct db_exec_result *res)
{
	cr_assert_eq(db_exec(order_db, sql, p, n, res), 0, "%s: %s", sql, order_db->errstr);
}

static long long query_i64(const char *sql, const struct db_val *p, size_t n)
{
	struct db_rows *r;
	cr_assert_eq(db_query(order_db, sql, p, n, &r), 0, "%s: %s", sql, order_db->errstr);
	long long v = db_cell_i64(r, 0, 0, -1);
	db_rows_free(r);
	return v;
}

/* A pending order of `qty` units of `pid` at `price` for shopper s, as POST /orders leaves it,
 * expiring in `ttl` seconds (<= 0: already due). Returns its id. */
static long long seed_order(const struct shopper *s, long long pid, long long qty, long long price, int ttl)
{
	static int n;
	char ref[64], body[256];
	struct http_resp r;
	struct db_exec_result res;
	snprintf(ref, sizeof(ref), "seed-%d-%ld-%d", (int)getpid(), (long)time(NULL), ++n);
	snprintf(body, sizeof(body), "{\"order_ref\":\"%s\",\"ttl_seconds\":%d,\"items\":[{\"product_id\":%lld,\"quantity\":%lld}]}",
		 ref, ttl > 0 ? ttl + 300 : 600, pid, qty);
	cr_assert_eq(internal("POST", "/internal/inventory/reservations", body, &r), 201, "%s", r.body);
	http_resp_free(&r);

	static const char ins[] =
		"INSERT INTO orders (order_ref, user_id, email, customer_name, status, currency, subtotal, shipping, total, "
		"ship_name, ship_line1, ship_city, ship_postal_code, ship_country, expires_at) VALUES (?, ?, ?, 'Ada', "
		"'pending_payment', 'EUR', ?, 490, ?, 'Ada Lovelace', '1 Main Street', 'Berlin', '10115', 'DE', "
		"NOW() + INTERVAL ? SECOND)";
	struct db_val p[] = {db_str(ref), db_i64(s->id), db_str(s->email), db_i64(qty * price),
			     db_i64(qty * price + 490), db_i64(ttl)};
	exec_ok(ins, p, 6, &res);
	long long id = (long long)res.insert_id;
	static const char line[] = "INSERT INTO order_lines (order_id, line_no, product_id, sku, name, unit_price, quantity, "
				   "line_total) VALUES (?, 1, ?, 'SKU', 'Seeded item', ?, ?, ?)";
	struct db_val pl[] = {db_i64(id), db_i64(pid), db_i64(price), db_i64(qty), db_i64(qty * price)};
	exec_ok(line, pl, 5, NULL);
	char actor[40];
	snprintf(actor, sizeof(actor), "user:%lld", s->id);
	static const char hist[] = "INSERT INTO order_history (order_id, from_status, to_status, actor) VALUES (?, NULL, "
				   "'pending_payment', ?)";
	struct db_val ph[] = {db_i64(id), db_str(actor)};
	exec_ok(hist, ph, 2, NULL);
	return id;
}

/* A new shopper (`s`) with an order of `qty` units of a new product at `price`, of which
 * `on_hand` are in stock (its id in *pid when not NULL). */
static long long new_shoppers_order(struct shopper *s, long long price, long long on_hand, long long qty, long long *pid)
{
	new_shopper(s);
	long long p = test_product(staff, price, "EUR");
	test_put_stock(staff, p, on_hand, 0);
	if (pid)
		*pid = p;
	return seed_order(s, p, qty, price, 900);
}





/* --- auth and validation ------------------------------------------------------------------ */

Test(order, health_and_auth)
{
	struct http_resp r;
	api("GET", "/api/v1/orders/health", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, NULL, "k", &r), 401);
	http_resp_free(&r);
	api("GET", "/api/v1/orders", NULL, NULL, &r);
	assert_problem(&r, 401, NULL);
	http_resp_free(&r);
	api("GET", "/api/v1/orders/1", NULL, "not-a-token", &r);
	assert_problem(&r, 401, NULL);
	http_resp_free(&r);
	/* The internal routes do not exist on the public listener. */
	api("GET", "/internal/order/orders/1", NULL, staff, &r);
	cr_assert_eq(r.status, 404);
	http_resp_free(&r);
}

Test(order, idempotency_key_is_required_and_checked)
{
	struct shopper s;
	struct http_resp r;
	char key[300];
	new_shopper(&s);
	send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, NULL, &r);
	assert_problem(&r, 400, "idempotency_key_required");
	http_resp_free(&r);
	memset(key, 'k', 256);
	key[256] = '\0';
	send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, key, &r);
	assert_problem(&r, 400, "bad_idempotency_key");
	http_resp_free(&r);
	free(s.token);
}

Test(order, bad_addresses_and_bodies_are_422)
{
	struct shopper s;
	struct http_resp r;
	char *note = malloc(10 * 1024 + 200);
	new_shopper(&s);
	static const struct {
		const char *body, *field;
	} bad[] = {
		{"{\"shipping_address\":{\"name\":\"Ada\",\"line1\":\"1 Main\",\"city\":\"Berlin\",\"postal_code\":\"10115\",\"country\":\"XX\"}}",
		 "shipping_address.country"},
		{"{\"shipping_address\":{\"name\":\"\",\"line1\":\"1 Main\",\"city\":\"Berlin\",\"postal_code\":\"10115\",\"country\":\"DE\"}}",
		 "shipping_address.name"},
		{"{\"shipping_address\":{\"line1\":\"1 Main\",\"city\":\"Berlin\",\"postal_code\":\"10115\",\"country\":\"DE\"}}",
		 "shipping_address.name"},
		{"{\"shipping_address\":\"Berlin\"}", "shipping_address"},
		{"{\"note\":\"no address\"}", "shipping_address"},
		{"{\"shipping_address\":" ORDER_ADDRESS ",\"total\":1}", "total"},
		{"{\"shipping_address\":" ORDER_ADDRESS ",\"user_id\":1}", "user_id"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		send_order("POST", "/api/v1/orders", bad[i].body, s.token, "bad-body", &r);
		assert_problem(&r, 422, "validation_failed");
		cr_assert(strstr(r.body, bad[i].field), "%zu: %s", i, r.body);
		http_resp_free(&r);
	}
	/* A 10 kB note: within the body cap, but the note holds at most 1000 characters. */
	int n = sprintf(note, "{\"shipping_address\":" ORDER_ADDRESS ",\"note\":\"");
	memset(note + n, 'n', 10 * 1024);
	strcpy(note + n + 10 * 1024, "\"}");
	send_order("POST", "/api/v1/orders", note, s.token, "long-note", &r);
	assert_problem(&r, 422, "validation_failed");
	cr_assert(strstr(r.body, "\"note\""), "%s", r.body);
	http_resp_free(&r);
	free(note);
	/* No validation failure was stored under the key: it is still free (no order, no answer). */
	struct db_val p[] = {db_i64(s.id)};
	cr_assert_eq(query_i64("SELECT COUNT(*) FROM idempotency_keys WHERE caller = ?", p, 1), 0);
	free(s.token);
}

/* A key row written the way lib/idem writes a POST /orders key (BLAKE2b-256 of the scope, its
 * NUL and the body), to drive the key's states without a cart: the same key and body must find
 * exactly this row. */
static void put_key(long long uid, const char *key, const char *body, const char *status, int lease_s,
		    const char *answer, int answer_status)
{
	static const char scope[] = "POST /api/v1/orders";
	unsigned char h[32];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)scope, sizeof(scope));
	crypto_generichash_update(&st, (const unsigned char *)body, strlen(body));
	crypto_generichash_final(&st, h, sizeof(h));
	static const char sql[] = "INSERT INTO idempotency_keys (caller, idem_key, request_hash, state, lease_until, "
				  "http_status, response) VALUES (?, ?, ?, ?, NOW(3) + INTERVAL ? SECOND, ?, ?)";
	struct db_val p[] = {db_i64(uid), db_str(key), db_strn((const char *)h, sizeof(h)), db_str(status),
			     db_i64(lease_s), answer ? db_i64(answer_status) : db_null(), db_str(answer)};
	exec_ok(sql, p, 7, NULL);
}

Test(order, idempotency_in_flight_replay_and_mismatch)
{
	struct shopper s;
	struct http_resp r;
	new_shopper(&s);

	/* Running and within its lease: 409 with Retry-After, and nothing else happens. */
	put_key(s.id, "running-key", ORDER_CHECKOUT, "running", 60, NULL, 0);
	send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, "running-key", &r);
	assert_problem(&r, 409, "idempotency_in_flight");
	cr_assert_not_null(http_header(&r, "Retry-After"));
	http_resp_free(&r);

	/* Same key, another body: 422, whatever the state. */
	send_order("POST", "/api/v1/orders", "{\"shipping_address\":" ORDER_ADDRESS "}", s.token, "running-key", &r);
	assert_problem(&r, 422, "idempotency_mismatch");
	http_resp_free(&r);

	/* Done: the stored answer comes back with its status, every time. */
	put_key(s.id, "done-key", ORDER_CHECKOUT, "done", 0,
		"{\"type\":\"urn:store:problem:cart_empty\",\"title\":\"Conflict\",\"status\":409,\"detail\":\"The cart is "
		"empty.\",\"code\":\"cart_empty\",\"request_id\":\"first\"}",
		409);
	for (int i = 0; i < 2; i++) {
		send_order("POST", "/api/v1/orders", ORDER_CHECKOUT, s.token, "done-key", &r);
		assert_problem(&r, 409, "cart_empty");
		cr_assert_str_eq(json_str(&r, "request_id"), "first", "the first answer, not a new one");
		cr_assert_str_eq(http_header(&r, "Idempotent-Replayed"), "true");
		http_resp_free(&r);
	}

	/* Keys belong to their caller: another shopper's same key is another key. */
	struct shopper t;
	new_shopper(&t);
	send_order("POST", "/api/v1/orders", "{\"shipping_address\":" ORDER_ADDRESS "}", t.token, "running-key", &r);
	cr_assert_neq(r.status, 422, "another caller's key must not collide: %s", r.body);
	http_resp_free(&r);
	free(t.token);
	free(s.token);
}

/* --- lib/idem against a real idempotency_keys table (the order database's) ------------------ */

/* One idem_begin for caller `caller` and key `key` over `body`, as a handler runs it: whether it
 * may go on, the attempt it holds, and what it answered otherwise (status 0: nothing). */
struct idem_try {
	bool go;
	struct idem id;
	int status;
	char code[64], content_type[64], location[64], replayed[8], body[256];
};

static void idem_try(long long caller, const char *key, const char *body, long lease, struct idem_try *t)
{
	struct fake_io f;
	struct request req;
	struct fake_resp resp = {0};

	memset(t, 0, sizeof(*t));
	fake_io_init(&f);
	fake_io_param(&f, "REQUEST_ID", "idem-test");
	fake_io_param(&f, "HTTP_IDEMPOTENCY_KEY", key);
	cr_assert_eq(fake_request(&f, &req, "POST", "/api/v1/orders"), 0);
	t->go = idem_begin(&req, order_db, caller, "POST /api/v1/orders", body, strlen(body), lease, &t->id);
	if (f.out_len) {
		cr_assert(fake_resp_parse(&f, &resp), "%s", f.out);
		t->status = resp.status;
		const char *v;
		if ((v = fake_resp_header(&resp, "Content-Type")))
			snprintf(t->content_type, sizeof(t->content_type), "%s", v);
		if ((v = fake_resp_header(&resp, "Location")))
			snprintf(t->location, sizeof(t->location), "%s", v);
		if ((v = fake_resp_header(&resp, "Idempotent-Replayed")))
			snprintf(t->replayed, sizeof(t->replayed), "%s", v);
		snprintf(t->body, sizeof(t->body), "%.*s", (int)resp.body_len, resp.body);
		struct json_object *c;
		if (resp.json && json_object_object_get_ex(resp.json, "code", &c))
			snprintf(t->code, sizeof(t->code), "%s", json_object_get_string(c));
		fake_resp_free(&resp);
	}
	request_cleanup(&req);
	fake_io_free(&f);
}

static long long key_count(long long caller)
{
	struct db_val p[] = {db_i64(caller)};
	return query_i64("SELECT COUNT(*) FROM idempotency_keys WHERE caller = ?", p, 1);
}

/* The lease of (caller, key) is made to have passed, as if its holder had died. */
static void lease_passed(long long caller, const char *key)
{
	struct db_val p[] = {db_i64(caller), db_str(key)};
	exec_ok("UPDATE idempotency_keys SET lease_until = NOW(3) - INTERVAL 1 SECOND WHERE caller = ? AND idem_key = ?",
		p, 2, NULL);
}

Test(order, idem_attempts_take_over_and_only_the_holder_finishes_or_releases)
{
	/* A caller id no shopper has (ids are far below), so the rows are this test's alone. */
	long long caller = 9000000000000LL + (long long)getpid();
	struct idem_try a, b, c, d;
	static const char body[] = "{\"x\":1}";

	idem_try(caller, "k", body, 30, &a);
	cr_assert(a.go);
	cr_assert_eq(a.id.attempt, 1);
	/* Within its lease the key is in flight: 409, Retry-After, nothing claimed twice. */
	idem_try(caller, "k", body, 30, &b);
	cr_assert_not(b.go);
	cr_assert_eq(b.status, 409);
	cr_assert_str_eq(b.code, "idempotency_in_flight");
	/* Another body is a mismatch whatever the state. */
	idem_try(caller, "k", "{\"x\":2}", 30, &b);
	cr_assert_eq(b.status, 422);
	cr_assert_str_eq(b.code, "idempotency_mismatch");

	/* Attempt 1 dies: once its lease has passed, a retry takes over as attempt 2. */
	lease_passed(caller, "k");
	idem_try(caller, "k", body, 30, &b);
	cr_assert(b.go);
	cr_assert_eq(b.id.attempt, 2);
	/* Attempt 1 was only slow: it can neither finish nor release the key now. */
	cr_assert_eq(idem_finish(order_db, &a.id, 201, "{\"from\":1}", "/api/v1/orders/1"), 1);
	idem_release(order_db, &a.id);
	cr_assert_eq(key_count(caller), 1, "a stale attempt's release must leave the new claim alone");
	idem_try(caller, "k", body, 30, &c);
	cr_assert_eq(c.status, 409, "still attempt 2's: %s", c.body);
	cr_assert_str_eq(c.code, "idempotency_in_flight");
	/* Two retries after a death: exactly one takes over. */
	lease_passed(caller, "k");
	idem_try(caller, "k", body, 30, &c);
	idem_try(caller, "k", body, 30, &d);
	cr_assert(c.go != d.go, "one take-over, not %d", c.go + d.go);
	struct idem holder = c.go ? c.id : d.id;
	cr_assert_eq(holder.attempt, 3);
	cr_assert_eq(idem_finish(order_db, &b.id, 201, "{\"from\":2}", NULL), 1, "attempt 2 lost it too");

	/* The holder finishes: replays get its answer, status, Location and the replay header. */
	cr_assert_eq(idem_finish(order_db, &holder, 201, "{\"from\":3}", "/api/v1/orders/3"), 0);
	for (int i = 0; i < 2; i++) {
		idem_try(caller, "k", body, 30, &c);
		cr_assert_not(c.go);
		cr_assert_eq(c.status, 201);
		cr_assert_str_eq(c.body, "{\"from\":3}");
		cr_assert_str_eq(c.location, "/api/v1/orders/3");
		cr_assert_str_eq(c.replayed, "true");
	}
	/* A finished key is never taken over, even long after its lease. */
	lease_passed(caller, "k");
	idem_try(caller, "k", body, 30, &c);
	cr_assert_eq(c.status, 201);

	/* A stored problem replays as a problem document (RFC 9457 media type). */
	idem_try(caller, "p", body, 30, &a);
	cr_assert(a.go);
	cr_assert_eq(idem_finish(order_db, &a.id, 409,
				 "{\"type\":\"urn:store:problem:cart_empty\",\"title\":\"Conflict\",\"status\":409,"
				 "\"detail\":\"The cart is empty.\",\"code\":\"cart_empty\",\"request_id\":\"first\"}",
				 NULL),
		     0);
	idem_try(caller, "p", body, 30, &c);
	cr_assert_eq(c.status, 409);
	cr_assert_str_eq(c.code, "cart_empty");
	cr_assert(strncmp(c.content_type, "application/problem+json", 24) == 0, "%s", c.content_type);
	cr_assert_str_eq(c.replayed, "true");

	/* The holder releases (a failure that left nothing): the key is free for a new run. */
	idem_try(caller, "r", body, 30, &a);
	idem_release(order_db, &a.id);
	idem_try(caller, "r", body, 30, &c);
	cr_assert(c.go);
	cr_assert_eq(c.id.attempt, 1);

	/* The purge takes old keys that are done or whose run died, and leaves a live one. */
	idem_try(caller, "live", body, 30, &d);
	lease_passed(caller, "r"); /* "r" ran and died */
	struct db_val p[] = {db_i64(caller)};
	exec_ok("UPDATE idempotency_keys SET created_at = NOW(3) - INTERVAL 25 HOUR WHERE caller = ?", p, 1, NULL);
	cr_assert_eq(key_count(caller), 4);
	for (int i = 0; i < 100 && key_count(caller) > 1; i++)
		cr_assert_geq(idem_purge(order_db, IDEM_KEEP_HOURS), 0, "%s", order_db->errstr);
	cr_assert_eq(key_count(caller), 1, "only the live key stays");
	struct db_val live[] = {db_i64(caller), db_str("live")};
	cr_assert_eq(query_i64("SELECT COUNT(*) FROM idempotency_keys WHERE caller = ? AND idem_key = ?", live, 2), 1);
	exec_ok("DELETE FROM idempotency_keys WHERE caller = ?", p, 1, NULL);
}

/* --- who sees what ------------------------------------------------------------------------ */

/* A take-over that the database fails (here its UPDATE waits out a lock held by another
 * transaction) answers 503 and leaves the key as it was: it must not free what it read twice. */
struct held_key {
	long long caller;
	struct idem_try t;
};

static int hold_key_and_retry(struct db_conn *other, void *arg)
{
	struct held_key *h = arg;
	struct db_val k[] = {db_i64(h->caller), db_str("held")};
	struct db_rows *r;
	/* A shared lock: the retry's claim (whose duplicate check takes a shared lock too) and its
	 * read pass, and its take-over, an UPDATE, waits for it. */
	if (db_query(other, "SELECT attempt FROM idempotency_keys WHERE caller = ? AND idem_key = ? LOCK IN SHARE MODE",
		     k, 2, &r) != 0)
		return -1;
	db_rows_free(r);
	idem_try(h->caller, "held", "{\"x\":1}", 30, &h->t); /* on order_db */
	return 0;
}

Test(order, a_take_over_the_database_fails_answers_503_and_changes_nothing)
{
	struct held_key h = {.caller = 9100000000000LL + (long long)getpid()};
	struct idem_try a;
	idem_try(h.caller, "held", "{\"x\":1}", 30, &a);
	cr_assert(a.go);
	lease_passed(h.caller, "held");
	exec_ok("SET SESSION innodb_lock_wait_timeout = 1", NULL, 0, NULL);

	struct db_conn *other = test_db("order");
	cr_assert_eq(db_tx(other, hold_key_and_retry, &h), 0, "%s", other->errstr);
	cr_assert_not(h.t.go);
	cr_assert_eq(h.t.status, 503, "%d %s", h.t.status, h.t.body);
	struct db_val p[] = {db_i64(h.caller)};
	cr_assert_eq(query_i64("SELECT attempt FROM idempotency_keys WHERE caller = ? AND state = 'running'", p, 1), 1,
		     "the key is still attempt 1's");
	/* Once the lock is gone, the retry takes over as it should. */
	idem_try(h.caller, "held", "{\"x\":1}", 30, &h.t);
	cr_assert(h.t.go);
	cr_assert_eq(h.t.id.attempt, 2);
	exec_ok("DELETE FROM idempotency_keys WHERE caller = ?", p, 1, NULL);
	test_db_free(other);
}

Test(order, another_users_order_is_404_and_staff_routes_are_403)
{
	struct shopper s, t;
	struct http_resp r;
	char path[160];
	new_shopper(&s);
	new_shopper(&t);
	long long pid = test_product(staff, 700, "EUR");
	test_put_stock(staff, pid, 10, 0);
	long long id = seed_order(&s, pid, 1, 700, 900);

	snprintf(path, sizeof(path), "/api/v1/orders/%lld", id);
	api("GET", path, NULL, t.token, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	order_act(id, "cancel", NULL, t.token, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", "/api/v1/orders/999999999999", NULL, s.token, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);

	order_act(id, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"1\"}", s.token, &r);
	assert_problem(&r, 403, NULL);
	http_resp_free(&r);
	order_act(id, "deliver", NULL, s.token, &r);
	assert_problem(&r, 403, NULL);
	http_resp_free(&r);
	/* Staff filters are staff's: a customer naming another user is refused, not served. */
	api("GET", "/api/v1/orders?user_id=1", NULL, s.token, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);

	/* Each customer lists their own orders only; staff see them with filters. */
	api("GET", "/api/v1/orders", NULL, t.token, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 0, "%s", r.body);
	http_resp_free(&r);
	api("GET", "/api/v1/orders?status=pending_payment", NULL, s.token, &r);
	cr_assert_eq(json_int(&r, "total"), 1, "%s", r.body);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/orders?user_id=%lld&placed_from=2020-01-01&status=pending_payment", s.id);
	api("GET", path, NULL, staff, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 1, "%s", r.body);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/orders?user_id=%lld&placed_to=2020-01-01", s.id);
	api("GET", path, NULL, staff, &r);
	cr_assert_eq(json_int(&r, "total"), 0, "%s", r.body);
	http_resp_free(&r);
	api("GET", "/api/v1/orders?status=lost", NULL, staff, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	api("GET", "/api/v1/orders?placed_from=yesterday", NULL, staff, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	free(s.token);
	free(t.token);
}

/* --- an order's life ------------------------------------------------------------------------- */

Test(order, paid_shipped_delivered_with_emails_stock_and_timeline)
{
	struct shopper s;
	struct http_resp r;
	char st[32], path[160];
	long long pid, id = new_shoppers_order(&s, 1250, 10, 2, &pid);
	cr_assert_eq(stock_available(staff, pid), 8);

	/* What the payment service reads before it charges. */
	snprintf(path, sizeof(path), "/internal/order/orders/%lld", id);
	cr_assert_eq(internal("GET", path, NULL, &r), 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 2990);
	cr_assert_eq(json_int(&r, "user_id"), s.id);
	cr_assert_str_eq(json_str(&r, "currency"), "EUR");
	http_resp_free(&r);

	/* The wrong amount is refused; the right one pays, once, by payment id. */
	order_pay(id, 2989, "pay-1", &r);
	assert_problem(&r, 409, "amount_mismatch");
	http_resp_free(&r);
	cr_assert_eq(order_pay(id, 2990, "pay-1", &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "paid");
	http_resp_free(&r);
	cr_assert_eq(order_pay(id, 2990, "pay-1", &r), 200, "the same payment again is harmless: %s", r.body);
	http_resp_free(&r);
	order_pay(id, 2990, "pay-2", &r);
	assert_problem(&r, 409, "already_paid");
	http_resp_free(&r);

	order_act(id, "ship", "{\"carrier\":\"DHL\"}", staff, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	cr_assert_eq(order_act(id, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"JJD000390007\"}", staff, &r), 200, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(order_act(id, "deliver", NULL, staff, &r), 200, "%s", r.body);
	struct json_object *o = r.json, *tl, *ship, *v;
	cr_assert_str_eq(json_str(&r, "status"), "delivered");
	cr_assert(json_object_object_get_ex(o, "shipment", &ship) && json_object_object_get_ex(ship, "tracking_number", &v));
	cr_assert_str_eq(json_object_get_string(v), "JJD000390007");
	cr_assert(json_object_object_get_ex(o, "timeline", &tl));
	cr_assert_eq(json_object_array_length(tl), 4, "%s", r.body);
	static const char *const want[][3] = {{NULL, "pending_payment", "user"}, {"pending_payment", "paid", "payment"},
					      {"paid", "shipped", "staff"}, {"shipped", "delivered", "staff"}};
	for (size_t i = 0; i < 4; i++) {
		struct json_object *h = json_object_array_get_idx(tl, i), *from, *to, *actor, *at;
		json_object_object_get_ex(h, "from", &from);
		json_object_object_get_ex(h, "to", &to);
		json_object_object_get_ex(h, "actor", &actor);
		cr_assert(json_object_object_get_ex(h, "at", &at) && json_object_get_string_len(at) == 20);
		if (want[i][0])
			cr_assert_str_eq(json_object_get_string(from), want[i][0]);
		else
			cr_assert_null(from);
		cr_assert_str_eq(json_object_get_string(to), want[i][1]);
		cr_assert_eq(strncmp(json_object_get_string(actor), want[i][2], strlen(want[i][2])), 0);
	}
	http_resp_free(&r);

	/* Paid: the reservation was committed (sold), so the stock is 8 on hand and 8 available. */
	wait_stock(staff, pid, 8, 0);

	char subject[96];
	snprintf(subject, sizeof(subject), "Payment received for order %lld", id);
	wait_mail(s.email, subject);
	snprintf(subject, sizeof(subject), "Order %lld is on its way", id);
	wait_mail(s.email, subject);

	/* The review service's question. */
	cr_assert(order_delivered_with(s.id, pid));
	cr_assert_not(order_delivered_with(s.id + 100000, pid));

	order_status(id, s.token, st, sizeof(st));
	cr_assert_str_eq(st, "delivered");
	free(s.token);
}

Test(order, every_forbidden_transition_is_409_naming_the_state)
{
	struct shopper s;
	struct http_resp r;
	new_shopper(&s);
	long long pid = test_product(staff, 100, "EUR");
	test_put_stock(staff, pid, 100, 0);

	/* pending_payment: no ship, no deliver (a refund told before the payment: see below). */
	long long id = seed_order(&s, pid, 1, 100, 900);
	order_act(id, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"1\"}", staff, &r);
	expect_transition_refused(&r, "pending_payment");
	order_act(id, "deliver", NULL, staff, &r);
	expect_transition_refused(&r, "pending_payment");
	char path[96];

	/* paid: the customer cannot cancel, staff cannot deliver before shipping, no second payment. */
	cr_assert_eq(order_pay(id, 590, "p-a", &r), 200, "%s", r.body);
	http_resp_free(&r);
	order_act(id, "cancel", NULL, s.token, &r);
	expect_transition_refused(&r, "paid");
	order_act(id, "deliver", NULL, staff, &r);
	expect_transition_refused(&r, "paid");

	/* shipped: no cancel by anyone, no second shipping. */
	cr_assert_eq(order_act(id, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"1\"}", staff, &r), 200);
	http_resp_free(&r);
	order_act(id, "cancel", "{\"reason\":\"too late\"}", staff, &r);
	expect_transition_refused(&r, "shipped");
	order_act(id, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"2\"}", staff, &r);
	expect_transition_refused(&r, "shipped");

	/* delivered is final. */
	cr_assert_eq(order_act(id, "deliver", NULL, staff, &r), 200);
	http_resp_free(&r);
	order_act(id, "deliver", NULL, staff, &r);
	expect_transition_refused(&r, "delivered");
	order_act(id, "cancel", "{\"reason\":\"x\"}", staff, &r);
	expect_transition_refused(&r, "delivered");

	/* cancelled (unpaid) is final: no payment, no refund, no second cancel. */
	long long id2 = seed_order(&s, pid, 1, 100, 900);
	cr_assert_eq(order_act(id2, "cancel", NULL, s.token, &r), 200, "%s", r.body);
	http_resp_free(&r);
	order_pay(id2, 590, "p-b", &r);
	expect_transition_refused(&r, "cancelled");
	order_act(id2, "cancel", NULL, s.token, &r);
	expect_transition_refused(&r, "cancelled");
	snprintf(path, sizeof(path), "/internal/order/orders/%lld/refunded", id2);
	internal("POST", path, NULL, &r);
	assert_problem(&r, 409, "not_paid");
	http_resp_free(&r);
	free(s.token);
}

/* The payment service's outbox may send "refunded" before "paid" (the paid call waits out a
 * backoff, or another instance sends it): the order is still pending_payment. That refund is not
 * refused (the order would then be paid, and shipped, with its money returned): it is noted, and
 * the payment, when it lands, takes the order through paid to refunded in one go; its owner gets
 * order_cancelled, not order_paid, and it cannot be shipped. */
Test(order, a_refund_told_before_its_payment_refunds_the_order_when_it_lands)
{
	struct shopper s;
	struct http_resp r;
	char path[96];
	long long pid, id = new_shoppers_order(&s, 100, 100, 1, &pid);
	snprintf(path, sizeof(path), "/internal/order/orders/%lld/refunded", id);
	cr_assert_eq(internal("POST", path, "{\"refund_id\":\"41\"}", &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "pending_payment", "nothing moves before the payment");
	http_resp_free(&r);
	cr_assert_eq(internal("POST", path, "{\"refund_id\":\"41\"}", &r), 200, "told twice: %s", r.body);
	http_resp_free(&r);
	cr_assert_eq(order_pay(id, 590, "p-early-refund", &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "refunded");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/orders/%lld", id);
	api("GET", path, NULL, s.token, &r);
	cr_assert_not_null(strstr(r.body, "\"from\":\"pending_payment\",\"to\":\"paid\""), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "\"from\":\"paid\",\"to\":\"refunded\""), "%s", r.body);
	cr_assert_not_null(strstr(r.body, "\"reason\":\"refund 41\""), "%s", r.body);
	http_resp_free(&r);
	cr_assert(test_job_on_stream("order_cancelled", s.email, 10), "no order_cancelled e-mail for %s", s.email);
	cr_assert(!test_job_on_stream("order_paid", s.email, 1), "an order_paid e-mail for a refunded order");
	order_act(id, "ship", "{\"carrier\":\"DHL\",\"tracking_number\":\"1\"}", staff, &r);
	expect_transition_refused(&r, "refunded");
	/* The payment again (its outbox retrying): the same answer, nothing more. */
	cr_assert_eq(order_pay(id, 590, "p-early-refund", &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "refunded");
	http_resp_free(&r);
	free(s.token);
}

Test(order, cancel_releases_stock_and_mails_the_owner)
{
	struct shopper s;
	struct http_resp r;
	char subject[96];
	long long pid, id = new_shoppers_order(&s, 300, 5, 3, &pid);
	cr_assert_eq(stock_available(staff, pid), 2);
	cr_assert_eq(order_act(id, "cancel", "{\"reason\":\"changed my mind\"}", s.token, &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "cancelled");
	http_resp_free(&r);
	wait_stock(staff, pid, 5, 0); /* the reservation was released */
	snprintf(subject, sizeof(subject), "Order %lld was cancelled", id);
	wait_mail(s.email, subject);
	free(s.token);
}

static void order_state(long long id, char *status, size_t len, char *payment, size_t plen)
{
	struct db_val p[] = {db_i64(id)};
	struct db_rows *rows;
	cr_assert_eq(db_query(order_db, "SELECT status, COALESCE(payment_id, '') FROM orders WHERE id = ?", p, 1, &rows), 0);
	db_cell_copy(rows, 0, 0, status, len);
	db_cell_copy(rows, 0, 1, payment, plen);
	db_rows_free(rows);
}

Test(order, paid_calls_of_many_payments_in_one_batch_are_judged_each)
{
	struct shopper s;
	struct http_resp r;
	char body[2048], code[64], st[32], pay[72], rid[24];
	new_shopper(&s);
	snprintf(rid, sizeof(rid), "paid-%lld-", s.id); /* request ids of this test's items alone */
	long long pid = test_product(staff, 700, "EUR");
	test_put_stock(staff, pid, 10, 0);
	long long a = seed_order(&s, pid, 1, 700, 900);  /* total 1190 with the shipping fee */
	long long b = seed_order(&s, pid, 1, 1000, 900); /* 1490, cancelled below */
	long long c = seed_order(&s, pid, 1, 800, 900);  /* 1290 */
	cr_assert_eq(order_act(b, "cancel", NULL, s.token, &r), 200, "%s", r.body);
	http_resp_free(&r);

	/* A malformed item is refused on its own (422 invalid_item, naming what is wrong) and the
	 * call's other items are still judged: here an order that does not exist, 404. */
	static const char ok_item[] =
		"{\"order_id\":999999999998,\"payment_id\":\"pay-n\",\"amount\":1,\"currency\":\"EUR\"}";
	const char *bad_items[] = {
		"{\"order_id\":0,\"payment_id\":\"p\",\"amount\":1,\"currency\":\"EUR\"}",
		"{\"order_id\":\"1\",\"payment_id\":\"p\",\"amount\":1,\"currency\":\"EUR\"}",
		"{\"order_id\":1,\"payment_id\":\"\",\"amount\":1,\"currency\":\"EUR\"}",
		"{\"order_id\":1,\"payment_id\":\"p\",\"amount\":-1,\"currency\":\"EUR\"}",
		"{\"order_id\":1,\"payment_id\":\"p\",\"amount\":1,\"currency\":\"EU\"}",
		"{\"order_id\":1,\"payment_id\":\"p\",\"amount\":1}",
		"{\"order_id\":1,\"payment_id\":\"p\",\"amount\":1,\"currency\":\"EUR\",\"status\":\"paid\"}",
		"[1]",
		"7",
	};
	for (size_t i = 0; i < sizeof(bad_items) / sizeof(bad_items[0]); i++) {
		snprintf(body, sizeof(body), "{\"items\":[%s,%s]}", ok_item, bad_items[i]);
		cr_assert_eq(internal("POST", "/internal/order/paid", body, &r), 200, "%s: %s", bad_items[i], r.body);
		cr_assert_eq(batch_item_status(&r, 0, code), 404, "%s", r.body);
		cr_assert_eq(batch_item_status(&r, 1, code), 422, "%s: %s", bad_items[i], r.body);
		cr_assert_str_eq(code, "invalid_item");
		cr_assert(strstr(r.body, "\"field\":\"items[1]\""), "the error names the item: %s", r.body);
		http_resp_free(&r);
	}
	/* A wrong envelope is refused whole. */
	const char *bad_bodies[] = {"{}", "{\"items\":[]}", "{\"items\":{}}", "{\"items\":[1],\"x\":1}",
				    "{\"items\":[{}],\"request_ids\":[\"a\",\"b\"]}"};
	for (size_t i = 0; i < sizeof(bad_bodies) / sizeof(bad_bodies[0]); i++) {
		cr_assert_eq(internal("POST", "/internal/order/paid", bad_bodies[i], &r), 422, "%s: %s", bad_bodies[i], r.body);
		http_resp_free(&r);
	}
	cr_assert_eq(internal("POST", "/internal/order/paid", "{\"items\":[", &r), 400, "%s", r.body);
	http_resp_free(&r);
	order_state(c, st, sizeof(st), pay, sizeof(pay));
	cr_assert_str_eq(st, "pending_payment", "a refused batch changed nothing");

	/* One batch: paid; the same payment again; another payment for the paid order; a wrong
	 * amount; a cancelled order; an order that does not exist. */
	snprintf(body, sizeof(body),
		 "{\"items\":["
		 "{\"order_id\":%lld,\"payment_id\":\"pay-a\",\"amount\":1190,\"currency\":\"EUR\"},"
		 "{\"order_id\":%lld,\"payment_id\":\"pay-a\",\"amount\":1190,\"currency\":\"EUR\"},"
		 "{\"order_id\":%lld,\"payment_id\":\"pay-x\",\"amount\":1190,\"currency\":\"EUR\"},"
		 "{\"order_id\":%lld,\"payment_id\":\"pay-c\",\"amount\":1,\"currency\":\"EUR\"},"
		 "{\"order_id\":%lld,\"payment_id\":\"pay-b\",\"amount\":1490,\"currency\":\"EUR\"},"
		 "{\"order_id\":999999999999,\"payment_id\":\"pay-z\",\"amount\":1,\"currency\":\"EUR\"}],"
		 "\"request_ids\":[\"%s1\",\"%s2\",\"%s3\",\"%s4\",\"%s5\",\"%s6\"]}",
		 a, a, a, c, b, rid, rid, rid, rid, rid, rid);
	cr_assert_eq(internal("POST", "/internal/order/paid", body, &r), 200, "%s", r.body);
	cr_assert_eq(batch_item_status(&r, 0, code), 200, "%s", r.body);
	cr_assert_eq(batch_item_status(&r, 1, code), 200, "the same payment again is done: %s", r.body);
	cr_assert_eq(batch_item_status(&r, 2, code), 409);
	cr_assert_str_eq(code, "already_paid");
	cr_assert_eq(batch_item_status(&r, 3, code), 409);
	cr_assert_str_eq(code, "amount_mismatch");
	cr_assert_eq(batch_item_status(&r, 4, code), 409);
	cr_assert_str_eq(code, "invalid_transition");
	cr_assert(strstr(r.body, "\"current_status\":\"cancelled\""), "%s", r.body);
	cr_assert_eq(batch_item_status(&r, 5, code), 404);
	cr_assert_str_eq(code, "not_found");
	http_resp_free(&r);

	order_state(a, st, sizeof(st), pay, sizeof(pay));
	cr_assert_str_eq(st, "paid");
	cr_assert_str_eq(pay, "pay-a");
	order_state(c, st, sizeof(st), pay, sizeof(pay));
	cr_assert_str_eq(st, "pending_payment");
	order_state(b, st, sizeof(st), pay, sizeof(pay));
	cr_assert_str_eq(st, "cancelled");
	struct db_val pa[] = {db_i64(a)};
	cr_assert_eq(query_i64("SELECT COUNT(*) FROM order_history WHERE order_id = ? AND to_status = 'paid'", pa, 1), 1,
		     "paid once");
	/* What being paid causes was queued once, under the item's own request id. */
	char first[40];
	snprintf(first, sizeof(first), "%s1", rid);
	struct db_val pr[] = {db_str(first)};
	cr_assert_eq(query_i64("SELECT COUNT(*) FROM outbox WHERE request_id = ? AND kind = 'batch' AND target = "
			       "'POST /internal/inventory/reservations/finishes' AND JSON_VALUE(payload, '$.action') = 'commit'",
			       pr, 1),
		     1);
	free(s.token);
}

/* --- lib/outbox's relay against a receiver that judges each item --------------------------- */

/* An HTTP receiver on an ephemeral loopback port: each connection gets one answer, `status`
 * with body `answer`, and is closed; it keeps the path and body of the last call. */
struct receiver {
	int lfd, port, calls;
	int status;
	const char *answer;
	char path[128], body[8192];
	pthread_t thread;
};

static void *receive(void *arg)
{
	struct receiver *rv = arg;
	int fd;
	while ((fd = accept(rv->lfd, NULL, NULL)) >= 0) {
		char buf[16384], out[1024];
		size_t got = 0, need = 0;
		char *end = NULL;
		ssize_t k;
		while (got < sizeof(buf) - 1 && (k = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0) {
			got += (size_t)k;
			buf[got] = '\0';
			if (!end && (end = strstr(buf, "\r\n\r\n"))) {
				char *cl = strcasestr(buf, "\r\nContent-Length:");
				need = (size_t)(end + 4 - buf) + (cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0);
			}
			if (end && got >= need)
				break;
		}
		if (end) {
			sscanf(buf, "%*s %127s", rv->path);
			snprintf(rv->body, sizeof(rv->body), "%s", end + 4);
			rv->calls++;
		}
		int n = snprintf(out, sizeof(out),
				 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n%s",
				 rv->status, strlen(rv->answer), rv->answer);
		if (write(fd, out, (size_t)n) < 0)
			break;
		close(fd);
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void receiver_start(struct receiver *rv)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	rv->lfd = socket(AF_INET, SOCK_STREAM, 0);
	cr_assert(rv->lfd >= 0);
	cr_assert_eq(bind(rv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(rv->lfd, (struct sockaddr *)&a, &alen), 0);
	cr_assert_eq(listen(rv->lfd, 8), 0);
	rv->port = ntohs(a.sin_port);
	cr_assert_eq(pthread_create(&rv->thread, NULL, receive, rv), 0);
}

static void receiver_stop(struct receiver *rv)
{
	shutdown(rv->lfd, SHUT_RDWR); /* accept() returns -1 */
	pthread_join(rv->thread, NULL);
	close(rv->lfd);
}

/* Row `i` (in id order) of the scratch outbox: its status, attempts, last error, and whether it
 * waits (next_at in the future). */
static void relay_row(struct db_conn *db, size_t i, char *status, long long *attempts, char *error, bool *waits)
{
	struct db_rows *r;
	cr_assert_eq(db_query(db,
			      "SELECT status, attempts, COALESCE(last_error, ''), next_at > NOW(3) FROM outbox ORDER BY id",
			      NULL, 0, &r),
		     0, "%s", db->errstr);
	cr_assert_lt(i, r->nrows);
	db_cell_copy(r, i, 0, status, 16);
	*attempts = db_cell_i64(r, i, 1, -1);
	db_cell_copy(r, i, 2, error, 256);
	*waits = db_cell_i64(r, i, 3, 0) == 1;
	db_rows_free(r);
}

/* A relay of its own: an outbox in a scratch database of this process (the services' relays never
 * see it), with the order service's table as it is migrated, and a receiver for its calls. */
struct relay_rig {
	char name[64], url[64];
	struct db_conn *db;
	struct receiver rv;
	struct store_config cfg;
	struct ctx ctx;
};

static void relay_rig_start(struct relay_rig *g)
{
	char sql[512];
	snprintf(g->name, sizeof(g->name), "relay_%d", (int)getpid());
	snprintf(sql, sizeof(sql),
		 "DROP DATABASE IF EXISTS store_%s; CREATE DATABASE store_%s; CREATE TABLE store_%s.outbox LIKE store_order.outbox",
		 g->name, g->name, g->name);
	test_sql("mysql", sql, NULL, 0);
	g->db = test_db(g->name);
	g->rv = (struct receiver){.status = 200};
	receiver_start(&g->rv);
	snprintf(g->url, sizeof(g->url), "http://127.0.0.1:%d", g->rv.port);
	g->cfg = (struct store_config){.internal_url = g->url, .job_stream = "unused"};
	g->ctx = (struct ctx){.cfg = &g->cfg, .service = "test", .db = g->db, .client = client_new(&g->cfg, "test")};
	cr_assert_not_null(g->ctx.client);
}

static void relay_rig_stop(struct relay_rig *g)
{
	char sql[128];
	receiver_stop(&g->rv);
	client_free(g->ctx.client);
	test_db_free(g->db);
	snprintf(sql, sizeof(sql), "DROP DATABASE store_%s", g->name);
	test_sql("mysql", sql, NULL, 0);
}

/* A single call the receiver cannot take now (408, 429) waits and is sent again, as a batch's
 * does; one it refuses (404: no such object; 409 ...) is given up. Before, 408 and 429 gave a
 * single call up: a rating call met by a rate limit left the product's rating stale for good. */
Test(order, the_relay_retries_a_single_call_the_receiver_cannot_take_now)
{
	struct relay_rig g;
	char status[16], error[256];
	long long attempts;
	bool waits;
	relay_rig_start(&g);
	struct outbox_rows rows = {0};
	struct json_object *b = json_object_new_object();
	cr_assert_eq(outbox_rows_call(g.db, &rows, "POST", "/relay-test/one", b, "relay-one"), 0);
	json_object_put(b);
	cr_assert_eq(outbox_rows_write(g.db, &rows), 0, "%s", g.db->errstr);
	cr_assert_eq(db_exec(g.db, "UPDATE outbox SET attempts = 5", NULL, 0, NULL), 0, "%s", g.db->errstr);
	static const int later[] = {429, 408};
	for (size_t k = 0; k < 2; k++) {
		db_exec(g.db, "UPDATE outbox SET next_at = NOW(3) WHERE status = 'pending'", NULL, 0, NULL);
		g.rv.status = later[k];
		g.rv.answer = "{}";
		cr_assert_eq(outbox_relay_once(&g.ctx, 10), 1, "%s", g.db->errstr);
		relay_row(g.db, 0, status, &attempts, error, &waits);
		cr_assert_str_eq(status, "pending", "a call answered %d", later[k]);
		cr_assert_eq(attempts, 6 + (long long)k);
		cr_assert(waits);
	}
	db_exec(g.db, "UPDATE outbox SET next_at = NOW(3) WHERE status = 'pending'", NULL, 0, NULL);
	g.rv.status = 404;
	cr_assert_eq(outbox_relay_once(&g.ctx, 10), 1, "%s", g.db->errstr);
	relay_row(g.db, 0, status, &attempts, error, &waits);
	cr_assert_str_eq(status, "failed");
	cr_assert_eq(g.rv.calls, 3);
	relay_rig_stop(&g);
}

Test(order, the_relay_gives_up_retries_and_marks_each_item_of_a_judged_batch)
{
	struct relay_rig g;
	char status[16], error[256];
	long long attempts;
	bool waits;
	relay_rig_start(&g);
	struct db_conn *db = g.db;

	/* Three items for one target, written as a service writes them. */
	struct outbox_rows rows = {0};
	for (int i = 0; i < 3; i++) {
		char rid[32];
		struct json_object *item = json_object_new_object();
		json_object_object_add(item, "n", json_object_new_int(i));
		snprintf(rid, sizeof(rid), "relay-item-%d", i);
		cr_assert_eq(outbox_rows_batch(db, &rows, "/relay-test/batch", item, rid), 0);
		json_object_put(item);
	}
	cr_assert_eq(outbox_rows_write(db, &rows), 0, "%s", db->errstr);
	/* Rows tried 5 times before: a failure now waits 32 s, which no stall of a busy test
	 * machine outlasts. */
	cr_assert_eq(db_exec(db, "UPDATE outbox SET attempts = 5", NULL, 0, NULL), 0, "%s", db->errstr);

	/* One call for the three; the answer judges them: done, refused, failed. */
	g.rv.answer = "{\"items\":[{\"status\":200},{\"status\":409,\"code\":\"not_payable\"},"
		    "{\"status\":503,\"code\":\"busy\"}]}";
	cr_assert_eq(outbox_relay_once(&g.ctx, 10), 3, "%s", db->errstr);
	cr_assert_eq(g.rv.calls, 1, "the items travel in one call");
	cr_assert_str_eq(g.rv.path, "/relay-test/batch");
	cr_assert_str_eq(g.rv.body, "{\"items\":[{\"n\":0},{\"n\":1},{\"n\":2}],"
				  "\"request_ids\":[\"relay-item-0\",\"relay-item-1\",\"relay-item-2\"]}");
	relay_row(db, 0, status, &attempts, error, &waits);
	cr_assert_str_eq(status, "sent");
	cr_assert_eq(attempts, 6);
	relay_row(db, 1, status, &attempts, error, &waits);
	cr_assert_str_eq(status, "failed", "a 4xx item is given up on its own");
	cr_assert(strstr(error, "409") && strstr(error, "not_payable"), "%s", error);
	relay_row(db, 2, status, &attempts, error, &waits);
	cr_assert_str_eq(status, "pending", "a 5xx item is retried on its own");
	cr_assert_eq(attempts, 6);
	cr_assert(waits, "it waits out its backoff");
	cr_assert(strstr(error, "503") && strstr(error, "busy"), "%s", error);
	cr_assert_eq(outbox_relay_once(&g.ctx, 10), 0, "nothing is due during the backoff");
	cr_assert_eq(g.rv.calls, 1);

	/* The retried item alone, answered with a judgement of two items: nothing in it is
	 * trusted, the item is retried. */
	db_exec(db, "UPDATE outbox SET next_at = NOW(3) WHERE status = 'pending'", NULL, 0, NULL);
	g.rv.answer = "{\"items\":[{\"status\":200},{\"status\":200}]}";
	cr_assert_eq(outbox_relay_once(&g.ctx, 10), 1, "%s", db->errstr);
	cr_assert_eq(g.rv.calls, 2);
	cr_assert_str_eq(g.rv.body, "{\"items\":[{\"n\":2}],\"request_ids\":[\"relay-item-2\"]}");
	relay_row(db, 2, status, &attempts, error, &waits);
	cr_assert_str_eq(status, "pending");
	cr_assert_eq(attempts, 7);
	cr_assert(strstr(error, "answered 2 items for 1"), "%s", error);

	/* The whole call refused with 429 (or 404, 405, 408): retried, not given up. */
	static const int retried[] = {429, 404, 405, 408};
	for (size_t k = 0; k < sizeof(retried) / sizeof(retried[0]); k++) {
		db_exec(db, "UPDATE outbox SET next_at = NOW(3) WHERE status = 'pending'", NULL, 0, NULL);
		g.rv.status = retried[k];
		g.rv.answer = "{\"status\":429}";
		cr_assert_eq(outbox_relay_once(&g.ctx, 10), 1, "%s", db->errstr);
		relay_row(db, 2, status, &attempts, error, &waits);
		cr_assert_str_eq(status, "pending", "a whole call refused with %d", retried[k]);
		cr_assert_eq(attempts, 8 + (long long)k);
	}
	/* Any other 4xx to the whole call gives its items up; a 2xx without judgements marks them sent. */
	db_exec(db, "UPDATE outbox SET next_at = NOW(3) WHERE status = 'pending'", NULL, 0, NULL);
	g.rv.status = 422;
	g.rv.answer = "{\"status\":422}";
	cr_assert_eq(outbox_relay_once(&g.ctx, 10), 1, "%s", db->errstr);
	relay_row(db, 2, status, &attempts, error, &waits);
	cr_assert_str_eq(status, "failed");
	cr_assert(strstr(error, "refused with 422"), "%s", error);

	struct json_object *last = json_object_new_object();
	cr_assert_eq(outbox_rows_batch(db, &rows, "/relay-test/batch", last, "relay-item-3"), 0);
	json_object_put(last);
	cr_assert_eq(outbox_rows_write(db, &rows), 0, "%s", db->errstr);
	g.rv.status = 200;
	g.rv.answer = "{}";
	cr_assert_eq(outbox_relay_once(&g.ctx, 10), 1, "%s", db->errstr);
	relay_row(db, 3, status, &attempts, error, &waits);
	cr_assert_str_eq(status, "sent");
	relay_rig_stop(&g);
}

Test(order, staff_cancel_of_a_paid_order_asks_for_a_refund_then_refunded)
{
	struct shopper s;
	struct http_resp r;
	char path[96];
	long long pid, id = new_shoppers_order(&s, 2000, 5, 1, &pid);
	cr_assert_eq(order_pay(id, 2490, "pay-refund", &r), 200, "%s", r.body);
	http_resp_free(&r);

	order_act(id, "cancel", NULL, staff, &r);
	assert_problem(&r, 422, "validation_failed"); /* staff say why */
	http_resp_free(&r);
	cr_assert_eq(order_act(id, "cancel", "{\"reason\":\"damaged in the warehouse\"}", staff, &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "cancelled");
	http_resp_free(&r);

	/* The refund is an outbox call to the payment service, written with the cancellation. */
	struct db_val p[] = {db_i64(id)};
	cr_assert_eq(query_i64("SELECT COUNT(*) FROM outbox WHERE kind = 'call' AND target = "
			       "'POST /internal/payment/refunds' AND JSON_VALUE(payload, '$.order_id') = ?", p, 1), 1);

	/* The payment service confirms: refunded, once. */
	snprintf(path, sizeof(path), "/internal/order/orders/%lld/refunded", id);
	cr_assert_eq(internal("POST", path, "{\"refund_id\":\"re_1\"}", &r), 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "refunded");
	http_resp_free(&r);
	cr_assert_eq(internal("POST", path, NULL, &r), 200, "refunded again is harmless: %s", r.body);
	http_resp_free(&r);
	struct db_val ph[] = {db_i64(id)};
	cr_assert_eq(query_i64("SELECT COUNT(*) FROM order_history WHERE order_id = ?", ph, 1), 4);
	free(s.token);
}

Test(order, unpaid_orders_expire_and_give_their_stock_back)
{
	struct shopper s;
	struct http_resp r;
	char st[32];
	new_shopper(&s);
	long long pid = test_product(staff, 100, "EUR");
	test_put_stock(staff, pid, 4, 0);
	long long due = seed_order(&s, pid, 3, 100, -1);
	long long later = seed_order(&s, pid, 1, 100, 900);
	cr_assert_eq(stock_available(staff, pid), 0);
	for (int i = 0; i < 50; i++) {
		order_status(due, s.token, st, sizeof(st));
		if (strcmp(st, "expired") == 0)
			break;
		usleep(100000);
	}
	cr_assert_str_eq(st, "expired");
	wait_stock(staff, pid, 4, 1); /* the expired order's 3 units are back */
	order_status(later, s.token, st, sizeof(st));
	cr_assert_str_eq(st, "pending_payment", "an order within its time is left alone");
	/* Too late to pay: the payment service must refund what it took. */
	order_pay(due, 790, "late", &r);
	expect_transition_refused(&r, "expired");
	free(s.token);
}

/* --- races ------------------------------------------------------------------------------------- */

struct racer {
	long long id;
	int kind; /* 0: pay, 1: cancel by the owner */
	const char *token;
	long status;
};

static void *race(void *arg)
{
	struct racer *x = arg;
	struct http_resp r;
	char pid[32];
	if (x->kind == 0) {
		snprintf(pid, sizeof(pid), "race-%p", arg);
		x->status = order_pay(x->id, 590, pid, &r);
	} else {
		x->status = order_act(x->id, "cancel", NULL, x->token, &r);
	}
	http_resp_free(&r);
	return NULL;
}

Test(order, payment_and_cancel_racing_leave_one_transition)
{
	struct shopper s;
	new_shopper(&s);
	long long pid = test_product(staff, 100, "EUR");
	test_put_stock(staff, pid, 50, 0);
	for (int round = 0; round < 5; round++) {
		long long id = seed_order(&s, pid, 1, 100, 900);
		enum { N = 8 };
		struct racer x[N];
		pthread_t t[N];
		for (int i = 0; i < N; i++) {
			x[i] = (struct racer){id, i % 2, s.token, 0};
			pthread_create(&t[i], NULL, race, &x[i]);
		}
		int won = 0;
		for (int i = 0; i < N; i++) {
			pthread_join(t[i], NULL);
			cr_assert(x[i].status == 200 || x[i].status == 409, "status %ld", x[i].status);
			won += x[i].status == 200;
		}
		cr_assert_eq(won, 1, "round %d: %d transitions won", round, won);
		struct db_val p[] = {db_i64(id)};
		cr_assert_eq(query_i64("SELECT COUNT(*) FROM order_history WHERE order_id = ?", p, 1), 2);
	}
	free(s.token);
}
