/* test_response.c: JSON responses and RFC 9457 problem details as written to the client (lib/response.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/redirect.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "fake_io.h"
#include "problem.h"
#include "request.h"
#include "response.h"

static struct fake_io f;
static struct request req;
static struct fake_resp resp;

static void setup(void)
{
	fake_io_init(&f);
	memset(&resp, 0, sizeof(resp));
	fake_io_param(&f, "REQUEST_ID", "req-42");
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/x"), 0));
}

static void teardown(void)
{
	request_cleanup(&req);
	fake_resp_free(&resp);
	fake_io_free(&f);
}

/* Stderr is captured so that the "second response dropped" log line can be checked. */
static void setup_quiet(void)
{
	cr_redirect_stderr();
	setup();
}

TestSuite(resp_json, .init = setup_quiet, .fini = teardown);
TestSuite(resp_problem, .init = setup_quiet, .fini = teardown);
TestSuite(resp_header, .init = setup_quiet, .fini = teardown);
TestSuite(resp_once, .init = setup_quiet, .fini = teardown);
TestSuite(problem, .init = setup_quiet, .fini = teardown);

static void parse_resp(void)
{
	cr_assert(fake_resp_parse(&f, &resp), "not a well-formed CGI response: \"%s\"", f.out ? f.out : "(nothing)");
}

/* Content-Length is present once and equals the body's byte count. */
static void length_matches(void)
{
	cr_assert(eq(sz, fake_resp_header_count(&resp, "Content-Length"), 1));
	char want[32];
	snprintf(want, sizeof(want), "%zu", resp.body_len);
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Length"), want));
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;
	cr_assert(json_object_object_get_ex(o, key, &v), "no \"%s\"", key);
	cr_assert(json_object_is_type(v, json_type_string), "\"%s\" is not a string", key);
	return json_object_get_string(v);
}

/* Checks the problem document: exactly the six members (plus errors when `with_errors`). */
static void problem_shape(int status, const char *code, bool with_errors)
{
	cr_assert(eq(int, resp.status, status));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Type"), "application/problem+json"));
	length_matches();
	cr_assert(not(zero(ptr, resp.json)), "problem body is not JSON: %.*s", (int)resp.body_len, resp.body);
	cr_assert(json_object_is_type(resp.json, json_type_object));

	static const char *const members[] = {"type", "title", "status", "detail", "code", "request_id", "errors"};
	size_t want = with_errors ? 7 : 6;
	cr_assert(eq(int, json_object_object_length(resp.json), (int)want), "members: %s",
		  json_object_to_json_string(resp.json));
	for (size_t i = 0; i < want; i++)
		cr_assert(json_object_object_get_ex(resp.json, members[i], NULL), "no \"%s\"", members[i]);

	char type[128];
	snprintf(type, sizeof(type), "urn:store:problem:%s", code);
	cr_assert(eq(str, (char *)jstr(resp.json, "type"), type));
	cr_assert(eq(str, (char *)jstr(resp.json, "title"), (char *)problem_title(status)));
	cr_assert(eq(str, (char *)jstr(resp.json, "code"), (char *)code));
	struct json_object *st = NULL;
	json_object_object_get_ex(resp.json, "status", &st);
	cr_assert(json_object_is_type(st, json_type_int));
	cr_assert(eq(int, json_object_get_int(st), status));
}

/* --- resp_json -------------------------------------------------------------------- */

Test(resp_json, status_line_type_and_length)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(7));
	json_object_object_add(o, "name", json_object_new_string("Mug"));
	resp_json(&req, 200, o);
	json_object_put(o);

	cr_assert(eq(int, strncmp(f.out, "Status: 200 OK\r\n", 16), 0), "%s", f.out);
	parse_resp();
	cr_assert(eq(int, resp.status, 200));
	cr_assert(eq(str, resp.reason, "OK"));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Type"), "application/json; charset=utf-8"));
	length_matches();
	cr_assert(eq(sz, resp.body_len, strlen("{\"id\":7,\"name\":\"Mug\"}")));
	cr_assert(eq(int, memcmp(resp.body, "{\"id\":7,\"name\":\"Mug\"}", resp.body_len), 0));
	cr_assert(eq(int, req.status, 200));
}

