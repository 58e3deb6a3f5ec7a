/* test_jobs.c: the job document: what jobs_build accepts and what jobs_valid refuses. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <string.h>

#include "jobs.h"

static struct json_object *data(void)
{
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "name", json_object_new_string("Ada"));
	json_object_object_add(d, "count", json_object_new_int(3));
	return d;
}

Test(jobs, built_job_is_valid_with_a_fresh_id)
{
	struct json_object *d = data(), *a = jobs_build("welcome", "ada@example.com", d, "rid-1"),
			   *b = jobs_build("welcome", "ada@example.com", d, "rid-1");
	char why[128];
	cr_assert_not_null(a);
	cr_assert(jobs_valid(a, why, sizeof(why)), "%s", why);
	const char *ida = json_object_get_string(json_object_object_get(a, "id"));
	const char *idb = json_object_get_string(json_object_object_get(b, "id"));
	cr_assert_eq(strlen(ida), JOBS_ID_LEN);
	cr_assert_str_neq(ida, idb);
	cr_assert_eq(json_object_get_int(json_object_object_get(a, "v")), JOBS_VERSION);
	json_object_put(a);
	json_object_put(b);
	json_object_put(d);
}

Test(jobs, bad_inputs_build_nothing)
{
	struct json_object *d = data(), *arr = json_object_new_array(), *nested = json_object_new_object();
	json_object_object_add(nested, "x", json_object_new_object());
	cr_assert_null(jobs_build("bogus", "a@example.com", d, "r"));
	cr_assert_null(jobs_build(NULL, "a@example.com", d, "r"));
	cr_assert_null(jobs_build("welcome", "no-at-sign", d, "r"));
	cr_assert_null(jobs_build("welcome", "a@example.com\r\nBcc: x@evil.com", d, "r"));
	cr_assert_null(jobs_build("welcome", "a@b@example.com", d, "r"));
	cr_assert_null(jobs_build("welcome", "a@example.com", arr, "r"));
	cr_assert_null(jobs_build("welcome", "a@example.com", nested, "r"));
	cr_assert_null(jobs_build("welcome", "a@example.com", d, NULL));
	json_object_put(d);
	json_object_put(arr);
	json_object_put(nested);
}

Test(jobs, every_type_is_known)
{
	const char *types[] = {"welcome",	   "password_changed", "order_placed",   "order_paid",
			       "order_shipped",	   "order_cancelled",  "order_refunded", "payment_failed",
			       "payment_refunded", "refund_issued",  "low_stock"};
	for (size_t i = 0; i < 11; i++)
		cr_assert(jobs_type_valid(types[i]), "%s", types[i]);
	cr_assert(!jobs_type_valid("Welcome"));
	cr_assert(!jobs_type_valid(""));
}

Test(jobs, malformed_documents_are_refused)
{
	const char *docs[] = {
		"[]",
		"{}",
		"{\"v\":2,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"welcome\",\"recipient\":\"a@example.com\","
		"\"data\":{},\"request_id\":\"r\",\"created_at\":\"t\"}",
		"{\"v\":1,\"id\":\"short\",\"type\":\"welcome\",\"recipient\":\"a@example.com\",\"data\":{},\"request_id\":\"r\","
		"\"created_at\":\"t\"}",
		/* 32 bytes, but not hex: the id ends up in a Message-ID header and a Redis key. */
		"{\"v\":1,\"id\":\"0123456789abcdef012345678>\\r\\nBcc:\",\"type\":\"welcome\",\"recipient\":\"a@example.com\","
		"\"data\":{},\"request_id\":\"r\",\"created_at\":\"t\"}",
		"{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"spam\",\"recipient\":\"a@example.com\","
		"\"data\":{},\"request_id\":\"r\",\"created_at\":\"t\"}",
		"{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"welcome\",\"recipient\":\"nobody\","
		"\"data\":{},\"request_id\":\"r\",\"created_at\":\"t\"}",
		"{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"welcome\",\"recipient\":\"a@example.com\","
		"\"data\":[],\"request_id\":\"r\",\"created_at\":\"t\"}",
		"{\"v\":1,\"id\":\"0123456789abcdef0123456789abcdef\",\"type\":\"welcome\",\"recipient\":\"a@example.com\","
		"\"data\":{},\"created_at\":\"t\"}",
	};
	char why[128];
	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct json_object *o = json_tokener_parse(docs[i]);
		cr_assert_not_null(o, "test document %zu is JSON", i);
		cr_assert(!jobs_valid(o, why, sizeof(why)), "document %zu accepted", i);
		cr_assert_gt(strlen(why), 0);
		json_object_put(o);
	}
}
