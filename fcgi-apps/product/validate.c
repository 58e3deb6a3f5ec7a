/* validate.c: slugs, SKUs, ISO 4217 codes, https image URLs, flat attribute objects, list cache keys. */
#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"
#include "problem.h"
#include "repo.h"

bool slugify(const char *name, char *out, size_t max)
{
	size_t o = 0;
	bool dash = false;

	for (const unsigned char *p = (const unsigned char *)name; *p && o < max; p++) {
		if (isalnum(*p) && *p < 0x80) {
			if (dash && o > 0) {
				if (o + 1 >= max)
					break;
				out[o++] = '-';
			}
			dash = false;
			out[o++] = (char)tolower(*p);
		} else {
			dash = true;
		}
	}
	while (o > 0 && out[o - 1] == '-')
		o--;
	out[o] = '\0';
	return o > 0;
}

bool slug_valid(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c == '-' && s[i + 1] == '-')
			return false;
	}
	return true;
}

bool sku_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > SKU_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) && (unsigned char)s[i] < 0x80) && !strchr("._-", s[i]))
			return false;
	return true;
}

/* Active ISO 4217 codes (funds and precious metals left out). */
static const char currencies[] =
	"AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF "
	"CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD "
	"HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD "
	"MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN "
	"PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY "
	"TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL";

bool currency_valid(const char *s)
{
	if (strlen(s) != 3)
		return false;
	for (int i = 0; i < 3; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	for (const char *p = currencies; *p; p += 4) {
		if (memcmp(p, s, 3) == 0)
			return true;
		if (!p[3])
			break;
	}
	return false;
}

bool https_url_valid(const char *s)
{
	size_t n = strlen(s);
	if (n <= 8 || n > IMAGE_URL_MAX || strncmp(s, "https://", 8) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c == 0x7f || c == '"' || c == '<' || c == '>' || c == '\\')
			return false;
		if (c == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f)
			return false; /* a C1 control */
	}
	/* A host: at least one character before any '/', '?', '#', and no userinfo. */
	const char *host = s + 8;
	size_t hlen = strcspn(host, "/?#");
	if (hlen == 0 || memchr(host, '@', hlen) || host[0] == ':' || host[0] == '.')
		return false;
	return true;
}

struct json_object *images_field(struct json_object *body, const char *key, struct field_errors *errs,
				 bool *present)
{
	struct json_object *v;

	*present = json_object_object_get_ex(body, key, &v);
	if (!*present)
		return NULL;
	if (!json_object_is_type(v, json_type_array)) {
		problem_add(errs, key, "must be a list of https URLs");
		return NULL;
	}
	size_t n = json_object_array_length(v);
	if (n > IMAGES_MAX) {
		problem_add(errs, key, "must hold at most %d URLs", IMAGES_MAX);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *u = json_object_array_get_idx(v, i);
		if (!json_object_is_type(u, json_type_string) ||
		    strlen(json_object_get_string(u)) != (size_t)json_object_get_string_len(u) ||
		    !https_url_valid(json_object_get_string(u))) {
			problem_add(errs, key, "item %zu must be an https URL of at most %d bytes", i, IMAGE_URL_MAX);
			return NULL;
		}
	}
	return v;
}

/* C0 controls, DEL, and C1 controls (U+0080..U+009F, encoded C2 80..C2 9F). */
static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] <= 0x9f))
			return true;
	return false;
}

