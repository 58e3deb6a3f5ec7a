/* test_request.c: request line, query, headers and the JSON body of a request (lib/request.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_io.h"
#include "parse.h"
#include "problem.h"
#include "config.h"
#include "ctx.h"
#include "request.h"

static struct fake_io f;
static struct request req;
static struct fake_resp resp;

static void setup(void)
{
	fake_io_init(&f);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
}

/* Starts over within one test: frees the request, the parsed response and the output. */
static void again(void)
{
	request_cleanup(&req);
	fake_resp_free(&resp);
	fake_io_free(&f);
}

static void teardown(void)
{
	again();
}

TestSuite(request_init, .init = setup, .fini = teardown);
TestSuite(req_query, .init = setup, .fini = teardown);
TestSuite(req_header, .init = setup, .fini = teardown);
TestSuite(req_path, .init = setup, .fini = teardown);
TestSuite(json_body, .init = setup, .fini = teardown);

/* Parses what was written and checks it is the problem `status` with `code`. */
static void expect_problem(int status, const char *code)
{
	cr_assert(fake_resp_parse(&f, &resp), "response not well-formed: \"%s\"", f.out ? f.out : "");
	cr_assert(eq(int, resp.status, status), "body: %.*s", (int)resp.body_len, resp.body);
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Type"), "application/problem+json"));
	cr_assert(not(zero(ptr, resp.json)), "problem body is not JSON");
	struct json_object *c = NULL;
	cr_assert(json_object_object_get_ex(resp.json, "code", &c));
	cr_assert(eq(str, (char *)json_object_get_string(c), (char *)code));
	cr_assert(eq(int, req.status, status));
}

static void expect_nothing_written(void)
{
	cr_assert(eq(sz, f.out_len, 0), "unexpected output: %s", f.out);
	cr_assert(eq(int, req.status, 0));
}

/* --- request_init --------------------------------------------------------------- */

Test(request_init, method_path_and_id)
{
	fake_io_param(&f, "REQUEST_ID", "0123abcd");
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/api/v1/users?x=1"), 0));
	cr_assert(eq(str, (char *)req.method, "POST"));
	cr_assert(eq(str, req.path, "/api/v1/users"));
	cr_assert(eq(str, (char *)req.request_id, "0123abcd"));
	cr_assert(not(req.internal));
	cr_assert(zero(ptr, req.ctx));
	cr_assert(eq(sz, req.nquery, 1));
	expect_nothing_written();
}

Test(request_init, defaults_for_missing_method_and_id)
{
	cr_assert(eq(int, fake_request(&f, &req, NULL, "/"), 0));
	cr_assert(eq(str, (char *)req.method, "GET"));
	cr_assert(eq(str, (char *)req.request_id, "-"));
	cr_assert(eq(str, req.path, "/"));
}

Test(request_init, empty_request_id_is_dash)
{
	fake_io_param(&f, "REQUEST_ID", "");
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	cr_assert(eq(str, (char *)req.request_id, "-"));
}

Test(request_init, internal_listener_flag)
{
	fake_io_param(&f, "STORE_LISTENER", "internal");
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/internal/users/1"), 0));
	cr_assert(req.internal);
}

Test(request_init, other_listener_values_are_public)
{
	fake_io_param(&f, "STORE_LISTENER", "Internal");
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	cr_assert(not(req.internal));
	request_cleanup(&req);
	fake_io_param(&f, "STORE_LISTENER", "internal ");
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	cr_assert(not(req.internal));
}

Test(request_init, missing_uri_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", NULL), -1));
	expect_problem(400, "bad_request");
}

Test(request_init, relative_uri_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "api/v1/users"), -1));
	expect_problem(400, "bad_request");
}

Test(request_init, absolute_form_uri_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "http://evil.example/"), -1));
	expect_problem(400, "bad_request");
}

Test(request_init, path_of_2047_bytes_ok_2048_is_400)
{
	static char uri[2100];
	uri[0] = '/';
	memset(uri + 1, 'a', 2046);
	uri[2047] = '\0';
	cr_assert(eq(int, fake_request(&f, &req, "GET", uri), 0));
	cr_assert(eq(sz, strlen(req.path), 2047));
	request_cleanup(&req);

	uri[2047] = 'a';
	uri[2048] = '\0';
	cr_assert(eq(int, fake_request(&f, &req, "GET", uri), -1));
	expect_problem(400, "bad_request");
}

