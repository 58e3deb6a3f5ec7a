/* validate.h: the product service's pure rules: slugs, SKUs, currencies, image URLs, attributes. */
#ifndef STORE_PRODUCT_VALIDATE_H
#define STORE_PRODUCT_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct field_errors;
struct product_filter;

#define SLUG_MAX 120
#define PRODUCT_SLUG_MAX 220
#define SKU_MAX 64
#define IMAGES_MAX 10
#define IMAGE_URL_MAX 2048
#define ATTRS_MAX 20
#define ATTR_KEY_MAX 40
#define ATTR_VALUE_MAX 200
#define PRICE_MAX 1000000000000000LL /* 10^15 minor units */
#define LIST_KEY_MAX 40       /* "plist:<32 hex>" and its NUL */
#define LIST_PAGE_HEAD_MAX 24 /* "<version>\n" before a cached page, and a NUL */
#define CURSOR_VALUE_MAX 800 /* bytes of the text a cursor holds: a product name (200 characters) */
#define CURSOR_MAX 1200      /* characters of a cursor as the API shows it */

/*
 * Where a page of a keyset ("seek") listing starts: after the product whose sort values and id
 * these are. `sort` is the enum product_sort the cursor was made for; by sort, `text` and `num`
 * hold: price/-price: num = price; name: text = name; -created_at: text = created_at as
 * "YYYY-MM-DD HH:MM:SS.ffffff" (the column's whole precision); -rating: text = rating_avg as
 * "d.dd", num = rating_count.
 */
struct product_cursor {
	int sort;
	char text[CURSOR_VALUE_MAX + 1];
	int64_t num, id;
};

/* Writes the cursor as the API shows it (base64url of a small JSON array, no padding) into
 * out[CURSOR_MAX + 1]. Returns false when it does not fit. */
bool product_cursor_encode(const struct product_cursor *c, char *out);

/* Reads a cursor made by product_cursor_encode, checking every value against its sort.
 * Returns false for anything else (the caller answers 422). */
bool product_cursor_decode(const char *in, struct product_cursor *c);

/*
 * The cache key of a list or search page: "plist:<32 hex digits>", a BLAKE2b-128 of every
 * parameter that shapes the page (category, price bounds, status, sort, search words, limit,
 * offset, cursor). The same page has the same key; any other parameter, another key.
 */
void product_list_key(char out[LIST_KEY_MAX], const struct product_filter *f);

/* A cached page is stored as "<catalogue version>\n" and the page (fcgi-apps/product/catalog.c).
 * list_page_head writes that head into out[LIST_PAGE_HEAD_MAX] and returns its length;
 * list_page_body returns where the page starts in a stored value when it was stored under
 * `version`, else 0. */
size_t list_page_head(char out[LIST_PAGE_HEAD_MAX], int64_t version);
size_t list_page_body(const char *value, size_t len, int64_t version);

/*
 * Derives a slug from `name`: ASCII letters and digits lower-cased, every other run
 * of characters one '-', no leading or trailing '-', at most `max` bytes. Returns
 * false when nothing is left (the caller asks for an explicit slug).
 */
bool slugify(const char *name, char *out, size_t max);

/* 1..max bytes of [a-z0-9-], no leading, trailing or double '-'. */
bool slug_valid(const char *s, size_t max);

/* 1..SKU_MAX bytes of [A-Za-z0-9._-]. */
bool sku_valid(const char *s);

/* An active ISO 4217 code, upper case ("EUR"). */
bool currency_valid(const char *s);

/* An absolute https:// URL with a host, at most IMAGE_URL_MAX bytes, no spaces or control bytes. */
bool https_url_valid(const char *s);

/*
 * Checks field `key` of `body` as a list of at most IMAGES_MAX https URLs. Returns the
 * array (borrowed) when valid, NULL when absent or invalid (then an error was added).
 */
struct json_object *images_field(struct json_object *body, const char *key, struct field_errors *errs,
				 bool *present);

/* Same for a flat object of at most ATTRS_MAX string values (keys 1..ATTR_KEY_MAX, values 0..ATTR_VALUE_MAX). */
struct json_object *attributes_field(struct json_object *body, const char *key, struct field_errors *errs,
				     bool *present);

#endif