struct json_object *attributes_field(struct json_object *body, const char *key, struct field_errors *errs,
				     bool *present)
{
	struct json_object *v;
	size_t n = 0;

	*present = json_object_object_get_ex(body, key, &v);
	if (!*present)
		return NULL;
	if (!json_object_is_type(v, json_type_object)) {
		problem_add(errs, key, "must be an object of short strings");
		return NULL;
	}
	json_object_object_foreach(v, k, val)
	{
		size_t klen = strlen(k);
		if (++n > ATTRS_MAX) {
			problem_add(errs, key, "must hold at most %d attributes", ATTRS_MAX);
			return NULL;
		}
		if (klen == 0 || !parse_utf8_valid(k, klen) || parse_utf8_len(k, klen) > ATTR_KEY_MAX || has_control(k)) {
			problem_add(errs, key, "attribute names must be 1 to %d characters, no control characters",
				    ATTR_KEY_MAX);
			return NULL;
		}
		if (!json_object_is_type(val, json_type_string)) {
			problem_add(errs, key, "attribute %.40s must be a string", k);
			return NULL;
		}
		const char *s = json_object_get_string(val);
		size_t slen = (size_t)json_object_get_string_len(val);
		if (strlen(s) != slen || parse_utf8_len(s, slen) > ATTR_VALUE_MAX || has_control(s)) {
			problem_add(errs, key, "attribute %.40s must be at most %d characters, no control characters", k,
				    ATTR_VALUE_MAX);
			return NULL;
		}
	}
	return v;
}

void product_list_key(char out[LIST_KEY_MAX], const struct product_filter *f)
{
	unsigned char hash[16];
	char hex[sizeof(hash) * 2 + 1];
	crypto_generichash_state st;
	char head[256];

	/* The words come last: whatever they hold, the fields before them stay unambiguous. */
	int n = snprintf(head, sizeof(head), "c=%lld\nmin=%lld\nmax=%lld\nst=%s\ns=%d\nl=%lld\no=%lld\n",
			 (long long)f->category_id, (long long)f->min_price, (long long)f->max_price,
			 f->status ? f->status : "*", (int)f->sort, (long long)f->limit, (long long)f->offset);
	crypto_generichash_init(&st, NULL, 0, sizeof(hash));
	crypto_generichash_update(&st, (const unsigned char *)head, (unsigned long long)n);
	/* A keyset page: the cursor's values, each ended by a newline the values cannot hold
	 * (the name is the only text that might: its length goes first). */
	if (f->after) {
		n = snprintf(head, sizeof(head), "after=%d:%lld:%lld:%zu:", f->after->sort, (long long)f->after->num,
			     (long long)f->after->id, strlen(f->after->text));
		crypto_generichash_update(&st, (const unsigned char *)head, (unsigned long long)n);
		crypto_generichash_update(&st, (const unsigned char *)f->after->text, strlen(f->after->text));
	}
	crypto_generichash_update(&st, (const unsigned char *)"\nq=", 3);
	if (f->q)
		crypto_generichash_update(&st, (const unsigned char *)f->q, strlen(f->q));
	crypto_generichash_final(&st, hash, sizeof(hash));
	sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	snprintf(out, LIST_KEY_MAX, "plist:%s", hex);
}

size_t list_page_head(char out[LIST_PAGE_HEAD_MAX], int64_t version)
{
	return (size_t)snprintf(out, LIST_PAGE_HEAD_MAX, "%lld\n", (long long)version);
}

size_t list_page_body(const char *value, size_t len, int64_t version)
{
	char head[LIST_PAGE_HEAD_MAX];
	size_t n = list_page_head(head, version);
	return len >= n && memcmp(value, head, n) == 0 ? n : 0;
}

/* "YYYY-MM-DD HH:MM:SS.ffffff" */
static bool cursor_time_valid(const char *s)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd.dddddd";
	if (strlen(s) != sizeof(shape) - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i])
			return false;
	return true;
}

/* "d.dd", 0.00 to 5.00 */
static bool cursor_rating_valid(const char *s)
{
	return strlen(s) == 4 && s[0] >= '0' && s[0] <= '5' && s[1] == '.' && isdigit((unsigned char)s[2]) &&
	       isdigit((unsigned char)s[3]) && (s[0] < '5' || (s[2] == '0' && s[3] == '0'));
}

