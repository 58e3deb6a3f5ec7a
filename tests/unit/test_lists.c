/* test_lists.c: ?limit= and ?offset= parsing and the list envelope (lib/lists.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fake_io.h"
#include "lists.h"
#include "problem.h"
#include "request.h"
#include "response.h"

static struct fake_io f;
static struct request req;
static struct fake_resp resp;
static struct field_errors errs;
static struct list_params lp;

static void setup(void)
{
	fake_io_init(&f);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	memset(&errs, 0, sizeof(errs));
	lp.limit = lp.offset = -99;
}

static void teardown(void)
{
	request_cleanup(&req);
	fake_resp_free(&resp);
	fake_io_free(&f);
}

TestSuite(list_params, .init = setup, .fini = teardown);
TestSuite(list_envelope, .init = setup, .fini = teardown);

static bool parse_query(const char *uri)
{
	request_cleanup(&req);
	memset(&errs, 0, sizeof(errs));
	cr_assert(eq(int, fake_request(&f, &req, "GET", uri), 0), "request_init refused %s", uri);
	return list_params_parse(&req, &lp, &errs);
}

static void rejected(const char *uri, const char *field)
{
	cr_assert(not(parse_query(uri)), "accepted %s", uri);
	cr_assert(eq(sz, errs.n, 1), "%s: %zu errors", uri, errs.n);
	cr_assert(eq(str, errs.items[0].field, (char *)field), "%s", uri);
}

/* --- list_params_parse ---------------------------------------------------------------- */

Test(list_params, defaults)
{
	cr_assert(parse_query("/api/v1/products"));
	cr_assert(eq(i64, lp.limit, 20));
	cr_assert(eq(i64, lp.offset, 0));
	cr_assert(eq(sz, errs.n, 0));
}

Test(list_params, other_params_ignored)
{
	cr_assert(parse_query("/api/v1/products?q=mug&sort=name"));
	cr_assert(eq(i64, lp.limit, LIST_LIMIT_DEFAULT));
}

Test(list_params, limit_bounds_inclusive)
{
	cr_assert(parse_query("/x?limit=1"));
	cr_assert(eq(i64, lp.limit, 1));
	cr_assert(parse_query("/x?limit=100"));
	cr_assert(eq(i64, lp.limit, 100));
}

Test(list_params, limit_zero_rejected)
{
	rejected("/x?limit=0", "limit");
	cr_assert(eq(str, errs.items[0].message, "must be an integer from 1 to 100"));
}

Test(list_params, limit_101_rejected)
{
	rejected("/x?limit=101", "limit");
}

Test(list_params, limit_negative_rejected)
{
	rejected("/x?limit=-1", "limit");
}

