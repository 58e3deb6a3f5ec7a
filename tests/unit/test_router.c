/* test_router.c: route matching, captures, 404/405 with Allow, roles, the authorize hook, declared query
 * parameters and bodiless routes (lib/router.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/redirect.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fake_io.h"
#include "request.h"
#include "response.h"
#include "router.h"

/* What the handlers and the authorize hook saw. */
static const char *called;
static int calls;
static int auth_calls;
static enum role auth_role;
static char auth_saw_id[256];
static int auth_answer; /* 0 allow, 401 or 403 refuse */

static void handled(struct request *req, const char *name)
{
	called = name;
	calls++;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "handler", json_object_new_string(name));
	resp_json(req, 200, o);
	json_object_put(o);
}

static void h_root(struct request *req) { handled(req, "root"); }
static void h_health(struct request *req) { handled(req, "health"); }
static void h_list(struct request *req) { handled(req, "list"); }
static void h_create(struct request *req) { handled(req, "create"); }
static void h_get(struct request *req) { handled(req, "get"); }
static void h_put(struct request *req) { handled(req, "put"); }
static void h_delete(struct request *req) { handled(req, "delete"); }
static void h_review(struct request *req) { handled(req, "review"); }
static void h_me(struct request *req) { handled(req, "me"); }
static void h_user(struct request *req) { handled(req, "user"); }
static void h_tag(struct request *req) { handled(req, "tag"); }
static void h_internal(struct request *req) { handled(req, "internal"); }
static void h_things(struct request *req) { handled(req, "things"); }
static void h_things_post(struct request *req) { handled(req, "things_post"); }
static void h_dup_x(struct request *req) { handled(req, "dup_x"); }
static void h_dup_y(struct request *req) { handled(req, "dup_y"); }
static void h_dup_patch(struct request *req) { handled(req, "dup_patch"); }

