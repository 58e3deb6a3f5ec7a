/* rules.h: the order service's pure rules: the state machine, totals, addresses, idempotency keys, references. */
#ifndef STORE_ORDER_RULES_H
#define STORE_ORDER_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct field_errors;

/* --- the state machine -------------------------------------------------------------- */

enum order_status {
	ORDER_PENDING_PAYMENT,
	ORDER_PAID,
	ORDER_SHIPPED,
	ORDER_DELIVERED,
	ORDER_CANCELLED,
	ORDER_EXPIRED,
	ORDER_REFUNDED,
	ORDER_STATUS_N,
};

/* What happens to an order. */
enum order_event {
	ORDER_EV_PAY,      /* the payment service took the money */
	ORDER_EV_SHIP,     /* staff handed it to a carrier */
	ORDER_EV_DELIVER,  /* staff: it arrived */
	ORDER_EV_CANCEL,   /* its owner or staff cancelled it */
	ORDER_EV_EXPIRE,   /* unpaid after its TTL (the sweeper) */
	ORDER_EV_REFUNDED, /* the payment service gave the money back */
};

/* Who makes it happen. */
enum order_actor {
	ORDER_BY_OWNER = 1u << 0,   /* the customer who placed it */
	ORDER_BY_STAFF = 1u << 1,   /* an admin */
	ORDER_BY_SYSTEM = 1u << 2,  /* the service itself (expiry) */
	ORDER_BY_PAYMENT = 1u << 3, /* the payment service, on the internal listener */
};

/* "pending_payment", ...; "?" out of range. Static strings. */
const char *order_status_name(enum order_status s);

/* Parses a status name; false for anything else. */
bool order_status_parse(const char *s, enum order_status *out);

/* Looks `ev` up for an order in `from` done by `actor`: true with *to set when the table allows
 * it, false when it does not (the caller answers 409 invalid_transition naming `from`). */
bool order_transition(enum order_event ev, enum order_status from, enum order_actor actor, enum order_status *to);

/* --- money ---------------------------------------------------------------------------- */

/* Shipping: a flat `fee`, nothing when the subtotal is at least `free_from` (minor units). */
struct shipping_rule {
	int64_t fee, free_from;
};

#define ORDER_QTY_MAX 1000000
/* The product service's highest price (PRICE_MAX, 10^15 minor units): any price it takes, an order
 * takes. A total is at most 2^53 - 1, so that it stays exact in a JavaScript client. */
#define ORDER_PRICE_MAX 1000000000000000LL
#define ORDER_TOTAL_MAX 9007199254740991LL

struct order_totals {
	int64_t subtotal, shipping, total;
};

/*
 * Computes line_totals[i] = prices[i] * qtys[i] and the order's totals. Prices must be in
 * 0..ORDER_PRICE_MAX and quantities in 1..ORDER_QTY_MAX. Returns false (nothing useful in the
 * outputs) on a value out of bounds or a total past ORDER_TOTAL_MAX.
 */
bool order_compute_totals(const int64_t *prices, const int64_t *qtys, size_t n, const struct shipping_rule *rule,
			  int64_t *line_totals, struct order_totals *out);

/* Writes `minor` units of `currency` for people ("49.90 EUR", "1200 JPY") into buf. Returns
 * false when it does not fit. */
bool order_money_format(int64_t minor, const char *currency, char *buf, size_t len);

/* --- the shipping address -------------------------------------------------------------- */

struct order_address {
	const char *name, *line1, *line2, *city, *postal_code, *country, *phone; /* borrowed; line2, phone may be NULL */
};

/*
 * Checks the `shipping_address` object: name (1..100), line1 (1..200), line2 (optional, ..200),
 * city (1..100), postal_code (1..16 letters, digits, space or '-'), country (an ISO 3166-1
 * alpha-2 code, upper case), phone (optional, 4..32 of digits, space, "+()-", with a digit).
 * Unknown members are errors. Errors name "shipping_address.<field>". Fills *out with strings
 * borrowed from `obj`. Returns true when there is no error.
 */
bool order_address_parse(struct json_object *obj, struct order_address *out, struct field_errors *errs);

/* true for an assigned ISO 3166-1 alpha-2 code ("DE", not "de", not "XX"). */
bool order_country_valid(const char *code);

/* --- references ------------------------------------------------------------------------ */

#define ORDER_REF_MAX 64

/* The SHA-256 of len bytes of `data` as 64 lower-case hex digits and a NUL into hex. */
void order_sha256_hex(const char *data, size_t len, char hex[65]);

/* The reference of attempt `attempt` (1, 2, ...) at placing the order of `user_id` under `key`:
 * "o<user_id>-<20 hex digits of the key's hash>-<attempt>", at most ORDER_REF_MAX characters, the
 * same for the same inputs, valid as an inventory order_ref. buf holds ORDER_REF_MAX + 1 bytes. */
void order_ref_make(int64_t user_id, const char *key, int64_t attempt, char buf[ORDER_REF_MAX + 1]);

/* Parses a list filter bound: "YYYY-MM-DD" (midnight) or "YYYY-MM-DDTHH:MM:SSZ", UTC, into
 * "YYYY-MM-DD HH:MM:SS" for SQL. Returns false for anything else (also for Feb 30). */
bool order_time_parse(const char *s, char out[20]);

#endif
