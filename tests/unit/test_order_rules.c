/* test_order_rules.c: the order service's pure rules: transitions, totals, money, addresses, keys, references, times. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "problem.h"
#include "rules.h"


/* --- the state machine ---------------------------------------------------------------- */

static const enum order_event events[] = {ORDER_EV_PAY,    ORDER_EV_SHIP,   ORDER_EV_DELIVER,
					  ORDER_EV_CANCEL, ORDER_EV_EXPIRE, ORDER_EV_REFUNDED};
static const enum order_actor actors[] = {ORDER_BY_OWNER, ORDER_BY_STAFF, ORDER_BY_SYSTEM, ORDER_BY_PAYMENT};

/* The whole table, as the issue states it: every (event, from, actor) not listed is refused. */
static bool expected(enum order_event ev, enum order_status from, enum order_actor by, enum order_status *to)
{
	switch (ev) {
	case ORDER_EV_PAY:
		*to = ORDER_PAID;
		return from == ORDER_PENDING_PAYMENT && by == ORDER_BY_PAYMENT;
	case ORDER_EV_SHIP:
		*to = ORDER_SHIPPED;
		return from == ORDER_PAID && by == ORDER_BY_STAFF;
	case ORDER_EV_DELIVER:
		*to = ORDER_DELIVERED;
		return from == ORDER_SHIPPED && by == ORDER_BY_STAFF;
	case ORDER_EV_CANCEL:
		*to = ORDER_CANCELLED;
		return (from == ORDER_PENDING_PAYMENT && (by == ORDER_BY_OWNER || by == ORDER_BY_STAFF)) ||
		       (from == ORDER_PAID && by == ORDER_BY_STAFF);
	case ORDER_EV_EXPIRE:
		*to = ORDER_EXPIRED;
		return from == ORDER_PENDING_PAYMENT && by == ORDER_BY_SYSTEM;
	case ORDER_EV_REFUNDED:
		*to = ORDER_REFUNDED;
		/* cancelled by staff after it was paid, or refunded in whole by staff once paid: before it
		 * shipped, or after (a parcel lost, goods sent back) */
		return (from == ORDER_CANCELLED || from == ORDER_PAID || from == ORDER_SHIPPED ||
			from == ORDER_DELIVERED) &&
		       by == ORDER_BY_PAYMENT;
	}
	return false;
}

Test(order_transitions, every_event_state_and_actor)
{
	size_t allowed = 0;
	for (size_t e = 0; e < sizeof(events) / sizeof(events[0]); e++)
		for (int s = 0; s < ORDER_STATUS_N; s++)
			for (size_t a = 0; a < sizeof(actors) / sizeof(actors[0]); a++) {
				enum order_status want = ORDER_STATUS_N, got = ORDER_STATUS_N;
				bool ok = expected(events[e], (enum order_status)s, actors[a], &want);
				cr_assert_eq(order_transition(events[e], (enum order_status)s, actors[a], &got), ok,
					     "event %zu from %s by %d", e, order_status_name((enum order_status)s), actors[a]);
				if (ok) {
					cr_assert_eq(got, want);
					allowed++;
				}
			}
	cr_assert_eq(allowed, 11);
}

Test(order_transitions, final_states_have_no_way_out)
{
	const enum order_status final[] = {ORDER_DELIVERED, ORDER_EXPIRED, ORDER_REFUNDED};
	enum order_status to;
	for (size_t f = 0; f < 3; f++)
		for (size_t e = 0; e < sizeof(events) / sizeof(events[0]); e++)
			for (size_t a = 0; a < sizeof(actors) / sizeof(actors[0]); a++) {
				/* but a delivered order's money may still go back in whole (goods sent back) */
				bool refund = final[f] == ORDER_DELIVERED && events[e] == ORDER_EV_REFUNDED &&
					      actors[a] == ORDER_BY_PAYMENT;
				cr_assert_eq(order_transition(events[e], final[f], actors[a], &to), refund);
			}
}

Test(order_transitions, customer_cannot_cancel_a_paid_order)
{
	enum order_status to;
	cr_assert_not(order_transition(ORDER_EV_CANCEL, ORDER_PAID, ORDER_BY_OWNER, &to));
	cr_assert(order_transition(ORDER_EV_CANCEL, ORDER_PAID, ORDER_BY_STAFF, &to));
	cr_assert_eq(to, ORDER_CANCELLED);
}

