/* client.c: libcurl + json-c client helpers shared by the integration tests. */
#include "client.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct buf {
	char *p;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb;
	char *p = realloc(b->p, b->len + n + 1);

	if (!p)
		return 0;
	memcpy(p + b->len, data, n);
	b->p = p;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

const char *test_env(const char *name)
{
	const char *v = getenv(name);
	if (!v || !*v)
		cr_assert_fail("%s is not set: run the integration tests through scripts/store test", name);
	return v;
}

void http_send(const char *base, const char *method, const char *path, const char *body, size_t body_len,
	       const char *const *headers, struct http_resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf b = {0}, h = {0};
	bool has_ct = false;

	memset(out, 0, sizeof(*out));
	cr_assert_not_null(c);
	size_t ulen = strlen(base) + strlen(path) + 1;
	char *url = malloc(ulen);
	cr_assert_not_null(url);
	snprintf(url, ulen, "%s%s", base, path);
	for (const char *const *p = headers; p && *p; p++) {
		hl = curl_slist_append(hl, *p);
		if (strncasecmp(*p, "Content-Type:", 13) == 0)
			has_ct = true;
	}
	if (body && !has_ct)
		hl = curl_slist_append(hl, "Content-Type: application/json");
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	CURLcode rc = curl_easy_perform(c);
	if (rc != CURLE_OK)
		cr_assert_fail("%s %s: %s", method, url, curl_easy_strerror(rc));
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	free(url);
	out->body = b.p ? b.p : strdup("");
	out->len = b.len;
	out->headers = h.p ? h.p : strdup("");
	out->headers_len = h.len;
	if (out->len)
		out->json = json_tokener_parse(out->body);
}

void api(const char *method, const char *path, const char *body, const char *token, struct http_resp *out)
{
	char auth[4096];
	const char *hdrs[2] = {NULL, NULL};

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs[0] = auth;
	}
	http_send(test_env("STORE_TEST_URL"), method, path, body, body ? strlen(body) : 0, hdrs, out);
}

const char *http_header(const struct http_resp *r, const char *name)
{
	static char value[1024];
	size_t nlen = strlen(name);

	for (const char *line = r->headers; line && *line;) {
		const char *eol = strstr(line, "\r\n");
		size_t llen = eol ? (size_t)(eol - line) : strlen(line);
		if (llen > nlen && strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			const char *v = line + nlen + 1;
			while (*v == ' ')
				v++;
			size_t vlen = llen - (size_t)(v - line);
			if (vlen >= sizeof(value))
				vlen = sizeof(value) - 1;
			memcpy(value, v, vlen);
			value[vlen] = '\0';
			return value;
		}
		line = eol ? eol + 2 : NULL;
	}
	return NULL;
}