Test(resp_json, created_status)
{
	struct json_object *o = json_object_new_object();
	resp_json(&req, 201, o);
	json_object_put(o);
	parse_resp();
	cr_assert(eq(int, resp.status, 201));
	cr_assert(eq(str, resp.reason, "Created"));
	cr_assert(eq(sz, resp.body_len, 2));
}

Test(resp_json, length_counts_bytes_not_characters)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "s", json_object_new_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
	resp_json(&req, 200, o);
	json_object_put(o);
	parse_resp();
	length_matches();
	cr_assert(not(zero(ptr, resp.json)));
	cr_assert(eq(str, (char *)jstr(resp.json, "s"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
}

Test(resp_json, slashes_not_escaped_control_chars_escaped)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "url", json_object_new_string("/api/v1/x"));
	json_object_object_add(o, "t", json_object_new_string("a\r\nb\"</script>"));
	resp_json(&req, 200, o);
	json_object_put(o);
	parse_resp();
	cr_assert(not(zero(ptr, memmem(resp.body, resp.body_len, "\"/api/v1/x\"", 11))));
	cr_assert(zero(ptr, memchr(resp.body, '\n', resp.body_len)), "raw newline in body");
	cr_assert(eq(str, (char *)jstr(resp.json, "t"), "a\r\nb\"</script>"));
}

Test(resp_json, big_body_written_whole)
{
	struct json_object *arr = json_object_new_array();
	for (int i = 0; i < 20000; i++)
		json_object_array_add(arr, json_object_new_int(i));
	resp_json(&req, 200, arr);
	json_object_put(arr);
	parse_resp();
	length_matches();
	cr_assert(gt(sz, resp.body_len, 100000));
	cr_assert(eq(sz, json_object_array_length(resp.json), 20000));
}

Test(resp_json, partial_writes_assembled)
{
	f.write_chunk = 3;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "k", json_object_new_string("value"));
	resp_json(&req, 200, o);
	json_object_put(o);
	parse_resp();
	length_matches();
	cr_assert(eq(str, (char *)jstr(resp.json, "k"), "value"));
	cr_assert(gt(int, f.writes, 10));
}

Test(resp_json, failing_write_gives_up)
{
	f.write_fails = true;
	struct json_object *o = json_object_new_object();
	resp_json(&req, 200, o);
	json_object_put(o);
	/* One attempt for the head, and the body is not tried after the client went away... or
	 * at most one attempt each: never a loop. */
	cr_assert(le(int, f.writes, 2));
	cr_assert(eq(sz, f.out_len, 0));
}

Test(resp_json, raw_body_written_as_is)
{
	static const char body[] = "{\"cached\":true,\"n\":[1,2]}";
	resp_json_raw(&req, 200, body, sizeof(body) - 1);
	parse_resp();
	cr_assert(eq(int, resp.status, 200));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Type"), "application/json; charset=utf-8"));
	length_matches();
	cr_assert(eq(sz, resp.body_len, sizeof(body) - 1));
	cr_assert(eq(int, memcmp(resp.body, body, resp.body_len), 0));
}

Test(resp_json, raw_body_uses_len_not_nul)
{
	resp_json_raw(&req, 200, "{}garbage", 2);
	parse_resp();
	length_matches();
	cr_assert(eq(sz, resp.body_len, 2));
	cr_assert(eq(sz, fake_io_count(&f, "garbage"), 0));
}

Test(resp_json, empty_response_has_no_body_headers)
{
	resp_empty(&req, 204);
	parse_resp();
	cr_assert(eq(int, resp.status, 204));
	cr_assert(eq(str, resp.reason, "No Content"));
	cr_assert(eq(sz, resp.body_len, 0));
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "Content-Type")));
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "Content-Length")));
}

Test(resp_json, not_modified_keeps_extra_headers)
{
	resp_header(&req, "ETag", "\"v3\"");
	resp_empty(&req, 304);
	parse_resp();
	cr_assert(eq(int, resp.status, 304));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "ETag"), "\"v3\""));
	cr_assert(eq(sz, resp.body_len, 0));
}