Test(request_init, path_is_not_decoded)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/a%2Fb/c%20d"), 0));
	cr_assert(eq(str, req.path, "/a%2Fb/c%20d"));
}

Test(request_init, bad_percent_in_query_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?q=%zz"), -1));
	expect_problem(400, "bad_query");
}

Test(request_init, truncated_percent_in_query_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?q=%4"), -1));
	expect_problem(400, "bad_query");
	again();
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?q=%"), -1));
	expect_problem(400, "bad_query");
}

Test(request_init, bad_percent_in_key_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?%zz=1"), -1));
	expect_problem(400, "bad_query");
}

Test(request_init, encoded_nul_in_query_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?q=a%00b"), -1));
	expect_problem(400, "bad_query");
}

Test(request_init, invalid_utf8_in_query_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?q=%C0%80"), -1));
	expect_problem(400, "bad_query");
	again();
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?%ED%A0%80=1"), -1));
	expect_problem(400, "bad_query");
}

Test(request_init, empty_key_is_400)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?=1"), -1));
	expect_problem(400, "bad_query");
	again();
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?a=1&=2"), -1));
	expect_problem(400, "bad_query");
}

static void many_params(char *uri, size_t n)
{
	strcpy(uri, "/x?");
	for (size_t i = 0; i < n; i++)
		sprintf(uri + strlen(uri), "%sp%zu=%zu", i ? "&" : "", i, i);
}

Test(request_init, thirty_two_params_ok)
{
	char uri[1024];
	many_params(uri, REQUEST_MAX_QUERY);
	cr_assert(eq(int, fake_request(&f, &req, "GET", uri), 0));
	cr_assert(eq(sz, req.nquery, 32));
	cr_assert(eq(str, (char *)req_query(&req, "p31"), "31"));
}

Test(request_init, thirty_three_params_is_400)
{
	char uri[1024];
	many_params(uri, REQUEST_MAX_QUERY + 1);
	cr_assert(eq(int, fake_request(&f, &req, "GET", uri), -1));
	expect_problem(400, "bad_query");
}

Test(request_init, empty_query_and_empty_pairs_ignored)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?"), 0));
	cr_assert(eq(sz, req.nquery, 0));
	cr_assert(eq(str, req.path, "/x"));
	request_cleanup(&req);
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?&&a=1&&"), 0));
	cr_assert(eq(sz, req.nquery, 1));
	cr_assert(eq(str, (char *)req_query(&req, "a"), "1"));
}

Test(request_init, query_decoding)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?a+b=c+d&e=%2B&flag&v=1=2&k="), 0));
	cr_assert(eq(str, (char *)req_query(&req, "a b"), "c d"));
	cr_assert(eq(str, (char *)req_query(&req, "e"), "+"));
	cr_assert(eq(str, (char *)req_query(&req, "flag"), ""));
	cr_assert(eq(str, (char *)req_query(&req, "v"), "1=2"));
	cr_assert(eq(str, (char *)req_query(&req, "k"), ""));
}

Test(request_init, second_question_mark_is_data)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?a=1?b=2"), 0));
	cr_assert(eq(str, req.path, "/x"));
	cr_assert(eq(str, (char *)req_query(&req, "a"), "1?b=2"));
}

/* --- req_query / req_query_allowed / req_query_i64 -------------------------------- */

Test(req_query, first_value_wins_unknown_is_null)
{
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?a=1&a=2"), 0));
	cr_assert(eq(str, (char *)req_query(&req, "a"), "1"));
	cr_assert(zero(ptr, (void *)req_query(&req, "b")));
	cr_assert(zero(ptr, (void *)req_query(&req, "A")));
}

Test(req_query, allowed_all_known)
{
	static const char *const allowed[] = {"limit", "offset", NULL};
	struct field_errors errs = {0};
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?limit=1&offset=2"), 0));
	cr_assert(req_query_allowed(&req, allowed, &errs));
	cr_assert(eq(sz, errs.n, 0));
}

Test(req_query, allowed_no_params)
{
	static const char *const allowed[] = {"limit", NULL};
	struct field_errors errs = {0};
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x"), 0));
	cr_assert(req_query_allowed(&req, allowed, &errs));
	cr_assert(req_query_allowed(&req, NULL, &errs));
	cr_assert(eq(sz, errs.n, 0));
}