bool product_cursor_encode(const struct product_cursor *c, char *out)
{
	struct json_object *a = json_object_new_array();
	json_object_array_add(a, json_object_new_int(c->sort));
	switch (c->sort) {
	case SORT_PRICE:
	case SORT_PRICE_DESC:
		json_object_array_add(a, json_object_new_int64(c->num));
		break;
	case SORT_RATING_DESC:
		json_object_array_add(a, json_object_new_string(c->text));
		json_object_array_add(a, json_object_new_int64(c->num));
		break;
	default:
		json_object_array_add(a, json_object_new_string(c->text));
	}
	json_object_array_add(a, json_object_new_int64(c->id));
	size_t len;
	const char *j = json_object_to_json_string_length(a, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	bool ok = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING) <= CURSOR_MAX + 1;
	if (ok)
		sodium_bin2base64(out, CURSOR_MAX + 1, (const unsigned char *)j, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	json_object_put(a);
	return ok;
}

static bool cursor_int(struct json_object *v, int64_t lo, int64_t hi, int64_t *out)
{
	if (!json_object_is_type(v, json_type_int))
		return false;
	errno = 0;
	int64_t n = json_object_get_int64(v);
	if (errno != 0 || n < lo || n > hi)
		return false;
	*out = n;
	return true;
}

static bool cursor_text(struct json_object *v, char *out)
{
	if (!json_object_is_type(v, json_type_string))
		return false;
	size_t n = (size_t)json_object_get_string_len(v);
	const char *s = json_object_get_string(v);
	if (n == 0 || n > CURSOR_VALUE_MAX || memchr(s, '\0', n) || !parse_utf8_valid(s, n))
		return false;
	memcpy(out, s, n + 1);
	return true;
}

bool product_cursor_decode(const char *in, struct product_cursor *c)
{
	unsigned char bin[CURSOR_MAX];
	size_t n = 0, len = strlen(in);
	int64_t sort;
	bool ok = false;

	memset(c, 0, sizeof(*c));
	if (len == 0 || len > CURSOR_MAX ||
	    sodium_base642bin(bin, sizeof(bin) - 1, in, len, NULL, &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	bin[n] = '\0';
	struct json_tokener *tok = json_tokener_new();
	struct json_object *a = tok ? json_tokener_parse_ex(tok, (const char *)bin, (int)n) : NULL;
	if (!a || json_tokener_get_error(tok) != json_tokener_success || tok->char_offset != (int)n ||
	    !json_object_is_type(a, json_type_array))
		goto out;
	size_t k = json_object_array_length(a);
	if (k < 3 || !cursor_int(json_object_array_get_idx(a, 0), SORT_CREATED_DESC, SORT_RATING_DESC, &sort))
		goto out;
	c->sort = (int)sort;
	struct json_object *v1 = json_object_array_get_idx(a, 1), *last = json_object_array_get_idx(a, k - 1);
	if (!cursor_int(last, 1, INT64_MAX, &c->id))
		goto out;
	switch (c->sort) {
	case SORT_PRICE:
	case SORT_PRICE_DESC:
		ok = k == 3 && cursor_int(v1, 0, PRICE_MAX, &c->num);
		break;
	case SORT_NAME:
		ok = k == 3 && cursor_text(v1, c->text);
		break;
	case SORT_CREATED_DESC:
		ok = k == 3 && cursor_text(v1, c->text) && cursor_time_valid(c->text);
		break;
	case SORT_RATING_DESC:
		ok = k == 4 && cursor_text(v1, c->text) && cursor_rating_valid(c->text) &&
		     cursor_int(json_object_array_get_idx(a, 2), 0, INT32_MAX, &c->num);
		break;
	}
out:
	json_object_put(a);
	if (tok)
		json_tokener_free(tok);
	/* Only the form this code writes: one text per position (spaces, escapes or a leading
	 * zero elsewhere make another text for the same values). */
	char again[CURSOR_MAX + 1];
	return ok && product_cursor_encode(c, again) && strcmp(again, in) == 0;
}
