/* rules.c: the order service's pure rules (no I/O): the transition table, totals, addresses, keys and references. */
#include "rules.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "field.h"
#include "problem.h"

static const char *const status_names[ORDER_STATUS_N] = {
	"pending_payment", "paid", "shipped", "delivered", "cancelled", "expired", "refunded",
};

const char *order_status_name(enum order_status s)
{
	return (unsigned)s < ORDER_STATUS_N ? status_names[s] : "?";
}

bool order_status_parse(const char *s, enum order_status *out)
{
	for (int i = 0; i < ORDER_STATUS_N; i++)
		if (strcmp(s, status_names[i]) == 0) {
			*out = (enum order_status)i;
			return true;
		}
	return false;
}

/* Every allowed transition: anything not listed is refused. */
static const struct {
	enum order_event ev;
	enum order_status from, to;
	unsigned by;
} transitions[] = {
	{ORDER_EV_PAY, ORDER_PENDING_PAYMENT, ORDER_PAID, ORDER_BY_PAYMENT},
	{ORDER_EV_SHIP, ORDER_PAID, ORDER_SHIPPED, ORDER_BY_STAFF},
	{ORDER_EV_DELIVER, ORDER_SHIPPED, ORDER_DELIVERED, ORDER_BY_STAFF},
	{ORDER_EV_CANCEL, ORDER_PENDING_PAYMENT, ORDER_CANCELLED, ORDER_BY_OWNER | ORDER_BY_STAFF},
	/* A paid order is cancelled by staff only: the money goes back through a refund. */
	{ORDER_EV_CANCEL, ORDER_PAID, ORDER_CANCELLED, ORDER_BY_STAFF},
	{ORDER_EV_EXPIRE, ORDER_PENDING_PAYMENT, ORDER_EXPIRED, ORDER_BY_SYSTEM},
	/* Only an order that was paid is refunded (the caller checks that it was): one cancelled by
	 * staff, or one staff refunded in whole: before it shipped (it will not ship now), or after
	 * (a parcel lost, goods sent back; also a refund that was in flight while staff shipped). */
	{ORDER_EV_REFUNDED, ORDER_CANCELLED, ORDER_REFUNDED, ORDER_BY_PAYMENT},
	{ORDER_EV_REFUNDED, ORDER_PAID, ORDER_REFUNDED, ORDER_BY_PAYMENT},
	{ORDER_EV_REFUNDED, ORDER_SHIPPED, ORDER_REFUNDED, ORDER_BY_PAYMENT},
	{ORDER_EV_REFUNDED, ORDER_DELIVERED, ORDER_REFUNDED, ORDER_BY_PAYMENT},
};

bool order_transition(enum order_event ev, enum order_status from, enum order_actor actor, enum order_status *to)
{
	for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
		if (transitions[i].ev == ev && transitions[i].from == from && (transitions[i].by & (unsigned)actor)) {
			*to = transitions[i].to;
			return true;
		}
	return false;
}

bool order_compute_totals(const int64_t *prices, const int64_t *qtys, size_t n, const struct shipping_rule *rule,
			  int64_t *line_totals, struct order_totals *out)
{
	int64_t sub = 0;

	for (size_t i = 0; i < n; i++) {
		if (prices[i] < 0 || prices[i] > ORDER_PRICE_MAX || qtys[i] < 1 || qtys[i] > ORDER_QTY_MAX)
			return false;
		if (__builtin_mul_overflow(prices[i], qtys[i], &line_totals[i]) ||
		    __builtin_add_overflow(sub, line_totals[i], &sub))
			return false;
	}
	if (rule->fee < 0 || rule->free_from < 0)
		return false;
	out->subtotal = sub;
	out->shipping = sub >= rule->free_from ? 0 : rule->fee;
	return !__builtin_add_overflow(sub, out->shipping, &out->total) && out->total <= ORDER_TOTAL_MAX;
}

/* ISO 4217 currencies without minor units; every other one is written with two decimals. */
static int currency_decimals(const char *c)
{
	static const char *const zero[] = {"BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
					   "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF", NULL};
	for (size_t i = 0; zero[i]; i++)
		if (strcmp(c, zero[i]) == 0)
			return 0;
	return 2;
}

bool order_money_format(int64_t minor, const char *currency, char *buf, size_t len)
{
	int n;
	const char *sign = minor < 0 ? "-" : "";
	uint64_t a = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;

	if (currency_decimals(currency) == 0)
		n = snprintf(buf, len, "%s%llu %s", sign, (unsigned long long)a, currency);
	else
		n = snprintf(buf, len, "%s%llu.%02llu %s", sign, (unsigned long long)(a / 100),
			     (unsigned long long)(a % 100), currency);
	return n > 0 && (size_t)n < len;
}