Test(req_query, unknown_param_rejected_and_named)
{
	static const char *const allowed[] = {"limit", NULL};
	struct field_errors errs = {0};
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?limit=1&role=admin"), 0));
	cr_assert(not(req_query_allowed(&req, allowed, &errs)));
	cr_assert(eq(sz, errs.n, 1));
	cr_assert(eq(str, errs.items[0].field, "role"));
	cr_assert(eq(str, errs.items[0].message, "unknown query parameter"));
}

Test(req_query, null_allowed_list_rejects_every_param)
{
	struct field_errors errs = {0};
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?a=1&b=2"), 0));
	cr_assert(not(req_query_allowed(&req, NULL, &errs)));
	cr_assert(eq(sz, errs.n, 2));
}

Test(req_query, duplicate_param_rejected)
{
	static const char *const allowed[] = {"limit", "offset", NULL};
	struct field_errors errs = {0};
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?limit=1&offset=0&limit=100"), 0));
	cr_assert(not(req_query_allowed(&req, allowed, &errs)));
	cr_assert(eq(sz, errs.n, 1));
	cr_assert(eq(str, errs.items[0].field, "limit"));
	cr_assert(eq(str, errs.items[0].message, "query parameter given more than once"));
}

Test(req_query, duplicate_after_decoding_rejected)
{
	static const char *const allowed[] = {"limit", NULL};
	struct field_errors errs = {0};
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?limit=1&%6Cimit=2"), 0));
	cr_assert(not(req_query_allowed(&req, allowed, &errs)));
}

Test(req_query, i64_absent_gives_default)
{
	struct field_errors errs = {0};
	int64_t v = 0;
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x"), 0));
	cr_assert(req_query_i64(&req, "n", 1, 10, 7, &v, &errs));
	cr_assert(eq(i64, v, 7));
	cr_assert(eq(sz, errs.n, 0));
}

Test(req_query, i64_bounds)
{
	struct field_errors errs = {0};
	int64_t v = 0;
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?lo=1&hi=10&under=0&over=11"), 0));
	cr_assert(req_query_i64(&req, "lo", 1, 10, 5, &v, &errs));
	cr_assert(eq(i64, v, 1));
	cr_assert(req_query_i64(&req, "hi", 1, 10, 5, &v, &errs));
	cr_assert(eq(i64, v, 10));
	cr_assert(not(req_query_i64(&req, "under", 1, 10, 5, &v, &errs)));
	cr_assert(not(req_query_i64(&req, "over", 1, 10, 5, &v, &errs)));
	cr_assert(eq(sz, errs.n, 2));
	cr_assert(eq(str, errs.items[0].field, "under"));
	cr_assert(eq(str, errs.items[0].message, "must be an integer from 1 to 10"));
}

Test(req_query, i64_wrong_type_rejected)
{
	static const char *const bad[] = {"abc", "", "1.5", "+5", "05", "5x", "0x5", "99999999999999999999"};
	char uri[256];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct field_errors errs = {0};
		int64_t v = 42;
		snprintf(uri, sizeof(uri), "/x?n=%s", bad[i]);
		request_cleanup(&req);
		cr_assert(eq(int, fake_request(&f, &req, "GET", uri), 0), "%s", uri);
		cr_assert(not(req_query_i64(&req, "n", 0, INT64_MAX, 1, &v, &errs)), "accepted %s", uri);
		cr_assert(eq(sz, errs.n, 1));
	}
}

Test(req_query, i64_space_via_plus_or_escape_rejected)
{
	struct field_errors errs = {0};
	int64_t v = 0;
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?a=+5&b=%205&c=5%20"), 0));
	cr_assert(not(req_query_i64(&req, "a", 0, 10, 1, &v, &errs)));
	cr_assert(not(req_query_i64(&req, "b", 0, 10, 1, &v, &errs)));
	cr_assert(not(req_query_i64(&req, "c", 0, 10, 1, &v, &errs)));
}

/* --- req_header / req_param -------------------------------------------------------- */

