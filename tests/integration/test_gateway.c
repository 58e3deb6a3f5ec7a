/* test_gateway.c: the gateway and the shared HTTP conventions, driven through NGINX. */
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

Test(gateway, health_answers_ok_json)
{
	struct http_resp r;
	api("GET", "/api/v1/users/health", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(http_header(&r, "Content-Type"), "application/json; charset=utf-8");
	cr_assert_str_eq(json_str(&r, "status"), "ok");
	const char *rid = http_header(&r, "X-Request-Id");
	cr_assert(rid && strlen(rid) >= 16, "X-Request-Id missing");
	http_resp_free(&r);
}

Test(gateway, server_header_has_no_version)
{
	struct http_resp r;
	api("GET", "/api/v1/users/health", NULL, NULL, &r);
	const char *server = http_header(&r, "Server");
	cr_assert(!server || !strchr(server, '/'), "Server header leaks a version: %s", server);
	http_resp_free(&r);
}

Test(gateway, unknown_route_is_404_problem)
{
	struct http_resp r;
	api("GET", "/api/v1/nothing-here", NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", "/", NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	/* Routed to the service, unknown there: the service's own 404. */
	api("GET", "/api/v1/users/health/extra", NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
}

Test(gateway, wrong_method_is_405_with_allow)
{
	struct http_resp r;
	api("DELETE", "/api/v1/users/health", NULL, NULL, &r);
	assert_problem(&r, 405, "method_not_allowed");
	cr_assert_str_eq(http_header(&r, "Allow"), "GET, HEAD");
	http_resp_free(&r);
	/* HEAD works wherever GET does, without a body. */
	api_raw("HEAD", "/api/v1/users/health", NULL, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.len, 0);
	http_resp_free(&r);
}

/* nginx refuses TRACE and CONNECT itself, before any service sees them: its 405 must still
 * be a problem with Allow (RFC 9110 requires it) and the request id, on both listeners. */
Test(gateway, trace_and_connect_are_405_problem_with_allow)
{
	static const char *const methods[] = {"TRACE", "CONNECT"};
	const char *bases[] = {raw_url(), raw_internal_url()};
	for (size_t b = 0; b < 2; b++) {
		for (size_t i = 0; i < 2; i++) {
			struct http_resp r;
			http_send(bases[b], methods[i], "/api/v1/users/health", NULL, 0, NULL, &r);
			assert_problem(&r, 405, "method_not_allowed");
			const char *allow = http_header(&r, "Allow");
			cr_assert(allow && strstr(allow, "GET") && !strstr(allow, methods[i]), "%s: Allow %s", methods[i],
				  allow ? allow : "missing");
			const char *rid = http_header(&r, "X-Request-Id");
			cr_assert(rid && strcmp(rid, json_str(&r, "request_id")) == 0, "%s without its request id",
				  methods[i]);
			http_resp_free(&r);
		}
	}
}

Test(gateway, two_megabyte_body_is_413_problem)
{
	size_t n = 2u << 20;
	char *big = malloc(n + 1);
	struct http_resp r;

	cr_assert_not_null(big);
	memset(big, 'a', n);
	big[0] = '"';
	big[n - 1] = '"';
	big[n] = '\0';
	http_send(raw_url(), "POST", "/api/v1/auth/register", big, n, NULL, &r);
	free(big);
	assert_problem(&r, 413, NULL);
	http_resp_free(&r);
}

Test(gateway, malformed_json_is_400)
{
	static const char *const bodies[] = {"{", "{\"email\":}", "[1,2]", "\"str\"", "{}{}", "{\"a\":1} x",
					     "{\"email\":\"a\xff\"}", "nul",
					     "{\"email\":\"a@example.com\",\"email\":\"b@example.com\"}", "{'email':1}",
					     "{\"email\":NaN}", "{\"email\":5.}", "{\"e\\u0000mail\":1}", "{\"email\":\"\xc0\xaf\"}"};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct http_resp r;
		api_raw("POST", "/api/v1/auth/register", bodies[i], NULL, &r);
		assert_problem(&r, 400, "malformed_json");
		http_resp_free(&r);
	}
}

Test(gateway, deep_json_is_400)
{
	char body[256] = "{\"a\":";
	for (int i = 0; i < 40; i++)
		strcat(body, "[");
	struct http_resp r;
	api_raw("POST", "/api/v1/auth/register", body, NULL, &r);
	assert_problem(&r, 400, "malformed_json");
	http_resp_free(&r);
}

Test(gateway, not_json_is_415)
{
	const char *hdrs[] = {"Content-Type: text/plain", NULL};
	struct http_resp r;
	http_send(raw_url(), "POST", "/api/v1/auth/register", "{}", 2, hdrs, &r);
	assert_problem(&r, 415, "unsupported_media_type");
	http_resp_free(&r);
}

Test(gateway, unknown_json_field_is_422)
{
	struct http_resp r;
	api("POST", "/api/v1/auth/register",
	    "{\"email\":\"gw-unknown@example.com\",\"password\":\"a long passphrase 1\",\"name\":\"X\",\"role\":\"admin\"}",
	    NULL, &r);
	assert_problem(&r, 422, "validation_failed");
	struct json_object *errs, *e, *field;
	cr_assert(json_object_object_get_ex(r.json, "errors", &errs));
	cr_assert_eq(json_object_array_length(errs), 1);
	e = json_object_array_get_idx(errs, 0);
	cr_assert(json_object_object_get_ex(e, "field", &field));
	cr_assert_str_eq(json_object_get_string(field), "role");
	http_resp_free(&r);
}

Test(gateway, bad_query_string_is_400)
{
	struct http_resp r;
	api_raw("GET", "/api/v1/users/health?x=%zz", NULL, NULL, &r);
	assert_problem(&r, 400, "bad_query");
	http_resp_free(&r);
}

Test(gateway, internal_paths_are_404_on_public_listener)
{
	static const char *const paths[] = {"/internal/user/health", "/internal/", "/internal/product/products?ids=1",
					    "/api/v1/../internal/user/health"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct http_resp r;
		api("GET", paths[i], NULL, NULL, &r);
		cr_assert_eq(r.status, 404, "%s: %ld", paths[i], r.status);
		assert_problem(&r, 404, NULL);
		http_resp_free(&r);
	}
}

Test(gateway, internal_listener_does_not_serve_public_api)
{
	struct http_resp r;
	http_send(raw_internal_url(), "GET", "/api/v1/users/health", NULL, 0, NULL, &r);
	assert_problem(&r, 404, NULL);
	http_resp_free(&r);
}

Test(gateway, request_id_echoed_in_problem)
{
	struct http_resp r;
	api("GET", "/api/v1/nothing-here", NULL, NULL, &r);
	const char *hdr = http_header(&r, "X-Request-Id");
	cr_assert_not_null(hdr);
	cr_assert_str_eq(json_str(&r, "request_id"), hdr);
	http_resp_free(&r);
}

#include <curl/curl.h>

static size_t discard(char *p, size_t s, size_t n, void *u)
{
	(void)p, (void)u;
	return s * n;
}

static char retry_after[32];

static size_t grab_retry(char *p, size_t s, size_t n, void *u)
{
	(void)u;
	if (s * n > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		snprintf(retry_after, sizeof(retry_after), "%.*s", (int)(s * n - 12), p + 12);
	return s * n;
}

Test(gateway, auth_routes_are_rate_limited_per_client_address)
{
	/* From 127.0.0.2, so the flood does not throttle the other tests (they come from 127.0.0.1). */
	long burst = atol(test_env("STORE_TEST_AUTH_BURST")), limited = 0, ok = 0;
	char url[256];
	snprintf(url, sizeof(url), "%s/api/v1/auth/refresh", raw_url());
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_INTERFACE, "127.0.0.2");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{\"refresh_token\":\"nope\"}");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, grab_retry);
	for (long i = 0; i < burst * 2 + 200 && limited < 20; i++) {
		long status = 0;
		cr_assert_eq(curl_easy_perform(c), CURLE_OK);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (status == 429)
			limited++;
		else if (status == 401)
			ok++;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	cr_assert_gt(limited, 0, "no 429 after %ld requests", ok);
	cr_assert_geq(ok, burst / 2, "the burst was not honoured");
	cr_assert_gt(atoi(retry_after), 0, "429 without Retry-After");
	/* Other clients are not affected. */
	struct http_resp r;
	api("POST", "/api/v1/auth/refresh", "{\"refresh_token\":\"nope\"}", NULL, &r);
	assert_problem(&r, 401, "invalid_token");
	http_resp_free(&r);
}

Test(gateway, internal_calls_keep_the_callers_request_id)
{
	const char *hdrs[] = {"X-Request-Id: caller-0123456789abcdef", NULL};
	struct http_resp r;
	http_send(raw_internal_url(), "GET", "/internal/product/products?ids=abc", NULL, 0, hdrs, &r);
	assert_problem(&r, 422, "validation_failed");
	cr_assert_str_eq(json_str(&r, "request_id"), "caller-0123456789abcdef");
	cr_assert_str_eq(http_header(&r, "X-Request-Id"), "caller-0123456789abcdef");
	http_resp_free(&r);
	/* A header that is not a plain token is replaced, never echoed. */
	const char *bad[] = {"X-Request-Id: <script>", NULL};
	http_send(raw_internal_url(), "GET", "/internal/product/products?ids=abc", NULL, 0, bad, &r);
	cr_assert_str_neq(json_str(&r, "request_id"), "<script>");
	http_resp_free(&r);
	/* The public listener always makes its own. */
	api("GET", "/api/v1/nothing", NULL, NULL, &r);
	http_resp_free(&r);
	http_send(raw_url(), "GET", "/api/v1/users/health", NULL, 0, hdrs, &r);
	cr_assert_str_neq(http_header(&r, "X-Request-Id"), "caller-0123456789abcdef");
	http_resp_free(&r);
}

Test(gateway, malformed_request_lines_get_problem_json)
{
	struct http_resp r;
	api_raw("GET", "/api/v1/users/me%00", NULL, NULL, &r);
	assert_problem(&r, 400, "bad_request");
	http_resp_free(&r);
	api_raw("get", "/api/v1/users/health", NULL, NULL, &r);
	assert_problem(&r, 400, "bad_request");
	http_resp_free(&r);
	char *path = malloc(20002);
	path[0] = '/';
	memset(path + 1, 'a', 20000);
	path[20001] = '\0';
	api_raw("GET", path, NULL, NULL, &r);
	free(path);
	assert_problem(&r, 414, "uri_too_long");
	http_resp_free(&r);
	const char *te[] = {"Transfer-Encoding: gzip", NULL};
	http_send(raw_url(), "POST", "/api/v1/auth/login", "{}", 2, te, &r);
	assert_problem(&r, 501, "not_implemented");
	http_resp_free(&r);
}

/* --- the contract (#14): declared query parameters, bodiless operations, id range, /docs/ --- */

/* Before #14 only list routes checked their query: /users/me?x=1 was served as if clean. */
Test(gateway, unknown_query_parameter_is_422_on_every_route)
{
	static const char *const paths[] = {"/api/v1/users/health?verbose=1", "/api/v1/categories?limit=5",
					    "/api/v1/products/by-slug/nothing?x=1", "/api/v1/products?limit=5&limit=6"};
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct http_resp r;
		api_raw("GET", paths[i], NULL, NULL, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	char *t = customer_token(NULL);
	struct http_resp r;
	api_raw("GET", "/api/v1/users/me?fields=name", NULL, t, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	free(t);
}

/* Before #14 logout read no body and ignored one, and GET ignored one too. */
Test(gateway, body_on_a_bodiless_operation_is_400)
{
	char *t = customer_token(NULL);
	struct http_resp r;
	api_raw("POST", "/api/v1/auth/logout", "{\"everywhere\":true}", t, &r);
	assert_problem(&r, 400, "body_not_allowed");
	http_resp_free(&r);
	api_raw("GET", "/api/v1/users/me", "{}", t, &r);
	assert_problem(&r, 400, "body_not_allowed");
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, t, &r);
	cr_assert_eq(r.status, 200, "the session is still there: the refused logout did nothing");
	http_resp_free(&r);
	api("POST", "/api/v1/auth/logout", NULL, t, &r);
	cr_assert_eq(r.status, 204);
	http_resp_free(&r);
	free(t);
}

/* The other POSTs that take no body read none, and ignored one: a guest cart was made, a merge,
 * a helpful vote and an unhide went through whatever the body said ("role":"admin", garbage). */
Test(gateway, every_bodiless_post_refuses_a_body)
{
	char *t = customer_token(NULL), *admin = admin_token();
	const struct {
		const char *path, *token;
	} posts[] = {
		{"/api/v1/carts", NULL},
		{"/api/v1/cart/merge", t},
		{"/api/v1/reviews/1/helpful", t},
		{"/api/v1/reviews/1/unhide", admin},
	};
	for (size_t i = 0; i < sizeof(posts) / sizeof(posts[0]); i++) {
		struct http_resp r;
		api_raw("POST", posts[i].path, "{\"role\":\"admin\"}", posts[i].token, &r);
		cr_assert_eq(r.status, 400, "%s: %ld %s", posts[i].path, r.status, r.body);
		assert_problem(&r, 400, "body_not_allowed");
		http_resp_free(&r);
	}
	free(admin);
	free(t);
}

/* Ids stop at 2^53 - 1 (JavaScript numbers); one past is no id: 404 in a path, 422 in a query. */
Test(gateway, ids_past_2_pow_53_minus_1_are_refused)
{
	struct http_resp r;
	api_raw("GET", "/api/v1/products/9007199254740992", NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	char *admin = admin_token();
	api_raw("GET", "/api/v1/orders?user_id=9007199254740992", NULL, admin, &r);
	assert_problem(&r, 422, "validation_failed");
	cr_assert_not_null(strstr(r.body, "\"user_id\""), "%s", r.body);
	http_resp_free(&r);
	free(admin);
	api_raw("GET", "/api/v1/products?category=9007199254740992", NULL, NULL, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	api("GET", "/api/v1/products/9007199254740991", NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
}

/* /docs/ on each listener: Swagger UI and that listener's own spec, never the other's. */
Test(gateway, docs_serve_swagger_ui_and_each_listeners_spec)
{
	struct http_resp r;
	http_send(raw_url(), "GET", "/docs", NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 301);
	http_resp_free(&r);
	http_send(raw_url(), "GET", "/docs/", NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(http_header(&r, "Content-Type"), "text/html"));
	cr_assert(strstr(r.body, "swagger-ui"), "%s", r.body);
	http_resp_free(&r);
	http_send(raw_url(), "GET", "/docs/openapi.yaml", NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "/api/v1/users/me:") && !strstr(r.body, "/internal/inventory/reservations:"));
	http_resp_free(&r);
	http_send(raw_url(), "GET", "/docs/openapi.json", NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_not_null(r.json, "openapi.json is JSON");
	http_resp_free(&r);
	http_send(raw_url(), "GET", "/docs/openapi-internal.yaml", NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 404, "the internal spec is not on the public listener");
	http_resp_free(&r);
	http_send(raw_internal_url(), "GET", "/docs/openapi.yaml", NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 200);
	cr_assert(strstr(r.body, "/internal/inventory/reservations:") && !strstr(r.body, "/api/v1/users/me:"));
	http_resp_free(&r);
}

/* --- #15.7: a slow-body flood from one client ------------------------------------------------ */

#define FLOOD_CONNS 2200

struct flood {
	int port;
	int fd[FLOOD_CONNS];
	bool sent_header[FLOOD_CONNS];
	volatile int stop, rounds;
	int open; /* sockets still open after the last round */
};

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Opens a connection from 127.0.0.2 to the public listener, not waiting for it; -1 on failure. */
static int flood_open(int port)
{
	struct sockaddr_in src = {.sin_family = AF_INET}, dst = {.sin_family = AF_INET};
	inet_pton(AF_INET, "127.0.0.2", &src.sin_addr);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	dst.sin_port = htons((uint16_t)port);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (fd >= 0 && (bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0 ||
			(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0 && errno != EINPROGRESS))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* One client (127.0.0.2) keeps FLOOD_CONNS connections to the public listener: each sends a
 * request head announcing a 1000-byte body, then one byte every 2 s (under
 * client_body_timeout); a connection the gateway closes is opened again at the next round.
 * Runs until told to stop, then closes them all. */
static void *flood_run(void *arg)
{
	static const char head[] = "POST /api/v1/products HTTP/1.1\r\nHost: 127.0.0.1\r\n"
				   "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{";
	struct flood *f = arg;
	for (int i = 0; i < FLOOD_CONNS; i++)
		f->fd[i] = -1;
	while (!f->stop) {
		int open = 0;
		for (int i = 0; i < FLOOD_CONNS; i++) {
			if (f->fd[i] < 0) {
				f->fd[i] = flood_open(f->port);
				f->sent_header[i] = false;
				if (f->fd[i] < 0)
					continue;
			}
			const char *what = f->sent_header[i] ? " " : head;
			size_t n = f->sent_header[i] ? 1 : sizeof(head) - 1;
			ssize_t w = send(f->fd[i], what, n, MSG_NOSIGNAL);
			if (w == (ssize_t)n) {
				f->sent_header[i] = true;
			} else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOTCONN) {
				close(f->fd[i]);
				f->fd[i] = -1;
				continue;
			}
			open++;
		}
		f->open = open;
		f->rounds++;
		for (int t = 0; t < 20 && !f->stop; t++)
			usleep(100000);
	}
	for (int i = 0; i < FLOOD_CONNS; i++)
		if (f->fd[i] >= 0)
			close(f->fd[i]);
	return NULL;
}

/* Times one request; asserts its status and that it took less than `limit` seconds. */
static void answers_quickly(const char *base, const char *path, long status, double limit)
{
	struct http_resp r;
	double t0 = mono();
	http_send(base, "GET", path, NULL, 0, NULL, &r);
	double took = mono() - t0;
	cr_assert_eq(r.status, status, "%s%s under the flood: %ld %s", base, path, r.status, r.body);
	cr_assert_lt(took, limit, "%s%s took %.1f s under the flood", base, path, took);
	http_resp_free(&r);
}

/* About 2,000 slow connections from one address exhausted nginx's worker connections: the
 * public and the internal listeners stopped answering everyone until that client left. */
Test(gateway, slow_body_flood_from_one_client_leaves_others_and_internal_answering, .timeout = 90)
{
	struct rlimit rl;
	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	rl.rlim_cur = rl.rlim_max;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	cr_assert_gt(rl.rlim_cur, FLOOD_CONNS + 100, "too few file descriptors for the flood");

	/* Straight at the gateway: the flood is about nginx, not the contract proxy in front of it. */
	const char *url = raw_url(), *internal = raw_internal_url();
	struct flood *f = calloc(1, sizeof(*f));
	cr_assert_not_null(f);
	f->port = atoi(strrchr(url, ':') + 1);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, flood_run, f), 0);
	while (f->rounds < 2)
		usleep(50000);
	for (int check = 0; check < 3; check++) {
		answers_quickly(url, "/api/v1/products/health", 200, 2.5);
		answers_quickly(internal, "/internal/inventory/reservations/no-such-order", 404, 2.5);
		usleep(1500000);
	}
	f->stop = 1;
	pthread_join(t, NULL);
	free(f);
	answers_quickly(url, "/api/v1/users/health", 200, 2.5);
}