/* ISO 3166-1 alpha-2, the officially assigned codes (249), in order. */
static const char countries[] =
	"AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ "
	"BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ "
	"CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ "
	"DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR "
	"GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY "
	"HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP "
	"KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY "
	"MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ "
	"NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA "
	"RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ "
	"TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ "
	"VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

bool order_country_valid(const char *code)
{
	if (strlen(code) != 2 || code[0] < 'A' || code[0] > 'Z' || code[1] < 'A' || code[1] > 'Z')
		return false;
	for (const char *p = countries; *p; p += p[2] ? 3 : 2)
		if (p[0] == code[0] && p[1] == code[1])
			return true;
	return false;
}

static bool all_of(const char *s, const char *extra, bool *digit)
{
	*digit = false;
	for (; *s; s++) {
		bool d = *s >= '0' && *s <= '9';
		bool a = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z');
		if (d)
			*digit = true;
		else if (!(a && strchr(extra, 'a')) && !strchr(extra, *s))
			return false;
	}
	return true;
}

bool order_address_parse(struct json_object *obj, struct order_address *out, struct field_errors *errs)
{
	static const struct field_spec specs[] = {
		{"name", FIELD_T_STRING, true, 1, 100, offsetof(struct order_address, name), false},
		{"line1", FIELD_T_STRING, true, 1, 200, offsetof(struct order_address, line1), false},
		{"line2", FIELD_T_STRING, false, 0, 200, offsetof(struct order_address, line2), true},
		{"city", FIELD_T_STRING, true, 1, 100, offsetof(struct order_address, city), false},
		{"postal_code", FIELD_T_STRING, true, 1, 16, offsetof(struct order_address, postal_code), false},
		{"country", FIELD_T_STRING, true, 2, 2, offsetof(struct order_address, country), false},
		{"phone", FIELD_T_STRING, false, 4, 32, offsetof(struct order_address, phone), true},
	};
	struct field_errors mine = {0};
	bool digit;
	uint64_t present = 0;

	memset(out, 0, sizeof(*out));
	field_parse(obj, specs, sizeof(specs) / sizeof(specs[0]), out, &present, NULL, &mine);
	if ((present & 1u << 4) && out->postal_code && (!all_of(out->postal_code, "a -", &digit) ||
	    out->postal_code[0] == ' ' || out->postal_code[0] == '-'))
		problem_add(&mine, "postal_code", "must be letters, digits, spaces or '-'");
	if ((present & 1u << 5) && out->country && !order_country_valid(out->country))
		problem_add(&mine, "country", "must be an ISO 3166-1 alpha-2 country code, such as \"DE\"");
	if ((present & 1u << 6) && out->phone && (!all_of(out->phone, " +()-", &digit) || !digit))
		problem_add(&mine, "phone", "must be digits, spaces and \"+()-\"");
	problem_add_nested(errs, "shipping_address", &mine);
	return mine.n == 0;
}

void order_sha256_hex(const char *data, size_t len, char hex[65])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	crypto_hash_sha256(h, (const unsigned char *)data, len);
	sodium_bin2hex(hex, 65, h, sizeof(h));
}

void order_ref_make(int64_t user_id, const char *key, int64_t attempt, char buf[ORDER_REF_MAX + 1])
{
	char hex[65];
	order_sha256_hex(key, strlen(key), hex);
	snprintf(buf, ORDER_REF_MAX + 1, "o%lld-%.20s-%lld", (long long)user_id, hex, (long long)attempt);
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool order_time_parse(const char *s, char out[20])
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h = 0, mi = 0, se = 0;
	size_t n = strlen(s);

	if ((n != 10 && n != 20) || s[4] != '-' || s[7] != '-' || !digits(s, 4, &y) || !digits(s + 5, 2, &mo) ||
	    !digits(s + 8, 2, &d))
		return false;
	if (n == 20 && (s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' || !digits(s + 11, 2, &h) ||
			!digits(s + 14, 2, &mi) || !digits(s + 17, 2, &se)))
		return false;
	if (y < 1970 || mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59)
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d < 1 || d > mdays[mo - 1] + (mo == 2 && leap))
		return false;
	char tmp[64]; /* the values are bounded above, but the compiler cannot see it */
	snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d", y, mo, d, h, mi, se);
	memcpy(out, tmp, 20);
	return true;
}