Test(req_header, maps_names_to_cgi_params)
{
	fake_io_param(&f, "HTTP_IF_NONE_MATCH", "\"v1\"");
	fake_io_param(&f, "HTTP_AUTHORIZATION", "Bearer t");
	fake_io_param(&f, "HTTP_IDEMPOTENCY_KEY", "k-1");
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	cr_assert(eq(str, (char *)req_header(&req, "If-None-Match"), "\"v1\""));
	cr_assert(eq(str, (char *)req_header(&req, "if-none-match"), "\"v1\""));
	cr_assert(eq(str, (char *)req_header(&req, "Authorization"), "Bearer t"));
	cr_assert(eq(str, (char *)req_header(&req, "Idempotency-Key"), "k-1"));
	cr_assert(zero(ptr, (void *)req_header(&req, "X-Missing")));
}

Test(req_header, content_headers_have_no_http_prefix)
{
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_param(&f, "CONTENT_LENGTH", "12");
	fake_io_param(&f, "HTTP_CONTENT_TYPE", "text/evil");
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	cr_assert(eq(str, (char *)req_header(&req, "Content-Type"), "application/json"));
	cr_assert(eq(str, (char *)req_header(&req, "content-length"), "12"));
	cr_assert(eq(str, (char *)req_param(&req, "CONTENT_LENGTH"), "12"));
	cr_assert(zero(ptr, (void *)req_param(&req, "NOPE")));
}

Test(req_header, very_long_name_does_not_overflow)
{
	char name[400];
	memset(name, 'X', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	cr_assert(zero(ptr, (void *)req_header(&req, name)));
}

/* --- req_path_param / req_path_id ------------------------------------------------- */

static void set_path_param(const char *name, const char *value)
{
	struct path_param *p = &req.params[req.nparams++];
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->value, sizeof(p->value), "%s", value);
}

Test(req_path, id_edges)
{
	int64_t id = 0;
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	set_path_param("one", "1");
	set_path_param("max", "9007199254740991");
	set_path_param("zero", "0");
	set_path_param("neg", "-1");
	cr_assert(req_path_id(&req, "one", &id));
	cr_assert(eq(i64, id, 1));
	cr_assert(req_path_id(&req, "max", &id));
	cr_assert(eq(i64, id, ID_MAX));
	cr_assert(not(req_path_id(&req, "zero", &id)));
	cr_assert(not(req_path_id(&req, "neg", &id)));
	cr_assert(not(req_path_id(&req, "absent", &id)));
	cr_assert(eq(str, (char *)req_path_param(&req, "zero"), "0"));
	cr_assert(zero(ptr, (void *)req_path_param(&req, "absent")));
	req.nparams = 0;
	set_path_param("past", "9007199254740992");
	cr_assert(not(req_path_id(&req, "past", &id)), "ids stop at 2^53 - 1");
}

Test(req_path, id_junk_rejected)
{
	static const char *const bad[] = {"", "01", "1a", "1.0", " 1", "9223372036854775808", "+1"};
	int64_t id = 0;
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		req.nparams = 0;
		set_path_param("id", bad[i]);
		cr_assert(not(req_path_id(&req, "id", &id)), "accepted \"%s\"", bad[i]);
	}
}

/* --- req_json_body ------------------------------------------------------------------ */

static char cl[32];

/* A request with `body` and the given content type; CONTENT_LENGTH is the body length. */
static void json_request(const char *ctype, const char *body, size_t len)
{
	if (ctype)
		fake_io_param(&f, "CONTENT_TYPE", ctype);
	snprintf(cl, sizeof(cl), "%zu", len);
	fake_io_param(&f, "CONTENT_LENGTH", cl);
	fake_io_body(&f, body, len);
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/x"), 0));
}

#define JSON_REQUEST(ct, lit) json_request(ct, lit, sizeof(lit) - 1)

static void body_rejected(const char *body, size_t len, int status, const char *code)
{
	json_request("application/json", body, len);
	cr_assert(zero(ptr, req_json_body(&req, 0)), "accepted %.*s", (int)len, body);
	expect_problem(status, code);
}

#define BODY_REJECTED(lit, status, code) body_rejected(lit, sizeof(lit) - 1, status, code)

static struct json_object *body_accepted(const char *ctype, const char *body, size_t len)
{
	json_request(ctype, body, len);
	struct json_object *o = req_json_body(&req, 0);
	cr_assert(not(zero(ptr, o)), "rejected %.*s: %s", (int)len, body, f.out ? f.out : "");
	cr_assert(json_object_is_type(o, json_type_object));
	expect_nothing_written();
	return o;
}