Test(list_params, limit_not_a_number_rejected)
{
	static const char *const bad[] = {"/x?limit=abc", "/x?limit=", "/x?limit", "/x?limit=10abc", "/x?limit=1.5",
					  "/x?limit=+5", "/x?limit=%205", "/x?limit=05", "/x?limit=1e2",
					  "/x?limit=99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		rejected(bad[i], "limit");
}

Test(list_params, offset_bounds)
{
	cr_assert(parse_query("/x?offset=0"));
	cr_assert(eq(i64, lp.offset, 0));
	cr_assert(parse_query("/x?offset=1000000"));
	cr_assert(eq(i64, lp.offset, LIST_OFFSET_MAX));
	rejected("/x?offset=1000001", "offset");
}

Test(list_params, offset_negative_rejected)
{
	rejected("/x?offset=-1", "offset");
	cr_assert(eq(str, errs.items[0].message, "must be an integer from 0 to 1000000"));
}

Test(list_params, offset_not_a_number_rejected)
{
	rejected("/x?offset=abc", "offset");
	rejected("/x?offset=", "offset");
}

Test(list_params, both_bad_both_reported)
{
	cr_assert(not(parse_query("/x?limit=0&offset=-1")));
	cr_assert(eq(sz, errs.n, 2));
	cr_assert(eq(str, errs.items[0].field, "limit"));
	cr_assert(eq(str, errs.items[1].field, "offset"));
}

Test(list_params, both_given)
{
	cr_assert(parse_query("/x?offset=40&limit=20"));
	cr_assert(eq(i64, lp.limit, 20));
	cr_assert(eq(i64, lp.offset, 40));
}

Test(list_params, invalid_request_gets_422_with_errors)
{
	cr_assert(not(parse_query("/x?limit=101")));
	resp_invalid(&req, &errs);
	cr_assert(fake_resp_parse(&f, &resp));
	cr_assert(eq(int, resp.status, 422));
	struct json_object *list = NULL;
	cr_assert(json_object_object_get_ex(resp.json, "errors", &list));
	cr_assert(eq(sz, json_object_array_length(list), 1));
}

/* --- list_envelope --------------------------------------------------------------------- */

Test(list_envelope, shape_on_the_wire)
{
	struct json_object *items = json_object_new_array();
	for (int i = 1; i <= 3; i++) {
		struct json_object *it = json_object_new_object();
		json_object_object_add(it, "id", json_object_new_int(i));
		json_object_array_add(items, it);
	}
	cr_assert(parse_query("/x?limit=3&offset=6"));
	struct json_object *env = list_envelope(items, 42, &lp);
	resp_json(&req, 200, env);
	json_object_put(env);

	cr_assert(fake_resp_parse(&f, &resp));
	cr_assert(eq(int, resp.status, 200));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Type"), "application/json; charset=utf-8"));
	cr_assert(not(zero(ptr, resp.json)));
	cr_assert(eq(int, json_object_object_length(resp.json), 4), "%s", json_object_to_json_string(resp.json));

	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(resp.json, "items", &v));
	cr_assert(json_object_is_type(v, json_type_array));
	cr_assert(eq(sz, json_object_array_length(v), 3));
	cr_assert(json_object_object_get_ex(resp.json, "total", &v));
	cr_assert(json_object_is_type(v, json_type_int));
	cr_assert(eq(i64, json_object_get_int64(v), 42));
	cr_assert(json_object_object_get_ex(resp.json, "limit", &v));
	cr_assert(eq(i64, json_object_get_int64(v), 3));
	cr_assert(json_object_object_get_ex(resp.json, "offset", &v));
	cr_assert(eq(i64, json_object_get_int64(v), 6));
	cr_assert(eq(int, memcmp(resp.body, "{\"items\":[", 10), 0), "items first: %.*s", (int)resp.body_len, resp.body);
}

Test(list_envelope, empty_page)
{
	struct list_params p = {LIST_LIMIT_DEFAULT, 0};
	struct json_object *env = list_envelope(json_object_new_array(), 0, &p);
	cr_assert(eq(str, (char *)json_object_to_json_string_ext(env, JSON_C_TO_STRING_PLAIN),
		     "{\"items\":[],\"total\":0,\"limit\":20,\"offset\":0}"));
	json_object_put(env);
}

Test(list_envelope, takes_ownership_of_items)
{
	struct list_params p = {1, 0};
	struct json_object *items = json_object_new_array();
	struct json_object *env = list_envelope(items, 1, &p);
	struct json_object *got = NULL;
	json_object_object_get_ex(env, "items", &got);
	cr_assert(eq(ptr, got, items), "the envelope holds the caller's array, not a copy");
	/* One put frees both; ASan would report a leak or a double free otherwise. */
	cr_assert(eq(int, json_object_put(env), 1));
}

Test(list_envelope, large_total)
{
	struct list_params p = {100, LIST_OFFSET_MAX};
	struct json_object *env = list_envelope(json_object_new_array(), INT64_MAX, &p);
	struct json_object *t = NULL;
	json_object_object_get_ex(env, "total", &t);
	cr_assert(eq(i64, json_object_get_int64(t), INT64_MAX));
	json_object_put(env);
}
