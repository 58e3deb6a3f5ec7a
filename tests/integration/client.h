/* client.h: a small libcurl + json-c HTTP client for the integration tests, pointed at the stack by env. */
#ifndef STORE_TEST_CLIENT_H
#define STORE_TEST_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct json_object;

struct http_resp {
	long status;
	char *body;               /* NUL-terminated, owned */
	size_t len;
	struct json_object *json; /* parsed body when it is JSON, else NULL; owned */
	char *headers;            /* raw header block, owned */
	size_t headers_len;
};

/* Runs `sql` in `database` as the stack's MariaDB administrator (STORE_TEST_DB_SOCKET,
 * STORE_TEST_DB_ADMIN_USER); with `out`, copies the first line of the answer there. Fails the
 * test when the statement fails. */
void test_sql(const char *database, const char *sql, char *out, size_t len);

/* Returns the value of env `name`; fails the running test when it is unset (never skips). */
const char *test_env(const char *name);

/*
 * Sends `method` to `base` + `path` with `body` (may be NULL; sent as application/json
 * unless a Content-Type is among `headers`), extra `headers` ("Name: value", NULL-terminated
 * list, may be NULL). Fills `out` (free with http_resp_free). Fails the test when the
 * server cannot be reached.
 *
 * When `base` is a listener's contract proxy (Prism, from `scripts/store test`), a request
 * the spec refuses is sent to the gateway itself (STORE_TEST_RAW_URL or
 * STORE_TEST_RAW_INTERNAL_URL), which must refuse it too (the test fails if it answers
 * below 400); HEAD goes straight to the gateway. Tests of raw bytes go there by themselves.
 */
void http_send(const char *base, const char *method, const char *path, const char *body, size_t body_len,
	       const char *const *headers, struct http_resp *out);

/* http_send to the public gateway (STORE_TEST_URL) with an optional bearer token. */

/* The public gateway without the contract proxy: STORE_TEST_RAW_URL, else STORE_TEST_URL. For
 * requests whose exact bytes matter (duplicate JSON keys, encodings, sizes), which a proxy
 * that parses and re-serialises them would change. */
const char *raw_url(void);

/* The same for the internal listener: STORE_TEST_RAW_INTERNAL_URL, else STORE_TEST_INTERNAL_URL. */
const char *raw_internal_url(void);

/* api() to raw_url(): the exact bytes of `body` reach the gateway. */
void api_raw(const char *method, const char *path, const char *body, const char *token, struct http_resp *out);
void api(const char *method, const char *path, const char *body, const char *token, struct http_resp *out);

/* Returns the value of response header `name` (case-insensitive) in a static buffer, or NULL. */
const char *http_header(const struct http_resp *r, const char *name);

/* Returns the string member `key` of the JSON body, or NULL. Borrowed. */
const char *json_str(const struct http_resp *r, const char *key);

/* Returns the integer member `key` of the JSON body, or -1 when absent. */
long long json_int(const struct http_resp *r, const char *key);

/* Item i of a batch route's answer {"items":[{"status":N,"code":"..."}, ...]} (asserted to be
 * there): its status, and its code ("" when none) into code. */
int batch_item_status(const struct http_resp *r, size_t i, char code[64]);

/* Asserts that `r` is an RFC 9457 problem with `status` and `code`, carrying a request_id. */
void assert_problem(const struct http_resp *r, long status, const char *code);

void http_resp_free(struct http_resp *r);

#endif

/* --- accounts ------------------------------------------------------------- */

#define TEST_PASSWORD "correct horse battery 42"

/* Writes a fresh address "<tag>-<pid>-<time>-<n>@example.com" into `buf`. */
void unique_email(char *buf, size_t len, const char *tag);

/* Registers an account (asserts 201) and returns its id. */
long long register_user(const char *email, const char *password, const char *name);

/* Signs in (asserts 200); *access and *refresh are malloc'd (caller frees; either may be NULL). */
void login_user(const char *email, const char *password, char **access, char **refresh);

/* Creates (or promotes) `email` as admin with `password` through `scripts/store create-admin`. */
void make_admin(const char *email, const char *password);

/* A new admin account, signed in; returns its access token (caller frees). */
char *admin_token(void);

/* A new customer account, signed in; returns its access token (caller frees) and id. */
char *customer_token(long long *id);

/* Waits up to `seconds` for a `type` e-mail job to `recipient` on the job stream (services
 * relay their jobs from an outbox, so a job shows a moment after the change). */
bool test_job_on_stream(const char *type, const char *recipient, int seconds);

/* A hiredis connection to the test stack's Redis (caller frees with redisFree). */
struct redisContext *test_redis(void);

/* --- catalogue and stock (as staff) ------------------------------------------ */

/* Creates an active product priced `price` minor units of `currency` (asserts 201); returns its id. */
long long test_product(const char *admin, long long price, const char *currency);

/* Staff's view of a product's stock (asserts 200); any output may be NULL. */
void test_stock(const char *admin, long long pid, long long *on_hand, long long *reserved, long long *available);

/* Sets a product's stock through PUT /api/v1/inventory/{id} (asserts 200). */
void test_put_stock(const char *admin, long long pid, long long on_hand, long long threshold);

/* --- a service's database ------------------------------------------------------------ */

struct db_conn;

/* A connection to database store_<service> of the test stack as its administrator (through
 * STORE_TEST_DB_SOCKET), for fixtures and checks a test cannot make through the API. Connects
 * lazily (lib/db.h); free with test_db_free. */
struct db_conn *test_db(const char *service);
void test_db_free(struct db_conn *db);

/* Locks `name` (a file in STORE_TEST_VAR) for tests of one program that must not run beside
 * each other (Criterion runs them side by side): `exclusive`, or shared. Close-on-exec, so a
 * service a test starts again does not inherit it. Returns the descriptor for test_unlock
 * (a suite's .init and .fini). */
int test_lock(const char *name, bool exclusive);
void test_unlock(int *fd);

/* A suite's .init and .fini for tests that must run alone, one at a time (each stops or hangs a
 * shared service): the program's exclusive lock, by its name. */
void test_alone(void);
void test_alone_end(void);

/* --- the services of the test stack -------------------------------------------- */

/* How many instances of service `name` the test stack runs (var/instances, which scripts/store
 * writes: STORE_TEST_INSTANCES and any STORE_INSTANCES_<NAME>); 1 for a program that is not a
 * service (the worker). */
int test_service_instances(const char *name);

/* SIGTERMs every instance of the service started by scripts/store (their pid files) and waits
 * until each is gone; test_service_kill SIGKILLs them; test_service_start starts them again. */
void test_service_stop(const char *name);

void test_service_kill(const char *name);

/* SIGSTOPs (`paused`) or SIGCONTs every instance of the service, without waiting: a service
 * that hangs, its socket still accepting. */
void test_service_pause(const char *name, bool paused);

/* Starts the service again as scripts/store does: its env file, its socket, its log and pid file. */
void test_service_start(const char *name);

/* GETs `path` until it answers 200 (at most ~5 s); every other answer must be a 503 problem
 * from the service, or the gateway's 502 problem while a restarted service is not listening yet. */
void test_until_ok(const char *path, const char *token);
