/* client.c: libcurl + json-c client helpers shared by the integration tests. */
#include "client.h"

#include <criterion/criterion.h>
#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "db.h"
#include "jobs.h"

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

static void send_once(const char *base, const char *method, const char *path, const char *body, size_t body_len,
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

/* The gateway itself behind `base` when `base` is the contract proxy (Prism) of a listener:
 * STORE_TEST_URL -> STORE_TEST_RAW_URL, STORE_TEST_INTERNAL_URL -> STORE_TEST_RAW_INTERNAL_URL;
 * NULL when the suite runs without the proxy or `base` is another address. */
static const char *gateway_behind(const char *base)
{
	const char *pub = getenv("STORE_TEST_URL"), *in = getenv("STORE_TEST_INTERNAL_URL");
	const char *raw = NULL;

	if (pub && strcmp(base, pub) == 0)
		raw = getenv("STORE_TEST_RAW_URL");
	else if (in && strcmp(base, in) == 0)
		raw = getenv("STORE_TEST_RAW_INTERNAL_URL");
	return raw && *raw && strcmp(raw, base) != 0 ? raw : NULL;
}

/* True when the answer is Prism's own refusal of a request the spec does not allow (its problem
 * types, e.g. UNPROCESSABLE_ENTITY, UNAUTHORIZED, NOT_FOUND), not a response of the gateway. A
 * response the spec does not allow (VIOLATIONS) is not a refusal: the test sees it and fails. */
static bool contract_refused(const struct http_resp *r)
{
	static const char prefix[] = "https://stoplight.io/prism/errors#";
	const char *type = json_str(r, "type");
	struct json_object *err, *code;
	/* A body that is not JSON never reaches Prism's validation: its parser answers
	 * {"error":{"code":"invalid_json",...}} itself. */
	if (r->json && json_object_object_get_ex(r->json, "error", &err) && json_object_object_get_ex(err, "code", &code) &&
	    json_object_is_type(code, json_type_string) && strcmp(json_object_get_string(code), "invalid_json") == 0)
		return true;
	return type && strncmp(type, prefix, sizeof(prefix) - 1) == 0 && strcmp(type + sizeof(prefix) - 1, "VIOLATIONS") != 0;
}

void http_send(const char *base, const char *method, const char *path, const char *body, size_t body_len,
	       const char *const *headers, struct http_resp *out)
{
	const char *gateway = gateway_behind(base);

	/* Prism answers HEAD from the spec instead of checking the gateway's answer: straight there. */
	if (gateway && strcmp(method, "HEAD") == 0)
		base = gateway;
	send_once(base, method, path, body, body_len, headers, out);
	if (!gateway || base == gateway || !contract_refused(out))
		return;
	/* The spec does not allow this request (a test of what the API refuses), so Prism never sent
	 * it on. It goes to the gateway, which must refuse it too: accepting a request the contract
	 * forbids is a contract violation of its own. Each one is logged for the Prism step. */
	char why[256];
	const char *type = json_str(out, "type");
	snprintf(why, sizeof(why), "%s", type ? type + 34 : "invalid_json");
	http_resp_free(out);
	send_once(gateway, method, path, body, body_len, headers, out);
	const char *log = getenv("STORE_TEST_CONTRACT_LOG");
	FILE *f = log ? fopen(log, "a") : NULL;
	if (f) {
		fprintf(f, "refused-by-spec %s %s %s -> gateway %ld\n", why, method, path, out->status);
		fclose(f);
	}
	if (out->status < 400)
		cr_assert_fail("contract: the spec refuses %s %s (prism: %s), but the gateway answered %ld", method, path,
			       why, out->status);
}

const char *raw_url(void)
{
	const char *v = getenv("STORE_TEST_RAW_URL");
	return v && *v ? v : test_env("STORE_TEST_URL");
}

const char *raw_internal_url(void)
{
	const char *v = getenv("STORE_TEST_RAW_INTERNAL_URL");
	return v && *v ? v : test_env("STORE_TEST_INTERNAL_URL");
}

static void api_to(const char *base, const char *method, const char *path, const char *body, const char *token, struct http_resp *out)
{
	char auth[4096];
	const char *hdrs[2] = {NULL, NULL};

	if (token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs[0] = auth;
	}
	http_send(base, method, path, body, body ? strlen(body) : 0, hdrs, out);
}

void api(const char *method, const char *path, const char *body, const char *token, struct http_resp *out)
{
	api_to(test_env("STORE_TEST_URL"), method, path, body, token, out);
}

void api_raw(const char *method, const char *path, const char *body, const char *token, struct http_resp *out)
{
	api_to(raw_url(), method, path, body, token, out);
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

int batch_item_status(const struct http_resp *r, size_t i, char code[64])
{
	struct json_object *items, *it, *v;
	cr_assert(r->json && json_object_object_get_ex(r->json, "items", &items) && i < json_object_array_length(items),
		  "%s", r->body);
	it = json_object_array_get_idx(items, i);
	code[0] = '\0';
	if (json_object_object_get_ex(it, "code", &v))
		snprintf(code, 64, "%s", json_object_get_string(v));
	cr_assert(json_object_object_get_ex(it, "status", &v), "%s", r->body);
	return json_object_get_int(v);
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
#include <ctype.h>
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

void test_sql(const char *database, const char *sql, char *out, size_t len)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd), "mariadb --no-defaults --socket='%s' -u '%s' -N -B %s -e \"%s\"",
		 test_env("STORE_TEST_DB_SOCKET"), test_env("STORE_TEST_DB_ADMIN_USER"), database, sql);
	FILE *p = popen(cmd, "r");
	cr_assert_not_null(p);
	if (out) {
		out[0] = '\0';
		if (fgets(out, (int)len, p))
			out[strcspn(out, "\n")] = '\0';
	}
	cr_assert_eq(pclose(p), 0, "%s", sql);
}

