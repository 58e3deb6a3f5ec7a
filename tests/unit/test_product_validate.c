/* test_product_validate.c: slugs, SKUs, currencies, image URLs, attributes and list cache keys of the product service. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <sodium.h>
#include <string.h>

#include "problem.h"
#include "repo.h"
#include "validate.h"

Test(slug, derived_from_names)
{
	char out[SLUG_MAX + 1];
	cr_assert(slugify("Garden Tools & More!", out, SLUG_MAX));
	cr_assert_str_eq(out, "garden-tools-more");
	cr_assert(slugify("  --Ünïcode Lamp 2000--  ", out, SLUG_MAX));
	cr_assert_str_eq(out, "n-code-lamp-2000", "non-ASCII letters separate words: no transliteration");
	cr_assert(!slugify("!!! ???", out, SLUG_MAX));
	cr_assert(!slugify("", out, SLUG_MAX));
	cr_assert(slugify("abcdefghij", out, 5));
	cr_assert_str_eq(out, "abcde");
	cr_assert(slugify("abc def", out, 4));
	cr_assert_str_eq(out, "abc", "no trailing hyphen after truncation");
}

Test(slug, validity)
{
	cr_assert(slug_valid("a-b-c", 10));
	cr_assert(!slug_valid("", 10));
	cr_assert(!slug_valid("-a", 10));
	cr_assert(!slug_valid("a-", 10));
	cr_assert(!slug_valid("a--b", 10));
	cr_assert(!slug_valid("A", 10));
	cr_assert(!slug_valid("a b", 10));
	cr_assert(!slug_valid("abcdefghijk", 10));
}

Test(sku, validity)
{
	char s65[66];
	memset(s65, 'A', 65);
	s65[65] = '\0';
	cr_assert(sku_valid("ABC-123_x.9"));
	cr_assert(!sku_valid(""));
	cr_assert(!sku_valid("a b"));
	cr_assert(!sku_valid("a'b"));
	cr_assert(!sku_valid(s65));
	s65[64] = '\0';
	cr_assert(sku_valid(s65));
}

Test(currency, iso_4217)
{
	cr_assert(currency_valid("EUR"));
	cr_assert(currency_valid("USD"));
	cr_assert(currency_valid("JPY"));
	cr_assert(currency_valid("AED"));
	cr_assert(currency_valid("ZWL"));
	cr_assert(!currency_valid("eur"));
	cr_assert(!currency_valid("XYZ"));
	cr_assert(!currency_valid("EU"));
	cr_assert(!currency_valid("EURO"));
	cr_assert(!currency_valid(""));
	cr_assert(!currency_valid("XAU"), "precious metals are not prices");
}

Test(url, https_only)
{
	cr_assert(https_url_valid("https://img.example.com/a/b.jpg?x=1"));
	cr_assert(!https_url_valid("http://img.example.com/a.jpg"));
	cr_assert(!https_url_valid("https://"));
	cr_assert(!https_url_valid("https:///path"));
	cr_assert(!https_url_valid("https://user@host/a"));
	cr_assert(!https_url_valid("https://a b/c"));
	cr_assert(!https_url_valid("javascript:alert(1)"));
	cr_assert(!https_url_valid("HTTPS://example.com"), "scheme as written by us");
}

Test(fields, images_and_attributes)
{
	struct field_errors errs = {0};
	bool present;
	struct json_object *b = json_tokener_parse("{\"images\":[\"https://a.example/1\"],\"attributes\":{\"color\":\"red\"}}");
	cr_assert_not_null(images_field(b, "images", &errs, &present));
	cr_assert(present);
	cr_assert_not_null(attributes_field(b, "attributes", &errs, &present));
	cr_assert_eq(errs.n, 0);
	cr_assert_null(images_field(b, "nothing", &errs, &present));
	cr_assert(!present);
	json_object_put(b);

	const char *bad[] = {"{\"images\":\"https://a.example/1\"}", "{\"images\":[1]}", "{\"images\":[\"http://a/1\"]}",
			     "{\"attributes\":{\"a\":1}}", "{\"attributes\":{\"\":\"x\"}}", "{\"attributes\":[]}",
			     /* C1 controls (U+0080..U+009F) are refused like C0 ones, in names and values. */
			     "{\"attributes\":{\"a\\u0085\":\"x\"}}", "{\"attributes\":{\"a\":\"x\\u009b\"}}",
			     "{\"images\":[\"https://a.example/\\u0085\"]}", NULL};
	for (size_t i = 0; bad[i]; i++) {
		struct field_errors e = {0};
		b = json_tokener_parse(bad[i]);
		images_field(b, "images", &e, &present);
		attributes_field(b, "attributes", &e, &present);
		cr_assert_eq(e.n, 1, "%s", bad[i]);
		json_object_put(b);
	}
}