Test(json_body, object_parsed)
{
	struct json_object *o = body_accepted("application/json", "{\"a\":1}", 7);
	struct json_object *a = NULL;
	cr_assert(json_object_object_get_ex(o, "a", &a));
	cr_assert(eq(int, json_object_get_int(a), 1));
	cr_assert(eq(ptr, o, req.json), "the request owns the object");
	cr_assert(eq(sz, req.body_len, 7));
}

Test(json_body, second_call_returns_same_object)
{
	struct json_object *o = body_accepted("application/json", "{}", 2);
	int reads = f.reads;
	cr_assert(eq(ptr, req_json_body(&req, 0), o));
	cr_assert(eq(int, f.reads, reads), "body read twice");
}

Test(json_body, no_content_type_is_415)
{
	JSON_REQUEST(NULL, "{}");
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(415, "unsupported_media_type");
}

Test(json_body, text_plain_is_415)
{
	JSON_REQUEST("text/plain", "{}");
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(415, "unsupported_media_type");
}

Test(json_body, lookalike_types_are_415)
{
	static const char *const bad[] = {"", "application/jsonp", "application/json-patch+json",
					  "application/x-www-form-urlencoded", "multipart/form-data", "json",
					  "application/problem+json"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		again();
		JSON_REQUEST(bad[i], "{}");
		cr_assert(zero(ptr, req_json_body(&req, 0)), "accepted Content-Type \"%s\"", bad[i]);
		expect_problem(415, "unsupported_media_type");
	}
}

Test(json_body, charset_parameter_ok)
{
	body_accepted("application/json; charset=utf-8", "{}", 2);
}

Test(json_body, content_type_case_insensitive)
{
	body_accepted("Application/JSON;charset=UTF-8", "{}", 2);
}

Test(json_body, too_large_is_413_without_reading)
{
	JSON_REQUEST("application/json", "{\"a\":\"0123456789\"}");
	cr_assert(zero(ptr, req_json_body(&req, 10)));
	expect_problem(413, "body_too_large");
	cr_assert(eq(int, f.reads, 0), "read a body that was already too large");
}

Test(json_body, exactly_max_ok_one_past_413)
{
	/* {"a":"xxxx"} is 12 bytes */
	json_request("application/json", "{\"a\":\"xxxx\"}", 12);
	cr_assert(not(zero(ptr, req_json_body(&req, 12))));
	request_cleanup(&req);
	fake_io_free(&f);
	json_request("application/json", "{\"a\":\"xxxx\"}", 12);
	cr_assert(zero(ptr, req_json_body(&req, 11)));
	expect_problem(413, "body_too_large");
}

Test(json_body, store_max_body_from_the_context_is_the_cap)
{
	struct store_config cfg = {.max_body = 12};
	struct ctx ctx = {.cfg = &cfg};
	struct request_io io;

	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_param(&f, "CONTENT_LENGTH", "13");
	fake_io_param(&f, "REQUEST_METHOD", "POST");
	fake_io_param(&f, "REQUEST_URI", "/x");
	io = fake_io_io(&f);
	cr_assert(eq(int, request_init(&req, &io, &ctx), 0));
	cr_assert(eq(sz, req.max_body, 12));
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(413, "body_too_large");
}

Test(json_body, route_cap_wins_over_store_max_body)
{
	struct store_config cfg = {.max_body = 1 << 20};
	struct ctx ctx = {.cfg = &cfg};
	struct request_io io;

	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_param(&f, "CONTENT_LENGTH", "100");
	fake_io_param(&f, "REQUEST_METHOD", "POST");
	fake_io_param(&f, "REQUEST_URI", "/x");
	io = fake_io_io(&f);
	cr_assert(eq(int, request_init(&req, &io, &ctx), 0));
	req.max_body = 50; /* what router_dispatch sets from route.max_body */
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(413, "body_too_large");
}

Test(json_body, default_cap_is_one_mib)
{
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_param(&f, "CONTENT_LENGTH", "1048577");
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/x"), 0));
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(413, "body_too_large");
}

Test(json_body, huge_content_length_is_413)
{
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_param(&f, "CONTENT_LENGTH", "9223372036854775807");
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/x"), 0));
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(413, "body_too_large");
}

