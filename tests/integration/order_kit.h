/* order_kit.h: what the order service's integration tests share: shoppers, checkout and internal calls, and checks. */
#ifndef STORE_TEST_ORDER_KIT_H
#define STORE_TEST_ORDER_KIT_H

#include <stdbool.h>
#include <stddef.h>

struct http_resp;
struct db_conn;

#define ORDER_ADDRESS \
	"{\"name\":\"Ada Lovelace\",\"line1\":\"1 Main Street\",\"city\":\"Berlin\",\"postal_code\":\"10115\",\"country\":\"DE\"}"
#define ORDER_CHECKOUT "{\"shipping_address\":" ORDER_ADDRESS ",\"note\":\"ring twice\"}"

/* A signed-in shopper whose address the tests know (token malloc'd: free it). */
struct shopper {
	char email[128];
	long long id;
	char *token;
};

void new_shopper(struct shopper *s);

/* `method` `path` on the public gateway with an optional token and Idempotency-Key. Returns the status. */
long send_order(const char *method, const char *path, const char *body, const char *token, const char *key,
		struct http_resp *r);

/* `method` `path` on the internal listener, as another service calls it. Returns the status. */
long internal(const char *method, const char *path, const char *body, struct http_resp *r);

/* POST /internal/order/orders/{id}/paid as the payment service would, in EUR. */
long order_pay(long long id, long long amount, const char *payment_id, struct http_resp *r);

/* POST /api/v1/orders/{id}/<what> ("cancel", "ship", "deliver"). */
long order_act(long long id, const char *what, const char *body, const char *token, struct http_resp *r);

/* The order's status as `token` sees it (asserts 200) into out. */
void order_status(long long id, const char *token, char *out, size_t len);

/* Units of `pid` available now (staff's view through `admin`). */
long long stock_available(const char *admin, long long pid);

/* Waits up to 5 s until `pid` has `on_hand` units on hand of which `reserved` are reserved
 * (the inventory hears of an order's changes through the order service's outbox), and asserts it. */
void wait_stock(const char *admin, long long pid, long long on_hand, long long reserved);

/* Wait up to `seconds` for order `id` (as its owner `token` reads it) or payment `id` to reach
 * the status `want`: what follows an answer travels through outboxes. */
void wait_order(long long id, const char *token, const char *want, int seconds);
void wait_payment(long long id, const char *token, const char *want, int seconds);

/* A staff token and a connection to the order service's database, set by order_suite_init (a
 * suite's .init) and freed by order_suite_fini (its .fini). */
extern char *staff;
extern struct db_conn *order_db;
void order_suite_init(void);
void order_suite_fini(void);

/* Asserts a 409 invalid_transition naming `current`, and frees r. */
void expect_transition_refused(struct http_resp *r, const char *current);

/* Waits up to 20 s for a message to `to` with exactly this subject. */
void wait_mail(const char *to, const char *subject);

/* A fresh Idempotency-Key ("key-<pid>-<time>-<n>") into buf. */
void order_unique_key(char *buf, size_t len);

/* Puts `qty` units of product `pid` in the cart of `token` (200 or 201, or the test fails). */
void cart_put(const char *token, long long pid, int qty);

/* POST /api/v1/orders of the caller's cart with the usual address and a new Idempotency-Key. */
long checkout(const char *token, struct http_resp *r);

/* A new shopper (into *s) whose cart holds `qty` units of a new product at `price` EUR (stock
 * 100), checked out: returns the order's id, and the product's in *pid_out (may be NULL). */
long long order_placed_by_new_shopper(struct shopper *s, long long price, int qty, long long *pid_out);

/* An order of a new shopper (into *s; its id into *oid), paid with the success card and now paid:
 * returns the payment's id. */
long long order_paid_by_new_shopper(struct shopper *s, long long price, long long *oid);

/* Writes into the payment service's outbox the "paid" call of `payment` for order `oid` as left
 * given up (refused with 409), as a payment service from before the batches left it. */
void payment_refused_by_order(long long oid, long long payment);

/* The review service's question: has `user` a delivered order with product `pid`? */
bool order_delivered_with(long long user, long long pid);

/* POST /api/v1/payments of `order_id` with card `number` (valid through 12/2031, CVC 123). */
long order_pay_by_card(const char *token, const char *key, long long order_id, const char *number, struct http_resp *r);

#endif