/* --- resp_problem --------------------------------------------------------------------- */

Test(resp_problem, exact_members_and_content_type)
{
	resp_problem(&req, 404, "not_found", "No such product.");
	parse_resp();
	problem_shape(404, "not_found", false);
	cr_assert(eq(str, resp.reason, "Not Found"));
	cr_assert(eq(str, (char *)jstr(resp.json, "detail"), "No such product."));
	cr_assert(eq(str, (char *)jstr(resp.json, "request_id"), "req-42"));
}

/* A Location set for the answer a handler meant to give (201) does not travel with the server
 * error it gives instead (a read-back that failed): it names no created resource. The other
 * headers stay (Retry-After, Allow). */
Test(resp_problem, a_server_error_drops_a_location_set_before_it)
{
	resp_header(&req, "Location", "/api/v1/products/7");
	resp_header(&req, "X-Kept", "1");
	resp_unavailable(&req, "database");
	parse_resp();
	cr_assert(eq(int, resp.status, 503));
	cr_assert_null(fake_resp_header(&resp, "Location"));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "X-Kept"), "1"));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Retry-After"), "1"));
}

/* A 409 keeps its Location: it may name the resource it conflicts with (already_reviewed). */
Test(resp_problem, a_conflict_keeps_its_location)
{
	resp_header(&req, "Location", "/api/v1/reviews/9");
	resp_problem(&req, 409, "already_reviewed", "You have reviewed this product.");
	parse_resp();
	cr_assert(eq(int, resp.status, 409));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Location"), "/api/v1/reviews/9"));
}

Test(resp_problem, request_id_dash_when_absent)
{
	struct fake_io f2;
	struct request r2;
	fake_io_init(&f2);
	cr_assert(eq(int, fake_request(&f2, &r2, "GET", "/"), 0));
	resp_problem(&r2, 400, "bad_request", "x");
	struct fake_resp p2;
	cr_assert(fake_resp_parse(&f2, &p2));
	cr_assert(eq(str, (char *)jstr(p2.json, "request_id"), "-"));
	fake_resp_free(&p2);
	request_cleanup(&r2);
	fake_io_free(&f2);
}

Test(resp_problem, null_detail_is_title)
{
	resp_problem(&req, 409, "conflict", NULL);
	parse_resp();
	problem_shape(409, "conflict", false);
	cr_assert(eq(str, (char *)jstr(resp.json, "detail"), "Conflict"));
}

Test(resp_problem, hostile_detail_and_request_id_stay_json)
{
	struct fake_io f2;
	struct request r2;
	fake_io_init(&f2);
	fake_io_param(&f2, "REQUEST_ID", "\"},\"admin\":true,\"x\":\"\r\nSet-Cookie: a=b");
	cr_assert(eq(int, fake_request(&f2, &r2, "GET", "/"), 0));
	resp_problemf(&r2, 400, "bad_request", "bad value \"%s\"", "\"\n\\\x01");
	struct fake_resp p2;
	cr_assert(fake_resp_parse(&f2, &p2));
	cr_assert(not(zero(ptr, p2.json)));
	cr_assert(eq(int, json_object_object_length(p2.json), 6));
	cr_assert(eq(str, (char *)jstr(p2.json, "detail"), "bad value \"\"\n\\\x01\""));
	cr_assert(zero(ptr, (void *)fake_resp_header(&p2, "Set-Cookie")));
	fake_resp_free(&p2);
	request_cleanup(&r2);
	fake_io_free(&f2);
}

Test(resp_problem, printf_detail)
{
	resp_problemf(&req, 413, "body_too_large", "larger than %d bytes", 1024);
	parse_resp();
	problem_shape(413, "body_too_large", false);
	cr_assert(eq(str, resp.reason, "Content Too Large"));
	cr_assert(eq(str, (char *)jstr(resp.json, "detail"), "larger than 1024 bytes"));
}