Test(order_status, names_round_trip)
{
	enum order_status s;
	for (int i = 0; i < ORDER_STATUS_N; i++) {
		cr_assert(order_status_parse(order_status_name((enum order_status)i), &s));
		cr_assert_eq(s, (enum order_status)i);
	}
	cr_assert_not(order_status_parse("", &s));
	cr_assert_not(order_status_parse("PAID", &s));
	cr_assert_not(order_status_parse("paid ", &s));
	cr_assert_str_eq(order_status_name(ORDER_STATUS_N), "?");
}

/* --- totals and money ---------------------------------------------------------------------- */

static const struct shipping_rule rule = {490, 5000};

Test(order_totals, empty_order_pays_shipping)
{
	struct order_totals t;
	int64_t lt[1];
	cr_assert(order_compute_totals(NULL, NULL, 0, &rule, lt, &t));
	cr_assert_eq(t.subtotal, 0);
	cr_assert_eq(t.shipping, 490);
	cr_assert_eq(t.total, 490);
}

Test(order_totals, lines_and_flat_shipping_below_the_threshold)
{
	int64_t prices[] = {1250, 999}, qtys[] = {2, 1}, lt[2];
	struct order_totals t;
	cr_assert(order_compute_totals(prices, qtys, 2, &rule, lt, &t));
	cr_assert_eq(lt[0], 2500);
	cr_assert_eq(lt[1], 999);
	cr_assert_eq(t.subtotal, 3499);
	cr_assert_eq(t.shipping, 490);
	cr_assert_eq(t.total, 3989);
}

Test(order_totals, free_shipping_from_the_threshold_exactly)
{
	int64_t prices[] = {2500}, qtys[] = {2}, lt[1];
	struct order_totals t;
	cr_assert(order_compute_totals(prices, qtys, 1, &rule, lt, &t));
	cr_assert_eq(t.shipping, 0);
	cr_assert_eq(t.total, 5000);
	prices[0] = 2499; /* one cent below: 4998 */
	cr_assert(order_compute_totals(prices, qtys, 1, &rule, lt, &t));
	cr_assert_eq(t.shipping, 490);
}

Test(order_totals, bounds_and_overflow)
{
	int64_t lt[2];
	struct order_totals t;
	int64_t p0[] = {-1}, q1[] = {1};
	cr_assert_not(order_compute_totals(p0, q1, 1, &rule, lt, &t), "negative price");
	int64_t p1[] = {100}, q0[] = {0};
	cr_assert_not(order_compute_totals(p1, q0, 1, &rule, lt, &t), "zero quantity");
	int64_t qbig[] = {ORDER_QTY_MAX + 1};
	cr_assert_not(order_compute_totals(p1, qbig, 1, &rule, lt, &t), "quantity past the maximum");
	int64_t pmax[] = {ORDER_PRICE_MAX, ORDER_PRICE_MAX}, qmax[] = {ORDER_QTY_MAX, ORDER_QTY_MAX};
	/* 1e15 * 1e6 = 1e21: past int64 */
	cr_assert_not(order_compute_totals(pmax, qmax, 2, &rule, lt, &t), "int64 overflow");
	/* 9e15 is the most a total may be below 2^53 - 1 (9007199254740991) in whole prices */
	int64_t q9[] = {5, 4}, q10[] = {5, 5};
	cr_assert(order_compute_totals(pmax, q9, 2, &rule, lt, &t));
	cr_assert_eq(t.total, 9000000000000000LL);
	cr_assert_not(order_compute_totals(pmax, q10, 2, &rule, lt, &t), "a total past 2^53 - 1");
	/* the shipping fee counts too: exactly 2^53 - 1 passes, one more does not */
	struct shipping_rule always = {490, ORDER_TOTAL_MAX};
	int64_t pedge[] = {ORDER_PRICE_MAX, 7199254740501LL}, q91[] = {9, 1};
	cr_assert(order_compute_totals(pedge, q91, 2, &always, lt, &t));
	cr_assert_eq(t.total, ORDER_TOTAL_MAX);
	pedge[1]++;
	cr_assert_not(order_compute_totals(pedge, q91, 2, &always, lt, &t));
	struct shipping_rule bad = {-1, 0};
	cr_assert_not(order_compute_totals(p1, q1, 1, &bad, lt, &t));
}