Test(json_body, bad_content_length_is_400)
{
	static const char *const bad[] = {"abc", "-1", "+2", " 2", "2 ", "02", "99999999999999999999", "1e3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		again();
		fake_io_param(&f, "CONTENT_TYPE", "application/json");
		fake_io_param(&f, "CONTENT_LENGTH", bad[i]);
		fake_io_body(&f, "{}", 2);
		cr_assert(eq(int, fake_request(&f, &req, "POST", "/x"), 0));
		cr_assert(zero(ptr, req_json_body(&req, 0)), "accepted Content-Length \"%s\"", bad[i]);
		expect_problem(400, "bad_request");
	}
}

Test(json_body, empty_is_400)
{
	JSON_REQUEST("application/json", "");
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(400, "body_required");
}

Test(json_body, missing_content_length_is_400)
{
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_body(&f, "{}", 2);
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/x"), 0));
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(400, "body_required");
}

Test(json_body, short_body_is_400)
{
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_param(&f, "CONTENT_LENGTH", "10");
	fake_io_body(&f, "{}", 2);
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/x"), 0));
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(400, "bad_request");
}

Test(json_body, read_error_is_400)
{
	JSON_REQUEST("application/json", "{}");
	f.read_fails = true;
	cr_assert(zero(ptr, req_json_body(&req, 0)));
	expect_problem(400, "bad_request");
}

Test(json_body, body_longer_than_content_length_reads_only_length)
{
	/* Only CONTENT_LENGTH bytes belong to this request. */
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_param(&f, "CONTENT_LENGTH", "2");
	fake_io_body(&f, "{}garbage", 9);
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/x"), 0));
	cr_assert(not(zero(ptr, req_json_body(&req, 0))));
	cr_assert(eq(sz, f.body_pos, 2));
}

Test(json_body, one_byte_reads_assembled)
{
	static const char body[] = "{\"name\":\"caf\xc3\xa9\",\"n\":[1,2,3]}";
	json_request("application/json", body, sizeof(body) - 1);
	f.read_chunk = 1;
	struct json_object *o = req_json_body(&req, 0);
	cr_assert(not(zero(ptr, o)));
	cr_assert(eq(str, req.body, (char *)body));
	cr_assert(ge(int, f.reads, (int)sizeof(body) - 1));
}

Test(json_body, malformed_is_400)
{
	BODY_REJECTED("{", 400, "malformed_json");
	again();
	BODY_REJECTED("{\"a\":}", 400, "malformed_json");
	again();
	BODY_REJECTED("{\"a\":1,}", 400, "malformed_json");
	again();
	BODY_REJECTED("{a:1}", 400, "malformed_json");
	again();
	BODY_REJECTED("{\"a\":01}", 400, "malformed_json");
	again();
	BODY_REJECTED("{\"a\":True}", 400, "malformed_json");
}

Test(json_body, trailing_garbage_is_400)
{
	BODY_REJECTED("{}x", 400, "malformed_json");
}

Test(json_body, two_documents_is_400)
{
	BODY_REJECTED("{}{}", 400, "malformed_json");
	again();
	BODY_REJECTED("{} {}", 400, "malformed_json");
}

Test(json_body, nul_after_document_is_400)
{
	BODY_REJECTED("{}\0", 400, "malformed_json");
	again();
	BODY_REJECTED("{\"a\":1}\0{\"b\":2}", 400, "malformed_json");
}

Test(json_body, nul_inside_string_is_400)
{
	BODY_REJECTED("{\"a\":\"x\0y\"}", 400, "malformed_json");
}

Test(json_body, trailing_whitespace_ok)
{
	body_accepted("application/json", "{} \r\n\t", 6);
}

Test(json_body, leading_whitespace_ok)
{
	body_accepted("application/json", " \n{}", 4);
}

/* Builds `depth` nested objects {"a":{"a":...}} with `leaf` ("1" or "{}") innermost. */
static size_t nested(char *buf, int depth, bool scalar_leaf)
{
	char *p = buf;
	for (int i = 0; i < depth - 1; i++)
		p += sprintf(p, "{\"a\":");
	p += sprintf(p, scalar_leaf ? "{\"a\":1}" : "{}");
	for (int i = 0; i < depth - 1; i++)
		*p++ = '}';
	*p = '\0';
	return (size_t)(p - buf);
}