Test(resp_problem, long_printf_detail_truncated_not_overflowed)
{
	static char big[4000];
	memset(big, 'x', sizeof(big) - 1);
	resp_problemf(&req, 400, "bad_request", "%s", big);
	parse_resp();
	problem_shape(400, "bad_request", false);
	cr_assert(lt(sz, strlen(jstr(resp.json, "detail")), 512));
}

Test(resp_problem, invalid_carries_errors)
{
	struct field_errors errs = {0};
	problem_add(&errs, "email", "is required");
	problem_add(&errs, "age", "must be an integer from %d to %d", 0, 150);
	resp_invalid(&req, &errs);
	parse_resp();
	problem_shape(422, "validation_failed", true);
	cr_assert(eq(str, resp.reason, "Unprocessable Content"));
	struct json_object *list = NULL;
	json_object_object_get_ex(resp.json, "errors", &list);
	cr_assert(json_object_is_type(list, json_type_array));
	cr_assert(eq(sz, json_object_array_length(list), 2));
	struct json_object *e0 = json_object_array_get_idx(list, 0), *e1 = json_object_array_get_idx(list, 1);
	cr_assert(eq(int, json_object_object_length(e0), 2));
	cr_assert(eq(str, (char *)jstr(e0, "field"), "email"));
	cr_assert(eq(str, (char *)jstr(e0, "message"), "is required"));
	cr_assert(eq(str, (char *)jstr(e1, "field"), "age"));
	cr_assert(eq(str, (char *)jstr(e1, "message"), "must be an integer from 0 to 150"));
}

Test(resp_problem, errors_bounded_at_sixteen)
{
	struct field_errors errs = {0};
	for (int i = 0; i < PROBLEM_MAX_ERRORS + 5; i++)
		problem_add(&errs, "f", "error %d", i);
	cr_assert(eq(sz, errs.n, PROBLEM_MAX_ERRORS));
	resp_invalid(&req, &errs);
	parse_resp();
	struct json_object *list = NULL;
	json_object_object_get_ex(resp.json, "errors", &list);
	cr_assert(eq(sz, json_object_array_length(list), PROBLEM_MAX_ERRORS));
}

Test(resp_problem, nested_errors_name_the_inner_field)
{
	struct field_errors inner = {0}, errs = {0};
	problem_add(&errs, "order_id", "is required");
	problem_add(&inner, "cvc", "must be a string");
	problem_add(&inner, "pin", "is not a known field");
	problem_add_nested(&errs, "card", &inner);
	cr_assert(eq(sz, errs.n, 3));
	cr_assert(eq(str, errs.items[1].field, "card.cvc"));
	cr_assert(eq(str, errs.items[1].message, "must be a string"));
	cr_assert(eq(str, errs.items[2].field, "card.pin"));
}

Test(resp_problem, no_errors_member_without_errors)
{
	struct field_errors errs = {0};
	resp_invalid(&req, &errs);
	parse_resp();
	problem_shape(422, "validation_failed", false);
}

Test(resp_problem, unavailable_has_retry_after)
{
	resp_unavailable(&req, "database");
	parse_resp();
	problem_shape(503, "unavailable", false);
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Retry-After"), "1"));
	cr_assert(not(zero(ptr, strstr(jstr(resp.json, "detail"), "database"))));
}

static void db_error(enum db_err err, int status, const char *code)
{
	struct db_conn db;
	memset(&db, 0, sizeof(db));
	db.err = err;
	snprintf(db.errstr, sizeof(db.errstr), "1062: Duplicate entry 'alice@example.com' for key 'SECRET_TABLE.email'");
	resp_db_error(&req, &db);
	parse_resp();
	problem_shape(status, code, false);
	cr_assert(eq(sz, fake_io_count(&f, "SECRET_TABLE"), 0), "database text leaked: %s", f.out);
	cr_assert(eq(sz, fake_io_count(&f, "alice@"), 0), "database text leaked: %s", f.out);
}

Test(resp_problem, db_duplicate_is_409_without_sql_text)
{
	db_error(DB_DUPLICATE, 409, "conflict");
}