Test(order_money, formats)
{
	char buf[32];
	cr_assert(order_money_format(4990, "EUR", buf, sizeof(buf)));
	cr_assert_str_eq(buf, "49.90 EUR");
	cr_assert(order_money_format(5, "USD", buf, sizeof(buf)));
	cr_assert_str_eq(buf, "0.05 USD");
	cr_assert(order_money_format(0, "EUR", buf, sizeof(buf)));
	cr_assert_str_eq(buf, "0.00 EUR");
	cr_assert(order_money_format(1200, "JPY", buf, sizeof(buf)));
	cr_assert_str_eq(buf, "1200 JPY");
	cr_assert(order_money_format(-150, "EUR", buf, sizeof(buf)));
	cr_assert_str_eq(buf, "-1.50 EUR");
	cr_assert(order_money_format(INT64_MIN, "EUR", buf, sizeof(buf)));
	cr_assert_str_eq(buf, "-92233720368547758.08 EUR");
	cr_assert_not(order_money_format(4990, "EUR", buf, 5), "too small a buffer");
}

/* --- addresses ---------------------------------------------------------------------------- */

static bool parse_address(const char *json, struct field_errors *errs, struct json_object **keep)
{
	struct order_address a;
	*keep = json_tokener_parse(json);
	cr_assert_not_null(*keep, "%s", json);
	memset(errs, 0, sizeof(*errs));
	return order_address_parse(*keep, &a, errs);
}

static bool has_error(const struct field_errors *e, const char *field)
{
	for (size_t i = 0; i < e->n; i++)
		if (strcmp(e->items[i].field, field) == 0)
			return true;
	return false;
}

Test(order_address, a_full_address_passes)
{
	struct order_address a;
	struct field_errors errs = {0};
	struct json_object *o = json_tokener_parse(
		"{\"name\":\"Ada Lovelace\",\"line1\":\"12 St James's Square\",\"line2\":\"Flat 2\",\"city\":\"London\","
		"\"postal_code\":\"SW1Y 4JH\",\"country\":\"GB\",\"phone\":\"+44 20 7946-0000\"}");
	cr_assert(order_address_parse(o, &a, &errs), "%s: %s", errs.items[0].field, errs.items[0].message);
	cr_assert_str_eq(a.name, "Ada Lovelace");
	cr_assert_str_eq(a.country, "GB");
	cr_assert_str_eq(a.line2, "Flat 2");
	json_object_put(o);
}

Test(order_address, optional_fields_may_be_absent_or_null)
{
	struct field_errors errs;
	struct json_object *o;
	cr_assert(parse_address("{\"name\":\"A\",\"line1\":\"B 1\",\"city\":\"C\",\"postal_code\":\"10115\",\"country\":\"DE\"}",
				&errs, &o));
	json_object_put(o);
	cr_assert(parse_address("{\"name\":\"A\",\"line1\":\"B 1\",\"line2\":null,\"city\":\"C\",\"postal_code\":\"10115\","
				"\"country\":\"DE\",\"phone\":null}",
				&errs, &o));
	json_object_put(o);
}