/* Builds {"a":[[[...]]]} with `depth` containers in all, with a number innermost when `scalar_leaf`. */
static size_t nested_arrays(char *buf, int depth, bool scalar_leaf)
{
	char *p = buf + sprintf(buf, "{\"a\":");
	for (int i = 0; i < depth - 1; i++)
		*p++ = '[';
	if (scalar_leaf)
		*p++ = '7';
	for (int i = 0; i < depth - 1; i++)
		*p++ = ']';
	*p++ = '}';
	*p = '\0';
	return (size_t)(p - buf);
}

/* Was rejected: json-c counts the value inside the innermost container as one more level,
 * so sixteen nested objects holding a number were "nested more than 16 levels deep". */
Test(json_body, depth_16_with_values_ok)
{
	char buf[256];
	size_t n = nested(buf, REQUEST_JSON_DEPTH, true);
	body_accepted("application/json", buf, n);
}

Test(json_body, depth_16_arrays_with_values_ok)
{
	char buf[256];
	size_t n = nested_arrays(buf, REQUEST_JSON_DEPTH, true);
	body_accepted("application/json", buf, n);
}

Test(json_body, depth_16_empty_innermost_ok)
{
	char buf[256];
	size_t n = nested(buf, REQUEST_JSON_DEPTH, false);
	body_accepted("application/json", buf, n);
}

Test(json_body, depth_17_is_400)
{
	char buf[256];
	size_t n = nested(buf, REQUEST_JSON_DEPTH + 1, true);
	body_rejected(buf, n, 400, "malformed_json");
}

Test(json_body, depth_17_empty_innermost_is_400)
{
	char buf[256];
	size_t n = nested(buf, REQUEST_JSON_DEPTH + 1, false);
	body_rejected(buf, n, 400, "malformed_json");
}

Test(json_body, depth_17_arrays_is_400)
{
	char buf[256];
	size_t n = nested_arrays(buf, REQUEST_JSON_DEPTH + 1, false);
	body_rejected(buf, n, 400, "malformed_json");
	again();
	n = nested_arrays(buf, REQUEST_JSON_DEPTH + 1, true);
	body_rejected(buf, n, 400, "malformed_json");
}

Test(json_body, very_deep_nesting_is_400_without_crash)
{
	static char buf[200002];
	memset(buf, '[', 100000);
	memset(buf + 100000, ']', 100000);
	body_rejected(buf, 200000, 400, "malformed_json");
}

Test(json_body, top_level_array_is_400)
{
	BODY_REJECTED("[]", 400, "malformed_json");
	again();
	BODY_REJECTED("[{\"a\":1}]", 400, "malformed_json");
}

Test(json_body, top_level_number_is_400)
{
	BODY_REJECTED("1", 400, "malformed_json");
	again();
	BODY_REJECTED("1 ", 400, "malformed_json");
}

Test(json_body, top_level_string_is_400)
{
	BODY_REJECTED("\"s\"", 400, "malformed_json");
}

Test(json_body, top_level_null_and_bool_are_400)
{
	BODY_REJECTED("null", 400, "malformed_json");
	again();
	BODY_REJECTED("true", 400, "malformed_json");
}

Test(json_body, invalid_utf8_is_400)
{
	BODY_REJECTED("{\"a\":\"\xff\"}", 400, "malformed_json");
	again();
	BODY_REJECTED("{\"\xc0\x80\":1}", 400, "malformed_json");
}

/* Was accepted: json-c's UTF-8 check lets overlongs, surrogates and code points above
 * U+10FFFF through, in keys and in values. */
Test(json_body, overlong_utf8_is_400)
{
	BODY_REJECTED("{\"a\":\"\xc0\x80\"}", 400, "malformed_json");
	again();
	BODY_REJECTED("{\"a\":\"\xe0\x80\xaf\"}", 400, "malformed_json");
}

Test(json_body, surrogate_utf8_is_400)
{
	BODY_REJECTED("{\"a\":\"\xed\xa0\x80\"}", 400, "malformed_json");
}

Test(json_body, above_u10ffff_is_400)
{
	BODY_REJECTED("{\"a\":\"\xf4\x90\x80\x80\"}", 400, "malformed_json");
}

Test(json_body, truncated_utf8_is_400)
{
	BODY_REJECTED("{\"a\":\"\xe2\x82\"}", 400, "malformed_json");
}