Test(resp_problem, db_gone_is_503_with_retry_after)
{
	db_error(DB_GONE, 503, "unavailable");
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Retry-After"), "1"));
}

Test(resp_problem, db_error_is_500)
{
	db_error(DB_ERROR, 500, "internal");
}

Test(resp_problem, problem_object_with_extra_member)
{
	struct json_object *o = problem_new(409, "out_of_stock", "Not enough stock.", req.request_id, NULL);
	struct json_object *items = json_object_new_array();
	json_object_array_add(items, json_object_new_int(7));
	json_object_object_add(o, "items", items);
	resp_problem_obj(&req, o);
	parse_resp();
	cr_assert(eq(int, resp.status, 409));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Type"), "application/problem+json"));
	length_matches();
	cr_assert(eq(str, (char *)jstr(resp.json, "code"), "out_of_stock"));
	cr_assert(eq(str, (char *)jstr(resp.json, "request_id"), "req-42"));
	cr_assert(json_object_object_get_ex(resp.json, "items", NULL));
	cr_assert(eq(int, json_object_put(o), 1), "resp_problem_obj took no reference");
}

Test(resp_problem, problem_object_without_status_is_500)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "code", json_object_new_string("x"));
	resp_problem_obj(&req, o);
	json_object_put(o);
	parse_resp();
	cr_assert(eq(int, resp.status, 500));
}

/* --- problem_new / problem_title ------------------------------------------------------- */

Test(problem, new_owned_by_caller_with_defaults)
{
	struct json_object *o = problem_new(418, "teapot", NULL, NULL, NULL);
	cr_assert(eq(str, (char *)jstr(o, "title"), "Error"));
	cr_assert(eq(str, (char *)jstr(o, "detail"), "Error"));
	cr_assert(eq(str, (char *)jstr(o, "request_id"), "-"));
	cr_assert(eq(str, (char *)jstr(o, "type"), "urn:store:problem:teapot"));
	cr_assert(eq(int, json_object_object_length(o), 6));
	cr_assert(eq(int, json_object_put(o), 1), "caller held the only reference");
}

Test(problem, titles)
{
	cr_assert(eq(str, (char *)problem_title(200), "OK"));
	cr_assert(eq(str, (char *)problem_title(402), "Payment Required"));
	cr_assert(eq(str, (char *)problem_title(405), "Method Not Allowed"));
	cr_assert(eq(str, (char *)problem_title(415), "Unsupported Media Type"));
	cr_assert(eq(str, (char *)problem_title(429), "Too Many Requests"));
	cr_assert(eq(str, (char *)problem_title(503), "Service Unavailable"));
	cr_assert(eq(str, (char *)problem_title(0), "Error"));
	cr_assert(eq(str, (char *)problem_title(-1), "Error"));
	cr_assert(eq(str, (char *)problem_title(999), "Error"));
}

Test(problem, unknown_status_line)
{
	resp_problem(&req, 418, "teapot", "short and stout");
	parse_resp();
	cr_assert(eq(int, resp.status, 418));
	cr_assert(eq(str, resp.reason, "Error"));
}

Test(problem, add_truncates_long_field_and_message)
{
	struct field_errors errs = {0};
	char longname[200];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	problem_add(&errs, longname, "%s", longname);
	problem_add(&errs, NULL, "no field");
	problem_add(NULL, "x", "ignored");
	cr_assert(eq(sz, errs.n, 2));
	cr_assert(eq(sz, strlen(errs.items[0].field), sizeof(errs.items[0].field) - 1));
	cr_assert(eq(sz, strlen(errs.items[0].message), sizeof(errs.items[0].message) - 1));
	cr_assert(eq(str, errs.items[1].field, ""));
}

/* --- resp_header: injection and bounds ------------------------------------------------- */

Test(resp_header, added_after_content_headers)
{
	resp_header(&req, "Location", "/api/v1/products/7");
	resp_header(&req, "ETag", "\"abc\"");
	struct json_object *o = json_object_new_object();
	resp_json(&req, 201, o);
	json_object_put(o);
	parse_resp();
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Location"), "/api/v1/products/7"));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "ETag"), "\"abc\""));
	length_matches();
}