/* A list page's cache key names every parameter that shapes the page. */
Test(list_key, every_parameter_makes_another_key)
{
	const struct product_filter base = {.category_id = 7, .min_price = -1, .max_price = -1, .q = NULL,
					    .status = "active", .sort = SORT_PRICE, .limit = 20, .offset = 0};
	char k0[LIST_KEY_MAX], k1[LIST_KEY_MAX];

	product_list_key(k0, &base);
	cr_assert_eq(strncmp(k0, "plist:", 6), 0, "%s", k0);
	cr_assert_eq(strlen(k0), 6 + 32, "%s", k0);
	product_list_key(k1, &base);
	cr_assert_str_eq(k0, k1, "the same page, the same key");
	struct product_filter f;
	const char *why[] = {"category", "min_price", "max_price", "status", "no status", "sort", "limit", "offset",
			     "words", "other words"};
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++) {
		f = base;
		switch (i) {
		case 0: f.category_id = 8; break;
		case 1: f.min_price = 0; break;
		case 2: f.max_price = 0; break;
		case 3: f.status = "draft"; break;
		case 4: f.status = NULL; break;
		case 5: f.sort = SORT_PRICE_DESC; break;
		case 6: f.limit = 21; break;
		case 7: f.offset = 20; break;
		case 8: f.q = "lamp"; break;
		case 9: f.q = "lamps"; break;
		}
		product_list_key(k1, &f);
		cr_assert_str_neq(k0, k1, "%s: the same key", why[i]);
	}
	/* Words cannot be confused with the fields before them. */
	f = base;
	f.q = "";
	product_list_key(k1, &f);
	cr_assert_str_eq(k0, k1, "no words and empty words are the same search");
	struct product_filter a = base, b = base;
	a.q = "x\nl=20";
	b.limit = 2;
	b.q = "0\nx\nl=20";
	product_list_key(k0, &a);
	product_list_key(k1, &b);
	cr_assert_str_neq(k0, k1);
}

/* A cached page carries the catalogue version it was computed under, and is read only under it. */
Test(list_key, a_page_is_read_only_under_its_own_version)
{
	char head[LIST_PAGE_HEAD_MAX], value[64];
	size_t n = list_page_head(head, 42);
	cr_assert_eq(n, 3);
	cr_assert_str_eq(head, "42\n");
	snprintf(value, sizeof(value), "%s{\"items\":[]}", head);
	cr_assert_eq(list_page_body(value, strlen(value), 42), 3);
	cr_assert_eq(list_page_body(value, strlen(value), 4), 0, "a version that is a prefix of the page's");
	cr_assert_eq(list_page_body(value, strlen(value), 421), 0);
	cr_assert_eq(list_page_body(value, strlen(value), 43), 0);
	cr_assert_eq(list_page_body("42", 2, 42), 0, "cut short");
	cr_assert_eq(list_page_body("", 0, 42), 0);
	cr_assert_eq(list_page_head(head, INT64_MAX), 20);
	cr_assert_eq(list_page_body("{\"items\":[]}", 12, 42), 0, "a page stored without a version");
}