Test(json_body, escaped_lone_surrogate_is_400)
{
	/* RFC 8259 grammar allows "\ud800", but it names no character: json-c would store U+FFFD
	 * in its place, so the body would mean something the client did not send. */
	BODY_REJECTED("{\"a\":\"\\ud800\"}", 400, "malformed_json");
}

Test(json_body, escaped_reversed_surrogates_are_400)
{
	BODY_REJECTED("{\"a\":\"\\udc00\\ud800\"}", 400, "malformed_json");
}

Test(json_body, escaped_surrogate_pair_is_one_character)
{
	struct json_object *o = body_accepted("application/json", "{\"a\":\"\\ud83d\\ude00\"}", 20);
	struct json_object *a = NULL;
	cr_assert(json_object_object_get_ex(o, "a", &a));
	cr_assert(eq(str, (char *)json_object_get_string(a), "\xf0\x9f\x98\x80"));
}

Test(json_body, utf8_bom_is_400)
{
	BODY_REJECTED("\xef\xbb\xbf{}", 400, "malformed_json");
}

Test(json_body, cleanup_frees_everything)
{
	body_accepted("application/json", "{\"a\":[1,2,{\"b\":\"c\"}]}", 21);
	request_cleanup(&req);
	cr_assert(zero(ptr, req.json));
	cr_assert(zero(ptr, req.body));
	cr_assert(eq(sz, req.nquery, 0));
	request_cleanup(&req); /* twice is harmless */
}

/* --- req_query_only_ids ----------------------------------------------------------------- */

Test(query, only_ids_reads_the_list)
{
	int64_t ids[4];
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?ids=3,1,2"), 0));
	cr_assert(eq(long, req_query_only_ids(&req, "ids", ids, 4), 3));
	cr_assert(eq(i64, ids[0], 3));
	cr_assert(eq(i64, ids[2], 2));
	cr_assert(eq(int, req.status, 0), "nothing written on success");
}

Test(query, only_ids_refuses_other_parameters_and_bad_lists)
{
	int64_t ids[4];
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?ids=1&role=admin"), 0));
	cr_assert(eq(long, req_query_only_ids(&req, "ids", ids, 4), -1));
	expect_problem(422, "validation_failed");
}

Test(query, only_ids_refuses_more_than_cap)
{
	int64_t ids[2];
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x?ids=1,2,3"), 0));
	cr_assert(eq(long, req_query_only_ids(&req, "ids", ids, 2), -1));
	expect_problem(422, "validation_failed");
}

/* If-Match against an opaque tag (a product's ETag: 32 hex digits), as a PATCH evaluates it. */
Test(req_if_match, opaque_tags_strong_lists_star_and_malformed)
{
	const char *tag = "63b37e2410f3551175d6db6488867e67";
	cr_assert_eq(req_if_match_eval(NULL, tag), IF_MATCH_ABSENT);
	cr_assert_eq(req_if_match_eval("\"63b37e2410f3551175d6db6488867e67\"", tag), IF_MATCH_OK);
	cr_assert_eq(req_if_match_eval("\"old\", \"63b37e2410f3551175d6db6488867e67\"", tag), IF_MATCH_OK);
	cr_assert_eq(req_if_match_eval("\"old\",\t\"63b37e2410f3551175d6db6488867e67\"", tag), IF_MATCH_OK);
	cr_assert_eq(req_if_match_eval("*", tag), IF_MATCH_OK);
	cr_assert_eq(req_if_match_eval("\"63b37e2410f3551175d6db6488867e6\"", tag), IF_MATCH_FAILED, "a prefix");
	cr_assert_eq(req_if_match_eval("\"63b37e2410f3551175d6db6488867e67x\"", tag), IF_MATCH_FAILED, "longer");
	cr_assert_eq(req_if_match_eval("W/\"63b37e2410f3551175d6db6488867e67\"", tag), IF_MATCH_FAILED, "weak");
	cr_assert_eq(req_if_match_eval("63b37e2410f3551175d6db6488867e67", tag), IF_MATCH_MALFORMED, "unquoted");
	cr_assert_eq(req_if_match_eval("", tag), IF_MATCH_MALFORMED);
	cr_assert_eq(req_if_match_eval("\"a\" \"b\"", tag), IF_MATCH_MALFORMED, "no comma");
	cr_assert_eq(req_if_match_eval("*, \"a\"", tag), IF_MATCH_MALFORMED, "star in a list");
}