Test(order_address, the_bad_ones)
{
	static const struct {
		const char *json, *field;
	} bad[] = {
		{"{\"name\":\"\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\"}", "shipping_address.name"},
		{"{\"name\":\"   \",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\"}", "shipping_address.name"},
		{"{\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\"}", "shipping_address.name"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"XX\"}", "shipping_address.country"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"de\"}", "shipping_address.country"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DEU\"}", "shipping_address.country"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":7}", "shipping_address.country"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1;DROP\",\"country\":\"DE\"}", "shipping_address.postal_code"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"12345678901234567\",\"country\":\"DE\"}", "shipping_address.postal_code"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\",\"phone\":\"call me\"}", "shipping_address.phone"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\",\"phone\":\"+()-\"}", "shipping_address.phone"},
		{"{\"name\":\"A\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\",\"zip\":\"1\"}", "shipping_address.zip"},
		{"{\"name\":\"A\\u0000B\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\"}", "shipping_address.name"},
		{"{\"name\":\"A\",\"line1\":\"B\\nC\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\"}", "shipping_address.line1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct field_errors errs;
		struct json_object *o;
		cr_assert_not(parse_address(bad[i].json, &errs, &o), "%zu passed: %s", i, bad[i].json);
		cr_assert(has_error(&errs, bad[i].field), "%zu: no error on %s (first: %s)", i, bad[i].field,
			  errs.n ? errs.items[0].field : "-");
		json_object_put(o);
	}
}

Test(order_address, name_of_100_characters_but_not_101)
{
	char json[1024], name[102];
	struct field_errors errs;
	struct json_object *o;
	memset(name, 'n', 100);
	name[100] = '\0';
	snprintf(json, sizeof(json), "{\"name\":\"%s\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\"}", name);
	cr_assert(parse_address(json, &errs, &o));
	json_object_put(o);
	name[100] = 'n';
	name[101] = '\0';
	snprintf(json, sizeof(json), "{\"name\":\"%s\",\"line1\":\"B\",\"city\":\"C\",\"postal_code\":\"1\",\"country\":\"DE\"}", name);
	cr_assert_not(parse_address(json, &errs, &o));
	json_object_put(o);
}

Test(order_country, codes)
{
	cr_assert(order_country_valid("DE"));
	cr_assert(order_country_valid("AD"));
	cr_assert(order_country_valid("ZW"));
	cr_assert(order_country_valid("US"));
	cr_assert_not(order_country_valid(""));
	cr_assert_not(order_country_valid("D"));
	cr_assert_not(order_country_valid("UK"), "UK is not ISO 3166-1 (GB is)");
	cr_assert_not(order_country_valid("XX"));
	cr_assert_not(order_country_valid("ZZ"));
	cr_assert_not(order_country_valid("us"));
	cr_assert_not(order_country_valid("D\xc3"));
}

/* --- references ------------------------------------------------------------------------------ */

Test(order_ref, deterministic_bounded_and_distinct)
{
	char a[ORDER_REF_MAX + 1], b[ORDER_REF_MAX + 1], c[ORDER_REF_MAX + 1], d[ORDER_REF_MAX + 1];
	order_ref_make(42, "key-1", 1, a);
	order_ref_make(42, "key-1", 1, b);
	cr_assert_str_eq(a, b, "the same inputs give the same reference");
	order_ref_make(42, "key-1", 2, c);
	cr_assert_str_neq(a, c, "another attempt, another reference");
	order_ref_make(43, "key-1", 1, d);
	cr_assert_str_neq(a, d, "another user, another reference");
	cr_assert_eq(strncmp(a, "o42-", 4), 0, "%s", a);
	order_ref_make(INT64_MAX, "k", INT64_MAX, a);
	cr_assert_leq(strlen(a), ORDER_REF_MAX);
	cr_assert_eq(a[strlen(a) - 1], '7', "the attempt is not cut: %s", a);
	for (const char *p = a; *p; p++)
		cr_assert(strchr("abcdefghijklmnopqrstuvwxyz0123456789-", *p), "%s", a);
}

Test(order_sha256, known_value)
{
	char hex[65];
	order_sha256_hex("abc", 3, hex);
	cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	order_sha256_hex("", 0, hex);
	cr_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

/* --- list filters -------------------------------------------------------------------------- */

Test(order_time, dates_and_times)
{
	char out[20];
	cr_assert(order_time_parse("2026-12-01", out));
	cr_assert_str_eq(out, "2026-12-01 00:00:00");
	cr_assert(order_time_parse("2026-12-01T08:30:05Z", out));
	cr_assert_str_eq(out, "2026-12-01 08:30:05");
	cr_assert(order_time_parse("2024-02-29", out), "leap day");
	const char *bad[] = {"", "2026-12-1", "2026-13-01", "2026-02-29", "2026-02-30", "1900-02-29", "2026-12-01T08:30:05",
			     "2026-12-01T24:00:00Z", "2026-12-01 08:30:05Z", "2026-12-01T08:30:05+01:00", "+026-12-01",
			     "2026-12-01x", "1969-12-31"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(order_time_parse(bad[i], out), "%s", bad[i]);
}