/* base64url (no padding) of `json`, as a cursor would be written. */
static void b64(const char *json, char *out)
{
	sodium_bin2base64(out, CURSOR_MAX + 1, (const unsigned char *)json, strlen(json),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

Test(cursor, every_sort_round_trips)
{
	const struct product_cursor cases[] = {
		{.sort = SORT_PRICE, .num = 1299, .id = 7},
		{.sort = SORT_PRICE_DESC, .num = 0, .id = 1},
		{.sort = SORT_NAME, .text = "Lamp \"deluxe\" \\ Ünïcode | 2", .id = 42},
		{.sort = SORT_CREATED_DESC, .text = "2026-12-01 10:00:00.123000", .id = 9},
		{.sort = SORT_RATING_DESC, .text = "4.25", .num = 8, .id = 3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[CURSOR_MAX + 1];
		struct product_cursor back;
		cr_assert(product_cursor_encode(&cases[i], text), "case %zu", i);
		cr_assert_null(strpbrk(text, "+/= "), "not URL-safe: %s", text);
		cr_assert(product_cursor_decode(text, &back), "case %zu: %s", i, text);
		cr_assert_eq(back.sort, cases[i].sort);
		cr_assert_eq(back.num, cases[i].num);
		cr_assert_eq(back.id, cases[i].id);
		cr_assert_str_eq(back.text, cases[i].text);
	}
	/* The longest name fits (200 four-byte characters). */
	struct product_cursor big = {.sort = SORT_NAME, .id = INT64_MAX};
	for (int i = 0; i < 200; i++)
		memcpy(big.text + 4 * i, "\xF0\x9F\x98\x80", 4);
	char text[CURSOR_MAX + 1];
	cr_assert(product_cursor_encode(&big, text));
	struct product_cursor back;
	cr_assert(product_cursor_decode(text, &back));
	cr_assert_str_eq(back.text, big.text);
}

Test(cursor, anything_else_is_refused)
{
	const char *json[] = {
		"[1,1299]",                              /* no id */
		"[1,1299,7,8]",                          /* one too many */
		"[1,\"1299\",7]",                        /* price as text */
		"[1,-1,7]",                              /* negative price */
		"[1,1000000000000001,7]",                /* above PRICE_MAX */
		"[1,1299,0]",                            /* id 0 */
		"[1,1299,7.5]",                          /* id not an integer */
		"[5,1,7]", "[-1,1,7]", "[\"1\",1,7]",    /* no such sort */
		"[3,\"\",7]",                            /* empty name */
		"[3,1,7]",                               /* name not text */
		"[0,\"2026-12-01T10:00:00Z\",7]",        /* time not in the column's form */
		"[0,\"2026-12-01 10:00:00.123\",7]",     /* time without its microseconds */
		"[4,\"4.25\",8]",                        /* rating without its id */
		"[4,\"5.50\",8,3]", "[4,\"4.2\",8,3]", "[4,\"4.25\",-1,3]", /* rating out of range or shape */
		"{\"sort\":1}", "[1,1299,7] ", "[1,1299,7]x", "null", "",
		"[3,\"a\\u0000b\",7]",                   /* NUL inside */
		"[3,\"\xC3\x28\",7]",                    /* not UTF-8 */
		NULL};
	struct product_cursor c;
	char text[CURSOR_MAX + 1];
	for (size_t i = 0; json[i]; i++) {
		b64(json[i], text);
		cr_assert(!product_cursor_decode(text, &c), "accepted %s", json[i]);
	}
	cr_assert(!product_cursor_decode("not base64 !", &c));
	cr_assert(!product_cursor_decode("WzEsMTI5OSw3XQ==", &c), "padding is not the URL-safe form");
	char big[CURSOR_MAX + 2];
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cr_assert(!product_cursor_decode(big, &c), "too long");
	b64("[1,1299,7]", text);
	cr_assert(product_cursor_decode(text, &c), "the well-formed one passes");
}

Test(list_key, a_cursor_makes_another_key)
{
	struct product_cursor a = {.sort = SORT_PRICE, .num = 100, .id = 5}, b = a;
	struct product_filter f = {.min_price = -1, .max_price = -1, .status = "active", .sort = SORT_PRICE, .limit = 20};
	char k0[LIST_KEY_MAX], k1[LIST_KEY_MAX], k2[LIST_KEY_MAX];
	product_list_key(k0, &f);
	f.after = &a;
	product_list_key(k1, &f);
	b.id = 6;
	f.after = &b;
	product_list_key(k2, &f);
	cr_assert_str_neq(k0, k1);
	cr_assert_str_neq(k1, k2);
}