Test(resp_header, crlf_in_value_dropped)
{
	resp_header(&req, "Location", "/x\r\nSet-Cookie: session=evil");
	resp_header(&req, "X-Ok", "1");
	resp_problem(&req, 404, "not_found", "x");
	parse_resp();
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "Set-Cookie")));
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "Location")), "the whole header is dropped");
	cr_assert(eq(sz, fake_io_count(&f, "evil"), 0), "%s", f.out);
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "X-Ok"), "1"), "a later good header is kept");
	problem_shape(404, "not_found", false);
}

Test(resp_header, bare_lf_or_cr_in_value_dropped)
{
	resp_header(&req, "X-A", "a\nInjected: 1");
	resp_header(&req, "X-B", "b\rInjected: 2");
	resp_empty(&req, 204);
	parse_resp();
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "X-A")));
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "X-B")));
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "Injected")));
	cr_assert(eq(sz, fake_io_count(&f, "Injected"), 0));
}

Test(resp_header, past_one_kib_dropped_earlier_kept)
{
	char value[200];
	memset(value, 'v', sizeof(value) - 1);
	value[sizeof(value) - 1] = '\0';
	for (int i = 0; i < 10; i++) {
		char name[16];
		snprintf(name, sizeof(name), "X-H%d", i);
		resp_header(&req, name, value);
	}
	cr_assert(le(sz, req.headers_len, sizeof(req.headers) - 1));
	cr_assert(eq(sz, strlen(req.headers), req.headers_len));
	resp_empty(&req, 204);
	parse_resp();
	cr_assert(not(zero(ptr, (void *)fake_resp_header(&resp, "X-H0"))));
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "X-H9")));
	for (size_t i = 0; i < resp.nheaders; i++)
		cr_assert(eq(sz, strlen(resp.values[i]), 199), "header %s cut short", resp.names[i]);
}

/* --- one response per request --------------------------------------------------------- */

Test(resp_once, second_response_dropped_and_logged)
{
	struct json_object *o = json_object_new_object();
	resp_json(&req, 200, o);
	json_object_put(o);
	size_t len = f.out_len;
	resp_problem(&req, 500, "internal", "late");
	resp_empty(&req, 204);
	cr_assert(eq(sz, f.out_len, len), "a second response was written");
	cr_assert(eq(sz, fake_io_count(&f, "Status: "), 1));
	cr_assert(eq(int, req.status, 200));
	parse_resp();
	cr_assert(eq(int, resp.status, 200));

	fflush(stderr);
	char log[2048] = "";
	size_t n = fread(log, 1, sizeof(log) - 1, cr_get_redirected_stderr());
	log[n] = '\0';
	cr_assert(not(zero(ptr, strstr(log, "second response"))), "not logged: %s", log);
}

Test(resp_once, problem_after_problem_dropped)
{
	resp_problem(&req, 404, "not_found", "first");
	resp_problem(&req, 400, "bad_request", "second");
	parse_resp();
	cr_assert(eq(int, resp.status, 404));
	cr_assert(eq(str, (char *)jstr(resp.json, "detail"), "first"));
}

/* If-None-Match lists may separate their tags with tabs as well as spaces (RFC 9110 OWS). */
Test(resp_etag, if_none_match_lists_with_spaces_tabs_weak_and_star)
{
	const char *etag = "\"abc\"";
	cr_assert(resp_etag_matches("\"abc\"", etag));
	cr_assert(resp_etag_matches("\"x\", \"abc\"", etag));
	cr_assert(resp_etag_matches("\"x\",\t\"abc\"", etag));
	cr_assert(resp_etag_matches("\"abc\"\t, \"x\"", etag));
	cr_assert(resp_etag_matches("W/\"abc\"", etag), "If-None-Match compares weakly");
	cr_assert(resp_etag_matches("*", etag));
	cr_assert_not(resp_etag_matches("\"abcd\"", etag));
	cr_assert_not(resp_etag_matches("\"ab\"", etag));
	cr_assert_not(resp_etag_matches(NULL, etag));
}