static const struct route routes[] = {
	{"GET", "/", h_root, ROLE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/health", h_health, ROLE_PUBLIC, 0, "verbose"},
	{"GET", "/api/v1/products", h_list, ROLE_PUBLIC, 0, "limit offset q"},
	{"POST", "/api/v1/products", h_create, ROLE_ADMIN, 0, NULL},
	{"GET", "/api/v1/products/{id}", h_get, ROLE_PUBLIC, 0, NULL},
	{"PUT", "/api/v1/products/{id}", h_put, ROLE_ADMIN, 0, NULL},
	{"POST", "/api/v1/products/{id}/ping", h_put, ROLE_ADMIN, ROUTE_NO_BODY, NULL},
	{"DELETE", "/api/v1/products/{id}", h_delete, ROLE_ADMIN, 0, NULL},
	{"GET", "/api/v1/products/{product_id}/reviews/{review_id}", h_review, ROLE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/users/me", h_me, ROLE_CUSTOMER, 0, NULL},
	{"GET", "/api/v1/users/{id}", h_user, ROLE_ADMIN, 0, NULL},
	{"GET", "/api/v1/tags/{name}", h_tag, ROLE_PUBLIC, 0, NULL},
	{"GET", "/internal/users/{id}", h_internal, ROLE_INTERNAL, 0, NULL},
	{"GET", "/api/v1/things", h_things, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/things", h_things_post, ROLE_INTERNAL, 0, NULL},
	{"GET", "/api/v1/dup/{x}", h_dup_x, ROLE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/dup/{y}", h_dup_y, ROLE_PUBLIC, 0, NULL},
	{"PATCH", "/api/v1/dup/{x}", h_dup_patch, ROLE_PUBLIC, 0, NULL},
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static int authorize(struct request *req, enum role role)
{
	auth_calls++;
	auth_role = role;
	const char *id = req_path_param(req, "id");
	snprintf(auth_saw_id, sizeof(auth_saw_id), "%s", id ? id : "");
	if (auth_answer == 401) {
		resp_problem(req, 401, "unauthorized", "A valid access token is required.");
		return -1;
	}
	if (auth_answer == 403) {
		resp_problem(req, 403, "forbidden", "Not allowed.");
		return -1;
	}
	req->user_id = 5;
	req->role = (int)role;
	return 0;
}

static struct fake_io f;
static struct request req;
static struct fake_resp resp;

static router_authorizer cur_authorize;

static void setup(void)
{
	cr_redirect_stderr(); /* the no-authoriser case logs an error */
	fake_io_init(&f);
	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	called = NULL;
	calls = auth_calls = auth_answer = 0;
	auth_role = ROLE_PUBLIC;
	auth_saw_id[0] = '\0';
	cur_authorize = authorize;
}

static void teardown(void)
{
	request_cleanup(&req);
	fake_resp_free(&resp);
	fake_io_free(&f);
}

TestSuite(match, .init = setup, .fini = teardown);
TestSuite(not_found, .init = setup, .fini = teardown);
TestSuite(not_allowed, .init = setup, .fini = teardown);
TestSuite(roles, .init = setup, .fini = teardown);
TestSuite(router_match, .init = setup, .fini = teardown);

/* Runs `method uri` through router_dispatch (on the internal listener when `internal`). */
static void dispatch(const char *method, const char *uri, bool internal)
{
	if (internal)
		fake_io_param(&f, "STORE_LISTENER", "internal");
	cr_assert(eq(int, fake_request(&f, &req, method, uri), 0), "request_init refused %s", uri);
	router_dispatch(routes, NROUTES, cur_authorize, &req);
	cr_assert(fake_resp_parse(&f, &resp), "no well-formed response for %s %s: %s", method, uri,
		  f.out ? f.out : "(nothing)");
}

static void expect_handler(const char *method, const char *uri, const char *name)
{
	dispatch(method, uri, false);
	cr_assert(eq(int, resp.status, 200), "%s %s: %.*s", method, uri, (int)resp.body_len, resp.body);
	cr_assert(eq(str, (char *)called, (char *)name), "%s %s", method, uri);
	cr_assert(eq(int, calls, 1));
}

static const char *problem_code(void)
{
	struct json_object *c = NULL;
	cr_assert(not(zero(ptr, resp.json)));
	cr_assert(json_object_object_get_ex(resp.json, "code", &c));
	return json_object_get_string(c);
}

static void expect_404(const char *method, const char *uri, bool internal)
{
	dispatch(method, uri, internal);
	cr_assert(eq(int, resp.status, 404), "%s %s answered %d", method, uri, resp.status);
	cr_assert(eq(str, (char *)problem_code(), "not_found"));
	cr_assert(zero(ptr, (void *)called), "%s %s ran handler %s", method, uri, called);
	cr_assert(eq(int, auth_calls, 0), "authorize ran for a 404");
	cr_assert(zero(ptr, (void *)fake_resp_header(&resp, "Allow")));
}

/* Dispatches each uri in a fresh request and expects 404. */
static void expect_404s(const char *const *uris, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		teardown();
		fake_io_init(&f);
		expect_404("GET", uris[i], false);
	}
}

static void expect_405(const char *method, const char *uri, bool internal, const char *allow)
{
	dispatch(method, uri, internal);
	cr_assert(eq(int, resp.status, 405), "%s %s answered %d", method, uri, resp.status);
	cr_assert(eq(str, (char *)problem_code(), "method_not_allowed"));
	cr_assert(eq(sz, fake_resp_header_count(&resp, "Allow"), 1));
	cr_assert(eq(str, (char *)fake_resp_header(&resp, "Allow"), (char *)allow));
	cr_assert(zero(ptr, (void *)called));
	cr_assert(eq(int, auth_calls, 0));
}

/* --- matching ------------------------------------------------------------------------ */

Test(match, literal)
{
	expect_handler("GET", "/api/v1/health", "health");
	cr_assert(eq(sz, req.nparams, 0));
}

Test(match, root)
{
	expect_handler("GET", "/", "root");
}

Test(match, query_does_not_affect_path)
{
	expect_handler("GET", "/api/v1/health?verbose=1", "health");
}

Test(match, id_capture)
{
	int64_t id = 0;
	expect_handler("GET", "/api/v1/products/42", "get");
	cr_assert(eq(sz, req.nparams, 1));
	cr_assert(eq(str, (char *)req_path_param(&req, "id"), "42"));
	cr_assert(req_path_id(&req, "id", &id));
	cr_assert(eq(i64, id, 42));
}

Test(match, id_capture_percent_decoded)
{
	expect_handler("GET", "/api/v1/products/%34%32", "get");
	cr_assert(eq(str, (char *)req_path_param(&req, "id"), "42"));
}

Test(match, id_of_2_pow_53_minus_1)
{
	int64_t id = 0;
	expect_handler("GET", "/api/v1/products/9007199254740991", "get");
	cr_assert(req_path_id(&req, "id", &id));
	cr_assert(eq(i64, id, 9007199254740991));
}

Test(match, two_captures)
{
	expect_handler("GET", "/api/v1/products/7/reviews/9", "review");
	cr_assert(eq(sz, req.nparams, 2));
	cr_assert(eq(str, (char *)req_path_param(&req, "product_id"), "7"));
	cr_assert(eq(str, (char *)req_path_param(&req, "review_id"), "9"));
}

Test(match, text_capture_percent_decoded)
{
	expect_handler("GET", "/api/v1/tags/caf%C3%A9%20au%20lait", "tag");
	cr_assert(eq(str, (char *)req_path_param(&req, "name"), "caf\xc3\xa9 au lait"));
}

Test(match, plus_in_path_is_not_space)
{
	expect_handler("GET", "/api/v1/tags/a+b", "tag");
	cr_assert(eq(str, (char *)req_path_param(&req, "name"), "a+b"));
}

Test(match, encoded_slash_stays_in_one_segment)
{
	expect_handler("GET", "/api/v1/tags/a%2Fb", "tag");
	cr_assert(eq(str, (char *)req_path_param(&req, "name"), "a/b"));
}

Test(match, literal_sibling_wins_over_id)
{
	expect_handler("GET", "/api/v1/users/me", "me");
	cr_assert(eq(int, auth_calls, 1));
}

Test(match, capture_of_255_bytes)
{
	char uri[400];
	int n = snprintf(uri, sizeof(uri), "/api/v1/tags/");
	memset(uri + n, 't', 255);
	uri[n + 255] = '\0';
	expect_handler("GET", uri, "tag");
	cr_assert(eq(sz, strlen(req_path_param(&req, "name")), 255));
}

/* --- 404 -------------------------------------------------------------------------------- */

Test(not_found, unknown_path)
{
	expect_404("GET", "/api/v1/nothing", false);
}

Test(not_found, trailing_slash)
{
	static const char *const uris[] = {"/api/v1/health/", "/api/v1/products/42/", "/api/v1/products/"};
	expect_404s(uris, sizeof(uris) / sizeof(uris[0]));
}

Test(not_found, empty_segment)
{
	static const char *const uris[] = {"/api/v1//health", "//api/v1/health", "/api//v1/products/1",
					   "/api/v1/products//", "/api/v1/products//7/reviews/9", "//"};
	expect_404s(uris, sizeof(uris) / sizeof(uris[0]));
}

Test(not_found, prefix_and_suffix)
{
	static const char *const uris[] = {"/api/v1/healthz", "/api/v1/health/x", "/api/v1", "/api/v1/heal",
					   "/api/v1/products/1/reviews", "/api/v1/products/1/reviews/2/x"};
	expect_404s(uris, sizeof(uris) / sizeof(uris[0]));
}

Test(not_found, literals_are_exact)
{
	/* Literal segments are compared raw: no case folding, no decoding. */
	static const char *const uris[] = {"/API/v1/health", "/api/v1/Health", "/api/v1/%68ealth", "/api/v1/health%2F",
					   "/api/v1/./health", "/api/v1/x/../health"};
	expect_404s(uris, sizeof(uris) / sizeof(uris[0]));
}

Test(not_found, id_capture_not_digits)
{
	static const char *const uris[] = {"/api/v1/products/abc", "/api/v1/products/-1", "/api/v1/products/1.0",
					   "/api/v1/products/+1", "/api/v1/products/%201", "/api/v1/products/1e3",
					   "/api/v1/products/12345678901234567890"};
	expect_404s(uris, sizeof(uris) / sizeof(uris[0]));
}

/* Ids stop at 2^53 - 1 so that JavaScript clients never round one; a leading zero is another
 * spelling of an id, so it is no id at all. */
Test(not_found, id_past_2_pow_53_minus_1_or_zero_padded)
{
	static const char *const uris[] = {"/api/v1/products/9007199254740992", "/api/v1/products/9223372036854775807",
					   "/api/v1/products/0", "/api/v1/products/042",
					   "/api/v1/products/7/reviews/9007199254740992"};
	expect_404s(uris, sizeof(uris) / sizeof(uris[0]));
}

Test(not_found, bad_escape_in_capture)
{
	static const char *const uris[] = {"/api/v1/tags/%zz", "/api/v1/tags/%", "/api/v1/tags/a%4",
					   "/api/v1/tags/a%00b", "/api/v1/tags/%C0%80", "/api/v1/tags/%ED%A0%80"};
	expect_404s(uris, sizeof(uris) / sizeof(uris[0]));
}

Test(not_found, capture_of_256_bytes)
{
	char uri[400];
	int n = snprintf(uri, sizeof(uri), "/api/v1/tags/");
	memset(uri + n, 't', 256);
	uri[n + 256] = '\0';
	expect_404("GET", uri, false);
}

Test(not_found, capture_decoding_past_255_bytes)
{
	/* 256 escapes decode to 256 bytes of "a": one past what the capture holds. */
	char uri[1024];
	int n = snprintf(uri, sizeof(uri), "/api/v1/tags/");
	for (int i = 0; i < 256; i++)
		n += snprintf(uri + n, sizeof(uri) - (size_t)n, "%%61");
	expect_404("GET", uri, false);
}

/* --- 405 -------------------------------------------------------------------------------- */

Test(not_allowed, collection)
{
	expect_405("DELETE", "/api/v1/products", false, "GET, HEAD, POST");
}

Test(not_allowed, item_lists_each_method)
{
	expect_405("PATCH", "/api/v1/products/42", false, "GET, HEAD, PUT, DELETE");
}

Test(not_allowed, each_method_once)
{
	/* Two GET routes match /api/v1/dup/1; Allow names GET once. */
	expect_405("DELETE", "/api/v1/dup/1", false, "GET, HEAD, PATCH");
}

Test(not_allowed, methods_are_case_sensitive)
{
	expect_405("get", "/api/v1/health", false, "GET, HEAD");
}

Test(route, head_runs_the_get_handler)
{
	/* NGINX drops the body of a HEAD answer; the service answers it like GET. */
	expect_handler("HEAD", "/api/v1/health", "health");
}

Test(not_allowed, problem_body_names_method)
{
	expect_405("POST", "/api/v1/health", false, "GET, HEAD");
	struct json_object *d = NULL;
	json_object_object_get_ex(resp.json, "detail", &d);
	cr_assert(not(zero(ptr, strstr(json_object_get_string(d), "POST"))));
	cr_assert(eq(int, json_object_object_length(resp.json), 6));
}

Test(not_allowed, first_matching_route_of_method_wins)
{
	expect_handler("GET", "/api/v1/dup/1", "dup_x");
	cr_assert(eq(str, (char *)req_path_param(&req, "x"), "1"));
	cr_assert(zero(ptr, (void *)req_path_param(&req, "y")));
}

/* --- roles ------------------------------------------------------------------------------ */

Test(roles, internal_route_invisible_on_public_listener)
{
	expect_404("GET", "/internal/users/1", false);
}

Test(roles, internal_method_not_revealed_in_allow)
{
	/* POST /api/v1/things exists only internally: the public listener sees just GET. */
	expect_405("POST", "/api/v1/things", false, "GET, HEAD");
}

Test(roles, internal_route_runs_on_internal_listener_without_authorize)
{
	dispatch("GET", "/internal/users/3", true);
	cr_assert(eq(int, resp.status, 200));
	cr_assert(eq(str, (char *)called, "internal"));
	cr_assert(eq(int, auth_calls, 0));
	cr_assert(eq(str, (char *)req_path_param(&req, "id"), "3"));
}

Test(roles, internal_listener_sees_public_routes_too)
{
	dispatch("GET", "/api/v1/health", true);
	cr_assert(eq(str, (char *)called, "health"));
	teardown();
	fake_io_init(&f);
	called = NULL;
	dispatch("POST", "/api/v1/things", true);
	cr_assert(eq(str, (char *)called, "things_post"));
}

Test(roles, public_route_never_authorizes)
{
	expect_handler("GET", "/api/v1/products/1", "get");
	cr_assert(eq(int, auth_calls, 0));
}

Test(roles, customer_route_calls_hook_with_role)
{
	expect_handler("GET", "/api/v1/users/me", "me");
	cr_assert(eq(int, auth_calls, 1));
	cr_assert(eq(int, auth_role, ROLE_CUSTOMER));
	cr_assert(eq(i64, req.user_id, 5));
}

Test(roles, admin_route_calls_hook_with_role_after_capture)
{
	expect_handler("DELETE", "/api/v1/products/77", "delete");
	cr_assert(eq(int, auth_calls, 1));
	cr_assert(eq(int, auth_role, ROLE_ADMIN));
	cr_assert(eq(str, auth_saw_id, "77"), "the hook runs after the path was captured");
}

Test(roles, refusal_401_stops_handler)
{
	auth_answer = 401;
	dispatch("POST", "/api/v1/products", false);
	cr_assert(eq(int, auth_calls, 1));
	cr_assert(eq(int, auth_role, ROLE_ADMIN));
	cr_assert(zero(ptr, (void *)called), "handler ran after refusal");
	cr_assert(eq(int, resp.status, 401));
	cr_assert(eq(sz, fake_io_count(&f, "Status: "), 1));
}

Test(roles, refusal_403_stops_handler)
{
	auth_answer = 403;
	dispatch("GET", "/api/v1/users/me", false);
	cr_assert(zero(ptr, (void *)called));
	cr_assert(eq(int, resp.status, 403));
}

Test(roles, no_authorizer_is_500_not_open)
{
	cur_authorize = NULL;
	dispatch("DELETE", "/api/v1/products/1", false);
	cr_assert(zero(ptr, (void *)called), "an admin route ran with no authoriser");
	cr_assert(eq(int, resp.status, 500));
	cr_assert(eq(str, (char *)problem_code(), "internal"));
}

Test(roles, no_authorizer_public_route_still_works)
{
	cur_authorize = NULL;
	expect_handler("GET", "/api/v1/health", "health");
}

/* --- router_match directly ------------------------------------------------------------- */

Test(router_match, returns_route_and_params)
{
	char allow[64] = "junk";
	int status = 0;
	cr_assert(eq(int, fake_request(&f, &req, "PUT", "/api/v1/products/5"), 0));
	const struct route *r = router_match(routes, NROUTES, &req, &status, allow, sizeof(allow));
	cr_assert(eq(ptr, (void *)r, (void *)&routes[5]));
	cr_assert(eq(sz, req.nparams, 1));
}

Test(router_match, not_found_status_and_empty_allow)
{
	char allow[64] = "junk";
	int status = 0;
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/nope"), 0));
	cr_assert(zero(ptr, (void *)router_match(routes, NROUTES, &req, &status, allow, sizeof(allow))));
	cr_assert(eq(int, status, 404));
	cr_assert(eq(str, allow, ""));
	cr_assert(eq(sz, req.nparams, 0));
}

Test(router_match, not_allowed_clears_params)
{
	char allow[64];
	int status = 0;
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/api/v1/products/5"), 0));
	cr_assert(zero(ptr, (void *)router_match(routes, NROUTES, &req, &status, allow, sizeof(allow))));
	cr_assert(eq(int, status, 405));
	cr_assert(eq(str, allow, "GET, HEAD, PUT, DELETE"));
	cr_assert(eq(sz, req.nparams, 0));
}

Test(router_match, small_allow_buffer_truncated_safely)
{
	char allow[16];
	memset(allow, 'Z', sizeof(allow));
	int status = 0;
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/api/v1/products/5"), 0));
	cr_assert(zero(ptr, (void *)router_match(routes, NROUTES, &req, &status, allow, 6)));
	cr_assert(eq(int, status, 405));
	cr_assert(lt(sz, strlen(allow), 6));
	cr_assert(eq(chr, allow[6], 'Z'), "wrote past allowlen");
}

Test(router_match, empty_table)
{
	char allow[8];
	int status = 0;
	cr_assert(eq(int, fake_request(&f, &req, "GET", "/"), 0));
	cr_assert(zero(ptr, (void *)router_match(routes, 0, &req, &status, allow, sizeof(allow))));
	cr_assert(eq(int, status, 404));
}

/* --- declared query parameters and bodiless routes -------------------------------------- */

TestSuite(query, .init = setup, .fini = teardown);
TestSuite(body, .init = setup, .fini = teardown);

static void expect_422_fields(const char *method, const char *uri, const char *const *fields, size_t n)
{
	dispatch(method, uri, false);
	cr_assert(eq(int, resp.status, 422), "%s %s answered %d", method, uri, resp.status);
	cr_assert(eq(str, (char *)problem_code(), "validation_failed"));
	cr_assert(zero(ptr, (void *)called), "%s %s ran handler %s", method, uri, called);
	struct json_object *errs = NULL, *e, *field;
	cr_assert(json_object_object_get_ex(resp.json, "errors", &errs));
	cr_assert(eq(sz, json_object_array_length(errs), n), "%s", json_object_to_json_string(errs));
	for (size_t i = 0; i < n; i++) {
		e = json_object_array_get_idx(errs, i);
		cr_assert(json_object_object_get_ex(e, "field", &field));
		cr_assert(eq(str, (char *)json_object_get_string(field), (char *)fields[i]));
	}
}

Test(query, declared_parameters_pass)
{
	expect_handler("GET", "/api/v1/products?limit=5&offset=0&q=tea", "list");
}

Test(query, unknown_parameter_on_a_route_declaring_none_is_422)
{
	static const char *const fields[] = {"limit"};
	expect_422_fields("GET", "/api/v1/products/42?limit=5", fields, 1);
}

Test(query, unknown_parameter_is_422_naming_it)
{
	static const char *const fields[] = {"sort", "x"};
	expect_422_fields("GET", "/api/v1/products?limit=5&sort=name&x", fields, 2);
}

Test(query, repeated_parameter_is_422)
{
	static const char *const fields[] = {"limit"};
	expect_422_fields("GET", "/api/v1/products?limit=5&limit=6", fields, 1);
}

Test(query, name_is_matched_whole)
{
	/* "offset" is declared; its prefix and an extension of it are not. */
	static const char *const fields[] = {"off", "offsets", "limit offset"};
	expect_422_fields("GET", "/api/v1/products?off=1&offsets=1&limit%20offset=1", fields, 3);
}

Test(query, checked_after_authorisation)
{
	auth_answer = 401;
	dispatch("GET", "/api/v1/users/7?x=1", false);
	cr_assert(eq(int, resp.status, 401));
	cr_assert(zero(ptr, (void *)called));
}

Test(query, checked_for_head_too)
{
	static const char *const fields[] = {"x"};
	expect_422_fields("HEAD", "/api/v1/health?x=1", fields, 1);
}

Test(body, refused_on_a_bodiless_post)
{
	fake_io_param(&f, "CONTENT_LENGTH", "2");
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_body(&f, "{}", 2);
	dispatch("POST", "/api/v1/products/42/ping", false);
	cr_assert(eq(int, resp.status, 400));
	cr_assert(eq(str, (char *)problem_code(), "body_not_allowed"));
	cr_assert(zero(ptr, (void *)called));
}

Test(body, refused_on_get_and_delete)
{
	fake_io_param(&f, "CONTENT_LENGTH", "2");
	fake_io_body(&f, "{}", 2);
	dispatch("DELETE", "/api/v1/products/42", false);
	cr_assert(eq(int, resp.status, 400));
	cr_assert(eq(str, (char *)problem_code(), "body_not_allowed"));
	teardown();
	setup();
	fake_io_param(&f, "CONTENT_LENGTH", "2");
	fake_io_body(&f, "{}", 2);
	dispatch("GET", "/api/v1/products/42", false);
	cr_assert(eq(int, resp.status, 400));
}

Test(body, empty_body_passes)
{
	fake_io_param(&f, "CONTENT_LENGTH", "0");
	dispatch("POST", "/api/v1/products/42/ping", false);
	cr_assert(eq(int, resp.status, 200));
	cr_assert(eq(str, (char *)called, "put"));
}

Test(body, route_taking_a_body_is_not_refused)
{
	fake_io_param(&f, "CONTENT_LENGTH", "2");
	fake_io_param(&f, "CONTENT_TYPE", "application/json");
	fake_io_body(&f, "{}", 2);
	dispatch("PUT", "/api/v1/products/42", false);
	cr_assert(eq(int, resp.status, 200));
	cr_assert(eq(str, (char *)called, "put"));
}