const char *json_str(const struct http_resp *r, const char *key)
{
	struct json_object *v;
	if (!r->json || !json_object_object_get_ex(r->json, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

long long json_int(const struct http_resp *r, const char *key)
{
	struct json_object *v;
	if (!r->json || !json_object_object_get_ex(r->json, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return (long long)json_object_get_int64(v);
}

void assert_problem(const struct http_resp *r, long status, const char *code)
{
	cr_assert_eq(r->status, status, "status %ld, want %ld: %s", r->status, status, r->body);
	const char *ct = http_header(r, "Content-Type");
	cr_assert(ct && strncmp(ct, "application/problem+json", 24) == 0, "Content-Type %s: %s", ct ? ct : "none",
		  r->body);
	cr_assert_not_null(r->json, "problem body is not JSON: %s", r->body);
	cr_assert_eq(json_int(r, "status"), status, "%s", r->body);
	if (code) {
		const char *c = json_str(r, "code");
		cr_assert(c && strcmp(c, code) == 0, "code %s, want %s: %s", c ? c : "none", code, r->body);
	}
	cr_assert_not_null(json_str(r, "title"), "%s", r->body);
	cr_assert_not_null(json_str(r, "type"), "%s", r->body);
	const char *rid = json_str(r, "request_id");
	cr_assert(rid && *rid && strcmp(rid, "-") != 0, "no request_id: %s", r->body);
}

void http_resp_free(struct http_resp *r)
{
	free(r->body);
	free(r->headers);
	if (r->json)
		json_object_put(r->json);
	memset(r, 0, sizeof(*r));
}

#include <hiredis/hiredis.h>
#include <time.h>
#include <unistd.h>

void unique_email(char *buf, size_t len, const char *tag)
{
	static int n;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "%s-%d-%ld%09ld-%d@example.com", tag, (int)getpid(), (long)ts.tv_sec, ts.tv_nsec, ++n);
}

/* POSTs `body` to the auth route `path`, again while the answer is 503 "busy" (a full
 * password-hash queue says retry shortly: tests running in parallel sign in at once). */
static void auth_post(const char *path, const char *body, struct http_resp *r)
{
	for (int i = 0; i < 50; i++) {
		api("POST", path, body, NULL, r);
		const char *code = r->status == 503 ? json_str(r, "code") : NULL;
		if (!code || strcmp(code, "busy") != 0)
			return;
		http_resp_free(r);
		usleep(100000 + 20000 * i);
	}
}

long long register_user(const char *email, const char *password, const char *name)
{
	struct json_object *o = json_object_new_object();
	struct http_resp r;

	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password", json_object_new_string(password));
	json_object_object_add(o, "name", json_object_new_string(name));
	auth_post("/api/v1/auth/register", json_object_to_json_string(o), &r);
	json_object_put(o);
	cr_assert_eq(r.status, 201, "register %s: %ld %s", email, r.status, r.body);
	long long id = json_int(&r, "id");
	http_resp_free(&r);
	return id;
}

void login_user(const char *email, const char *password, char **access, char **refresh)
{
	struct json_object *o = json_object_new_object();
	struct http_resp r;

	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password", json_object_new_string(password));
	auth_post("/api/v1/auth/login", json_object_to_json_string(o), &r);
	json_object_put(o);
	cr_assert_eq(r.status, 200, "login %s: %ld %s", email, r.status, r.body);
	cr_assert_not_null(json_str(&r, "access_token"));
	cr_assert_not_null(json_str(&r, "refresh_token"));
	if (access)
		*access = strdup(json_str(&r, "access_token"));
	if (refresh)
		*refresh = strdup(json_str(&r, "refresh_token"));
	http_resp_free(&r);
}

void make_admin(const char *email, const char *password)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "STORE_VAR='%s' '%s' create-admin '%s' >/dev/null", test_env("STORE_TEST_VAR"),
		 test_env("STORE_TEST_STORE"), email);
	FILE *p = popen(cmd, "w");
	cr_assert_not_null(p);
	fprintf(p, "%s\n", password);
	cr_assert_eq(pclose(p), 0, "create-admin %s failed", email);
}

char *admin_token(void)
{
	char email[128], *access = NULL;
	unique_email(email, sizeof(email), "admin");
	make_admin(email, TEST_PASSWORD);
	login_user(email, TEST_PASSWORD, &access, NULL);
	return access;
}

char *customer_token(long long *id)
{
	char email[128], *access = NULL;
	unique_email(email, sizeof(email), "cust");
	long long uid = register_user(email, TEST_PASSWORD, "Customer");
	if (id)
		*id = uid;
	login_user(email, TEST_PASSWORD, &access, NULL);
	return access;
}

struct redisContext *test_redis(void)
{
	struct timeval tv = {2, 0};
	redisContext *c = redisConnectWithTimeout(test_env("STORE_TEST_REDIS_HOST"),
						  atoi(test_env("STORE_TEST_REDIS_PORT")), tv);
	cr_assert(c && !c->err, "cannot reach the test Redis");
	return c;
}