long long test_product(const char *admin, long long price, const char *currency)
{
	static int n;
	char body[320];
	struct http_resp r;
	int k = ++n;
	snprintf(body, sizeof(body),
		 "{\"sku\":\"T-%d-%ld-%d\",\"name\":\"Test Item %d-%ld-%d\",\"price\":%lld,\"currency\":\"%s\",\"status\":\"active\"}",
		 (int)getpid(), (long)time(NULL), k, (int)getpid(), (long)time(NULL), k, price, currency);
	api("POST", "/api/v1/products", body, admin, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	long long id = json_int(&r, "id");
	http_resp_free(&r);
	return id;
}

void test_stock(const char *admin, long long pid, long long *on_hand, long long *reserved, long long *available)
{
	char path[64];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", pid);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	if (on_hand)
		*on_hand = json_int(&r, "on_hand");
	if (reserved)
		*reserved = json_int(&r, "reserved");
	if (available)
		*available = json_int(&r, "available");
	http_resp_free(&r);
}

void test_put_stock(const char *admin, long long pid, long long on_hand, long long threshold)
{
	char path[64], body[128];
	struct http_resp r;
	snprintf(path, sizeof(path), "/api/v1/inventory/%lld", pid);
	snprintf(body, sizeof(body), "{\"on_hand\":%lld,\"low_stock_threshold\":%lld}", on_hand, threshold);
	api("PUT", path, body, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
}

#include <signal.h>
#include <sys/wait.h>

/* Sends `sig` to the service started by scripts/store (its pid file) and waits until it is gone. */
int test_service_instances(const char *name)
{
	char path[1024], line[128], up[64];
	int n = 1;
	/* Only the services (fcgi-apps/<name>) have instances; the worker is one program. */
	const char *store = test_env("STORE_TEST_STORE");
	snprintf(path, sizeof(path), "%.*s/../fcgi-apps/%s", (int)(strrchr(store, '/') - store), store, name);
	if (access(path, F_OK) != 0)
		return 1;
	snprintf(path, sizeof(path), "%s/instances", test_env("STORE_TEST_VAR"));
	FILE *f = fopen(path, "r");
	if (!f)
		return 1; /* a stack from before instances: one of each */
	if (fgets(line, sizeof(line), f))
		n = atoi(line);
	size_t k = 0;
	for (; name[k] && k + 1 < sizeof(up); k++)
		up[k] = (char)toupper((unsigned char)name[k]);
	up[k] = '\0';
	while (fgets(line, sizeof(line), f)) {
		char want[96];
		int len = snprintf(want, sizeof(want), "STORE_INSTANCES_%s=", up);
		if (strncmp(line, want, (size_t)len) == 0)
			n = atoi(line + len);
	}
	fclose(f);
	cr_assert(n >= 1 && n <= 9, "%s: %d instances of %s", path, n, name);
	return n;
}

/* The instance names of service `name`: `name`, `name-2` ... (scripts/store's instance_names). */
static int instances(const char *name, char inst[][64], int max)
{
	int n = test_service_instances(name);
	cr_assert_leq(n, max);
	for (int i = 0; i < n; i++) {
		if (i == 0)
			snprintf(inst[i], 64, "%s", name);
		else
			snprintf(inst[i], 64, "%s-%d", name, i + 1);
	}
	return n;
}

/* Sends `sig` to every instance of the service (their pid files) and, `wait`, waits until each
 * is gone. */
static void service_signal(const char *name, int sig, bool wait)
{
	char inst[9][64];
	long pids[9];
	int n = instances(name, inst, 9);
	for (int k = 0; k < n; k++) {
		char file[1024];
		snprintf(file, sizeof(file), "%s/run/%s.pid", test_env("STORE_TEST_VAR"), inst[k]);
		FILE *f = fopen(file, "r");
		pids[k] = 0;
		cr_assert(f && fscanf(f, "%ld", &pids[k]) == 1 && pids[k] > 1, "no pid file %s", file);
		fclose(f);
		cr_assert_eq(kill((pid_t)pids[k], sig), 0);
	}
	for (int k = 0; wait && k < n; k++) {
		for (int i = 0; i < 100 && kill((pid_t)pids[k], 0) == 0; i++)
			usleep(100000);
		waitpid((pid_t)pids[k], NULL, WNOHANG);
	}
}

void test_service_stop(const char *name)
{
	service_signal(name, SIGTERM, true);
}

void test_service_kill(const char *name)
{
	service_signal(name, SIGKILL, true);
}

void test_service_pause(const char *name, bool paused)
{
	service_signal(name, paused ? SIGSTOP : SIGCONT, false);
}

void test_service_start(const char *name)
{
	char inst[9][64];
	int n = instances(name, inst, 9);
	const char *store = test_env("STORE_TEST_STORE"), *var = test_env("STORE_TEST_VAR");
	for (int k = 0; k < n; k++) {
		char cmd[4096];
		snprintf(cmd, sizeof(cmd),
			 "(set -a; . '%s/env/%s.env'; set +a; exec setsid '%.*s/../fcgi-apps/%s/store-%s' "
			 ">>'%s/log/%s.log' 2>&1 </dev/null) & echo $! >'%s/run/%s.pid'",
			 var, inst[k], (int)(strrchr(store, '/') - store), store, name, name, var, inst[k], var, inst[k]);
		cr_assert_eq(system(cmd), 0, "%s", cmd);
	}
}

void test_until_ok(const char *path, const char *token)
{
	for (int i = 0; i < 50; i++) {
		struct http_resp r;
		api("GET", path, NULL, token, &r);
		long s = r.status;
		if (s == 502) {
			assert_problem(&r, 502, "bad_gateway");
			cr_assert_not_null(http_header(&r, "Retry-After"), "502 without Retry-After");
		} else if (s != 200) {
			assert_problem(&r, 503, NULL);
			cr_assert_not_null(http_header(&r, "Retry-After"));
		}
		http_resp_free(&r);
		if (s == 200)
			return;
		usleep(100000);
	}
	cr_assert_fail("%s never recovered", path);
}

/* The configurations test_db's connections borrow, freed with them. */
#define TEST_DBS_MAX 8
static struct test_db_entry {
	struct db_conn *db;
	struct store_config *cfg;
} test_dbs[TEST_DBS_MAX];

struct db_conn *test_db(const char *service)
{
	struct store_config *cfg = calloc(1, sizeof(*cfg));
	char name[64];
	cr_assert_not_null(cfg);
	snprintf(name, sizeof(name), "store_%s", service);
	cfg->db_socket = strdup(test_env("STORE_TEST_DB_SOCKET"));
	cfg->db_user = strdup(test_env("STORE_TEST_DB_ADMIN_USER"));
	cfg->db_name = strdup(name);
	cfg->db_host = strdup("127.0.0.1");
	cfg->db_timeout = 5;
	struct db_conn *db = db_conn_new(cfg);
	cr_assert_not_null(db);
	cr_assert_eq(db_ping(db), 0, "database %s: %s", name, db->errstr);
	/* db_conn borrows cfg: it is found again through this table when the connection is freed. */
	for (size_t i = 0; i < TEST_DBS_MAX; i++)
		if (!test_dbs[i].db) {
			test_dbs[i] = (struct test_db_entry){db, cfg};
			return db;
		}
	cr_assert_fail("more than %d test_db connections", TEST_DBS_MAX);
	return NULL;
}

void test_db_free(struct db_conn *db)
{
	if (!db)
		return;
	db_conn_free(db);
	for (size_t i = 0; i < TEST_DBS_MAX; i++)
		if (test_dbs[i].db == db) {
			config_free(test_dbs[i].cfg);
			free(test_dbs[i].cfg);
			test_dbs[i].db = NULL;
		}
}

bool test_job_on_stream(const char *type, const char *recipient, int seconds)
{
	redisContext *c = test_redis();
	bool found = false;
	for (int t = 0; t < seconds * 10 && !found; t++) {
		redisReply *rep = redisCommand(c, "XREVRANGE %s + - COUNT 1000", JOBS_STREAM);
		for (size_t i = 0; rep && rep->type == REDIS_REPLY_ARRAY && i < rep->elements && !found; i++) {
			redisReply *f = rep->element[i]->element[1];
			for (size_t k = 0; k + 1 < f->elements; k += 2) {
				struct json_object *job = json_tokener_parse(f->element[k + 1]->str), *v;
				if (job && json_object_object_get_ex(job, "recipient", &v) &&
				    strcmp(json_object_get_string(v), recipient) == 0 &&
				    json_object_object_get_ex(job, "type", &v) && strcmp(json_object_get_string(v), type) == 0)
					found = true;
				json_object_put(job);
			}
		}
		if (rep)
			freeReplyObject(rep);
		if (!found)
			usleep(100000);
	}
	redisFree(c);
	return found;
}

#include <fcntl.h>
#include <sys/file.h>

int test_lock(const char *name, bool exclusive)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s.lock", test_env("STORE_TEST_VAR"), name);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert(fd >= 0 && flock(fd, exclusive ? LOCK_EX : LOCK_SH) == 0, "cannot lock %s", path);
	return fd;
}

void test_unlock(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static int alone_fd = -1;

void test_alone(void)
{
	/* Criterion runs each test in a child named boxfort-worker: the program's name is its file's. */
	char exe[1024];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	cr_assert(n > 0, "readlink /proc/self/exe");
	exe[n] = '\0';
	alone_fd = test_lock(strrchr(exe, '/') + 1, true);
}

void test_alone_end(void)
{
	test_unlock(&alone_fd);
}

