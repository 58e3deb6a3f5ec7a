/* test_auth.c: registration, login, lockout, refresh rotation, logout and forged tokens, through NGINX. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <jwt.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "client.h"
#include "db.h"

static void post_json(const char *path, struct json_object *o, const char *token, struct http_resp *r)
{
	api("POST", path, json_object_to_json_string(o), token, r);
	json_object_put(o);
}

static struct json_object *creds(const char *email, const char *password, const char *name)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "email", json_object_new_string(email));
	json_object_object_add(o, "password", json_object_new_string(password));
	if (name)
		json_object_object_add(o, "name", json_object_new_string(name));
	return o;
}

static long me_status(const char *token)
{
	struct http_resp r;
	api("GET", "/api/v1/users/me", NULL, token, &r);
	long s = r.status;
	if (s != 200)
		assert_problem(&r, s, NULL);
	http_resp_free(&r);
	return s;
}

Test(auth, register_login_me_happy_path)
{
	char email[128], upper[160], *access, *refresh;
	struct http_resp r;

	unique_email(email, sizeof(email), "happy");
	snprintf(upper, sizeof(upper), "  %s  ", email);
	for (char *p = upper; *p; p++)
		if (*p >= 'a' && *p <= 'z' && p[1] != '@')
			*p = (char)(*p - 32);
	post_json("/api/v1/auth/register", creds(upper, TEST_PASSWORD, "Ada Lovelace"), NULL, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "email"), email, "e-mail is trimmed and lower-cased");
	cr_assert_str_eq(json_str(&r, "name"), "Ada Lovelace");
	cr_assert_str_eq(json_str(&r, "role"), "customer");
	cr_assert_not_null(json_str(&r, "created_at"));
	cr_assert_gt(json_int(&r, "id"), 0);
	cr_assert_null(strstr(r.body, "argon2"), "never a hash: %s", r.body);
	cr_assert_null(strstr(r.body, "password"), "never a password field: %s", r.body);
	cr_assert_not_null(http_header(&r, "Location"));
	http_resp_free(&r);

	post_json("/api/v1/auth/login", creds(email, TEST_PASSWORD, NULL), NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "token_type"), "Bearer");
	cr_assert_gt(json_int(&r, "expires_in"), 0);
	access = strdup(json_str(&r, "access_token"));
	refresh = strdup(json_str(&r, "refresh_token"));
	http_resp_free(&r);

	api("GET", "/api/v1/users/me", NULL, access, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "email"), email);
	http_resp_free(&r);
	free(access);
	free(refresh);
}

Test(auth, duplicate_email_is_409)
{
	char email[128];
	struct http_resp r;
	unique_email(email, sizeof(email), "dup");
	register_user(email, TEST_PASSWORD, "First");
	post_json("/api/v1/auth/register", creds(email, "another good passphrase", "Second"), NULL, &r);
	assert_problem(&r, 409, "email_taken");
	http_resp_free(&r);
}

Test(auth, bad_emails_are_422)
{
	static const char *const bad[] = {"",	       "plain",	       "@example.com", "a@",	   "a@b",
					  "a@@b.com",  "a b@example.com", ".a@example.com", "a.@example.com",
					  "a..b@example.com", "a@-x.com", "a@x-.com", "a@example.c0m", "a@example",
					  "a\"b@example.com", "a@exa_mple.com"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_resp r;
		post_json("/api/v1/auth/register", creds(bad[i], TEST_PASSWORD, "X"), NULL, &r);
		assert_problem(&r, 422, "validation_failed");
		cr_assert_not_null(strstr(r.body, "\"field\":\"email\""), "%s: %s", bad[i], r.body);
		http_resp_free(&r);
	}
}

Test(auth, weak_passwords_are_422)
{
	char long129[130], email[128];
	memset(long129, 'x', 129);
	long129[128] = 'y';
	long129[129] = '\0';
	const char *const bad[] = {"short", "123456789", "password1234", "QWERTYUIOP1", "aaaaaaaaaaaa", long129};
	unique_email(email, sizeof(email), "weak");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_resp r;
		post_json("/api/v1/auth/register", creds(email, bad[i], "X"), NULL, &r);
		assert_problem(&r, 422, "validation_failed");
		cr_assert_not_null(strstr(r.body, "\"field\":\"password\""), "%s: %s", bad[i], r.body);
		http_resp_free(&r);
	}
	/* None of them created the account. */
	struct http_resp r;
	post_json("/api/v1/auth/login", creds(email, "short", NULL), NULL, &r);
	assert_problem(&r, 401, "invalid_credentials");
	http_resp_free(&r);
}

Test(auth, one_megabyte_password_is_refused_before_hashing)
{
	size_t n = 1u << 20;
	char *pw = malloc(n + 1), email[128];
	memset(pw, 'p', n);
	pw[n] = '\0';
	unique_email(email, sizeof(email), "mb");
	struct http_resp r;
	post_json("/api/v1/auth/register", creds(email, pw, "X"), NULL, &r);
	assert_problem(&r, 413, NULL);
	http_resp_free(&r);
	free(pw);
}

Test(auth, missing_and_wrong_typed_fields_are_422)
{
	static const char *const bodies[] = {
		"{}",
		"{\"email\":\"x@example.com\",\"password\":\"a fine passphrase\"}",
		"{\"email\":1,\"password\":\"a fine passphrase\",\"name\":\"X\"}",
		"{\"email\":\"x@example.com\",\"password\":[\"a\"],\"name\":\"X\"}",
		"{\"email\":\"x@example.com\",\"password\":\"a fine passphrase\",\"name\":null}",
		"{\"email\":\"x@example.com\",\"password\":\"a fine passphrase\",\"name\":\"\"}",
		"{\"email\":\"x@example.com\",\"password\":\"a fine passphrase\",\"name\":\"a\\u0000b\"}",
		"{\"email\":\"x@example.com\",\"password\":\"a fine passphrase\",\"name\":\"X\",\"id\":5}",
		"{\"email\":\"x@example.com\",\"password\":\"a fine passphrase\",\"name\":\"X\",\"disabled\":false}",
		"{\"email\":\"x@example.com\",\"password\":\"a fine passphrase\",\"name\":\"X\",\"password_hash\":\"h\"}",
	};
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct http_resp r;
		api("POST", "/api/v1/auth/register", bodies[i], NULL, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
}

Test(auth, sql_metacharacters_are_plain_data)
{
	char email[160], base[128];
	unique_email(base, sizeof(base), "sqli");
	snprintf(email, sizeof(email), "o'brien+%s", base);
	const char *name = "Robert'); DROP TABLE users;-- \" \\ % _";
	const char *pw = "pa'ss\"word; --\\ OR 1=1";
	long long id = register_user(email, pw, name);
	char *access;
	login_user(email, pw, &access, NULL);
	struct http_resp r;
	api("GET", "/api/v1/users/me", NULL, access, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_str_eq(json_str(&r, "name"), name);
	cr_assert_str_eq(json_str(&r, "email"), email);
	cr_assert_eq(json_int(&r, "id"), id);
	http_resp_free(&r);
	/* A wrong password made of SQL is just a wrong password. */
	struct http_resp r2;
	post_json("/api/v1/auth/login", creds(email, "' OR '1'='1", NULL), NULL, &r2);
	assert_problem(&r2, 401, "invalid_credentials");
	http_resp_free(&r2);
	free(access);
}

Test(auth, unknown_email_and_wrong_password_look_the_same)
{
	char email[128], other[128];
	struct http_resp a, b;
	unique_email(email, sizeof(email), "same");
	unique_email(other, sizeof(other), "nobody");
	register_user(email, TEST_PASSWORD, "X");

	struct timespec t0, t1, t2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	post_json("/api/v1/auth/login", creds(email, "wrong password here", NULL), NULL, &a);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	post_json("/api/v1/auth/login", creds(other, "wrong password here", NULL), NULL, &b);
	clock_gettime(CLOCK_MONOTONIC, &t2);
	assert_problem(&a, 401, "invalid_credentials");
	assert_problem(&b, 401, "invalid_credentials");
	cr_assert_str_eq(json_str(&a, "detail"), json_str(&b, "detail"));
	/* Every 401 carries its challenge (RFC 9110 11.6.1), a sign-in's too. */
	cr_assert_not_null(http_header(&a, "WWW-Authenticate"));
	cr_assert_not_null(http_header(&b, "WWW-Authenticate"));
	/* Both run one argon2id verification: the unknown account is not answered instantly. */
	double known = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	double unknown = (double)(t2.tv_sec - t1.tv_sec) + (double)(t2.tv_nsec - t1.tv_nsec) / 1e9;
	cr_assert_gt(unknown, known * 0.3, "unknown e-mail answered in %.3fs vs %.3fs", unknown, known);
	http_resp_free(&a);
	http_resp_free(&b);
}

Test(auth, lockout_after_five_failures_and_its_expiry)
{
	char email[128], key[200];
	struct http_resp r;
	unique_email(email, sizeof(email), "lock");
	register_user(email, TEST_PASSWORD, "X");
	for (int i = 0; i < 5; i++) {
		post_json("/api/v1/auth/login", creds(email, "not the password", NULL), NULL, &r);
		assert_problem(&r, 401, "invalid_credentials");
		http_resp_free(&r);
	}
	/* Even the right password is refused while locked. */
	post_json("/api/v1/auth/login", creds(email, TEST_PASSWORD, NULL), NULL, &r);
	assert_problem(&r, 429, "locked_out");
	const char *ra = http_header(&r, "Retry-After");
	cr_assert(ra && atoi(ra) > 0 && atoi(ra) <= 900, "Retry-After %s", ra ? ra : "missing");
	http_resp_free(&r);

	/* The window passing (shortened here in Redis) lifts the lock. */
	redisContext *c = test_redis();
	snprintf(key, sizeof(key), "login_fail:%s", email);
	redisReply *rep = redisCommand(c, "PEXPIRE %s 300", key);
	cr_assert(rep && rep->integer == 1, "the lockout counter lives in Redis");
	freeReplyObject(rep);
	redisFree(c);
	struct timespec ts = {0, 600 * 1000000L};
	nanosleep(&ts, NULL);
	login_user(email, TEST_PASSWORD, NULL, NULL);
}

struct guess {
	const char *email;
	long status;
	const char *password; /* NULL: a wrong one */
};

static void *guess_once(void *arg)
{
	struct guess *g = arg;
	struct http_resp r;
	struct json_object *o = creds(g->email, g->password ? g->password : "not the password", NULL);
	api("POST", "/api/v1/auth/login", json_object_to_json_string(o), NULL, &r);
	json_object_put(o);
	g->status = r.status;
	http_resp_free(&r);
	return NULL;
}

/* The count was checked before hashing and raised after it, so guesses in flight together
 * all passed the check: with 4 at a time, 8 passwords were tried in one window. Three at a
 * time show it too and leave a slot of the hash pool (2 per core) to the other tests. */
Test(auth, parallel_guesses_try_at_most_five_passwords, .timeout = 120)
{
	enum { PARALLEL = 3, ROUNDS = 12 };
	char email[128];
	struct http_resp r;
	int tried = 0, locked = 0;
	unique_email(email, sizeof(email), "plock");
	register_user(email, TEST_PASSWORD, "X");
	for (int round = 0; round < ROUNDS && !locked; round++) {
		struct guess g[PARALLEL];
		pthread_t t[PARALLEL];
		for (int i = 0; i < PARALLEL; i++) {
			g[i] = (struct guess){.email = email};
			cr_assert_eq(pthread_create(&t[i], NULL, guess_once, &g[i]), 0);
		}
		for (int i = 0; i < PARALLEL; i++) {
			pthread_join(t[i], NULL);
			/* 401: a password was checked; 429: locked; 503: the hash pool was full, nothing checked. */
			cr_assert(g[i].status == 401 || g[i].status == 429 || g[i].status == 503, "status %ld",
				  g[i].status);
			tried += g[i].status == 401;
			locked += g[i].status == 429;
		}
		cr_assert_leq(tried, 5, "%d passwords tried in one window", tried);
	}
	cr_assert_gt(locked, 0, "never locked out");
	post_json("/api/v1/auth/login", creds(email, TEST_PASSWORD, NULL), NULL, &r);
	assert_problem(&r, 429, "locked_out");
	http_resp_free(&r);
}

/*
 * Sign-ins at once with the right password, to an account whose hash was made with weaker
 * parameters than the service's (each sign-in rehashes it): every one signs in (or is 503 while
 * the hashing is full). Before, the sign-in that lost the upgrade to another compared the
 * account's new hash with its own and answered 401 to a right password; a sign-in now checks
 * the credentials version, which only a password change moves.
 */
Test(auth, sign_ins_at_once_while_the_hash_is_upgraded_all_succeed, .timeout = 120)
{
	enum { PARALLEL = 3 }; /* as the guesses above: leaves hashing slots to the other tests */
	char email[128], hash[crypto_pwhash_STRBYTES];
	unique_email(email, sizeof(email), "rehash");
	long long uid = register_user(email, TEST_PASSWORD, "X");
	cr_assert_geq(sodium_init(), 0);
	cr_assert_eq(crypto_pwhash_str_alg(hash, TEST_PASSWORD, strlen(TEST_PASSWORD), crypto_pwhash_OPSLIMIT_MIN,
					   crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13),
		     0);
	cr_assert_eq(crypto_pwhash_str_verify(hash, TEST_PASSWORD, strlen(TEST_PASSWORD)), 0);
	/* Bound, not through test_sql: a shell would expand the hash's '$'. */
	struct db_conn *db = test_db("user");
	struct db_val p[] = {db_str(hash), db_i64(uid)};
	cr_assert_eq(db_exec(db, "UPDATE users SET password_hash = ? WHERE id = ?", p, 2, NULL), 0, "%s", db->errstr);
	struct guess g[PARALLEL];
	pthread_t t[PARALLEL];
	for (int i = 0; i < PARALLEL; i++) {
		g[i] = (struct guess){.email = email, .password = TEST_PASSWORD};
		cr_assert_eq(pthread_create(&t[i], NULL, guess_once, &g[i]), 0);
	}
	int ok = 0;
	for (int i = 0; i < PARALLEL; i++) {
		pthread_join(t[i], NULL);
		cr_assert(g[i].status == 200 || g[i].status == 503, "a right password got %ld", g[i].status);
		ok += g[i].status == 200;
	}
	cr_assert_gt(ok, 0);
	struct db_rows *r;
	struct db_val q[] = {db_i64(uid)};
	cr_assert_eq(db_query(db, "SELECT password_hash FROM users WHERE id = ?", q, 1, &r), 0);
	cr_assert_str_neq(db_cell(r, 0, 0), hash, "the hash was not upgraded");
	db_rows_free(r);
	test_db_free(db);
}

/* A Redis error other than "unreachable" (here: the counter is of the wrong type) read as
 * "not locked" and let sign-ins through unlimited; it must be a 503. */
Test(auth, lockout_fails_closed_on_a_redis_error)
{
	char email[128], key[200];
	struct http_resp r;
	unique_email(email, sizeof(email), "lockerr");
	register_user(email, TEST_PASSWORD, "X");
	redisContext *c = test_redis();
	snprintf(key, sizeof(key), "login_fail:%s", email);
	redisReply *rep = redisCommand(c, "RPUSH %s x", key);
	cr_assert(rep && rep->type == REDIS_REPLY_INTEGER);
	freeReplyObject(rep);
	post_json("/api/v1/auth/login", creds(email, TEST_PASSWORD, NULL), NULL, &r);
	assert_problem(&r, 503, NULL);
	cr_assert_not_null(http_header(&r, "Retry-After"));
	http_resp_free(&r);
	rep = redisCommand(c, "DEL %s", key);
	freeReplyObject(rep);
	redisFree(c);
	login_user(email, TEST_PASSWORD, NULL, NULL);
}

Test(auth, disabled_account_cannot_log_in)
{
	char email[128], *admin = admin_token();
	struct http_resp r;
	unique_email(email, sizeof(email), "dis");
	long long id = register_user(email, TEST_PASSWORD, "X");
	char path[64], *access;
	login_user(email, TEST_PASSWORD, &access, NULL);
	snprintf(path, sizeof(path), "/api/v1/users/%lld", id);
	api("PATCH", path, "{\"disabled\":true}", admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	/* Its live session ended at once... */
	cr_assert_eq(me_status(access), 401);
	/* ...and it cannot sign in again. */
	post_json("/api/v1/auth/login", creds(email, TEST_PASSWORD, NULL), NULL, &r);
	assert_problem(&r, 403, "account_disabled");
	http_resp_free(&r);
	free(admin);
	free(access);
}

Test(auth, refresh_rotates_and_reuse_revokes_the_session)
{
	char email[128], *access, *refresh, body[256];
	struct http_resp r;
	unique_email(email, sizeof(email), "refresh");
	register_user(email, TEST_PASSWORD, "X");
	login_user(email, TEST_PASSWORD, &access, &refresh);

	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh);
	api("POST", "/api/v1/auth/refresh", body, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *access2 = strdup(json_str(&r, "access_token")), *refresh2 = strdup(json_str(&r, "refresh_token"));
	cr_assert_str_neq(refresh2, refresh);
	http_resp_free(&r);
	cr_assert_eq(me_status(access2), 200);

	/* Presented again before its successor was used, the old token is a retry whose answer
	 * was lost: it gets the same successor, and the session lives on. */
	api("POST", "/api/v1/auth/refresh", body, NULL, &r);
	cr_assert_eq(r.status, 200, "a retried refresh: %s", r.body);
	cr_assert_str_eq(json_str(&r, "refresh_token"), refresh2);
	http_resp_free(&r);
	cr_assert_eq(me_status(access2), 200);

	/* Once the successor is used, the old token is spent: presenting it again revokes the
	 * whole session, the newest tokens included. */
	char body2[256];
	snprintf(body2, sizeof(body2), "{\"refresh_token\":\"%s\"}", refresh2);
	api("POST", "/api/v1/auth/refresh", body2, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *access3 = strdup(json_str(&r, "access_token"));
	snprintf(body2, sizeof(body2), "{\"refresh_token\":\"%s\"}", json_str(&r, "refresh_token"));
	http_resp_free(&r);
	api("POST", "/api/v1/auth/refresh", body, NULL, &r);
	assert_problem(&r, 401, "invalid_token");
	http_resp_free(&r);
	cr_assert_eq(me_status(access2), 401);
	cr_assert_eq(me_status(access3), 401);
	api("POST", "/api/v1/auth/refresh", body2, NULL, &r);
	assert_problem(&r, 401, "invalid_token");
	http_resp_free(&r);
	free(access3);
	free(access);
	free(refresh);
	free(access2);
	free(refresh2);
}

Test(auth, garbage_refresh_tokens_are_401_or_422)
{
	static const char *const bodies[] = {"{\"refresh_token\":\"nope\"}",
					     "{\"refresh_token\":\"00000000000000000000000000000000."
					     "0000000000000000000000000000000000000000000000000000000000000000\"}"};
	for (size_t i = 0; i < 2; i++) {
		struct http_resp r;
		api("POST", "/api/v1/auth/refresh", bodies[i], NULL, &r);
		assert_problem(&r, 401, "invalid_token");
		http_resp_free(&r);
	}
	struct http_resp r;
	api("POST", "/api/v1/auth/refresh", "{\"refresh_token\":42}", NULL, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
}

Test(auth, logout_and_logout_all_take_effect_at_once)
{
	char email[128], *a1, *a2, *a3;
	struct http_resp r;
	unique_email(email, sizeof(email), "logout");
	register_user(email, TEST_PASSWORD, "X");
	login_user(email, TEST_PASSWORD, &a1, NULL);
	login_user(email, TEST_PASSWORD, &a2, NULL);
	login_user(email, TEST_PASSWORD, &a3, NULL);

	api("POST", "/api/v1/auth/logout", NULL, a1, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(me_status(a1), 401);
	cr_assert_eq(me_status(a2), 200);

	api("POST", "/api/v1/auth/logout-all", NULL, a2, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(me_status(a2), 401);
	cr_assert_eq(me_status(a3), 401);
	api("POST", "/api/v1/auth/logout", NULL, NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	cr_assert_not_null(http_header(&r, "WWW-Authenticate"));
	http_resp_free(&r);
	free(a1);
	free(a2);
	free(a3);
}

/* #15.4: sessions per account were unbounded and the per-user index was never pruned. */
Test(auth, sessions_per_account_are_capped_oldest_first_and_the_index_pruned, .timeout = 120)
{
	enum { CAP = 20, N = CAP + 2 }; /* STORE_MAX_SESSIONS's default */
	char email[128], *access[N], key[64];
	unique_email(email, sizeof(email), "cap");
	long long id = register_user(email, TEST_PASSWORD, "X");
	snprintf(key, sizeof(key), "user_sessions:%lld", id);
	redisContext *c = test_redis();

	for (int i = 0; i < N; i++) {
		login_user(email, TEST_PASSWORD, &access[i], NULL);
		usleep(2000); /* distinct end times, so "first to end" is the first signed in */
	}
	/* The two that would end first are gone; every later one works. */
	cr_assert_eq(me_status(access[0]), 401);
	cr_assert_eq(me_status(access[1]), 401);
	for (int i = 2; i < N; i++)
		cr_assert_eq(me_status(access[i]), 200, "session %d of %d", i + 1, N);
	redisReply *rep = redisCommand(c, "ZCARD %s", key);
	cr_assert(rep && rep->type == REDIS_REPLY_INTEGER, "the session index is not a sorted set");
	cr_assert_eq(rep->integer, CAP);
	freeReplyObject(rep);

	/* An index entry whose session has ended is pruned by the next sign-in, and counts
	 * against no cap: the newest sessions all survive it. */
	freeReplyObject(redisCommand(c, "ZADD %s 1 00000000000000000000000000000000", key));
	char *next;
	login_user(email, TEST_PASSWORD, &next, NULL);
	rep = redisCommand(c, "ZSCORE %s 00000000000000000000000000000000", key);
	cr_assert(rep && rep->type == REDIS_REPLY_NIL, "an ended session stayed in the index");
	freeReplyObject(rep);
	rep = redisCommand(c, "ZCARD %s", key);
	cr_assert_eq(rep->integer, CAP);
	freeReplyObject(rep);
	cr_assert_eq(me_status(access[2]), 401, "the oldest live session makes room for the new one");
	cr_assert_eq(me_status(access[N - 1]), 200);
	cr_assert_eq(me_status(next), 200);

	/* Logout-all still reaches every one of them. */
	struct http_resp r;
	api("POST", "/api/v1/auth/logout-all", NULL, next, &r);
	cr_assert_eq(r.status, 204, "%s", r.body);
	http_resp_free(&r);
	for (int i = 3; i < N; i++)
		cr_assert_eq(me_status(access[i]), 401);
	rep = redisCommand(c, "EXISTS %s", key);
	cr_assert_eq(rep->integer, 0);
	freeReplyObject(rep);
	for (int i = 0; i < N; i++)
		free(access[i]);
	free(next);
	redisFree(c);
}

Test(auth, welcome_job_is_on_the_stream)
{
	char email[128];
	unique_email(email, sizeof(email), "welcome");
	register_user(email, TEST_PASSWORD, "Grace");
	redisContext *c = test_redis();
	redisReply *rep = NULL;
	bool found = false;
	/* The user service's outbox relay puts it on the stream within a moment of the commit. */
	for (int tries = 0; tries < 50 && !found; tries++) {
	if (rep) {
		freeReplyObject(rep);
		usleep(100000);
	}
	rep = redisCommand(c, "XREVRANGE jobs:email + - COUNT 500");
	cr_assert(rep && rep->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < rep->elements && !found; i++) {
		redisReply *fields = rep->element[i]->element[1];
		for (size_t k = 0; k + 1 < fields->elements; k += 2) {
			if (strcmp(fields->element[k]->str, "job") != 0)
				continue;
			struct json_object *job = json_tokener_parse(fields->element[k + 1]->str), *v;
			if (job && json_object_object_get_ex(job, "recipient", &v) &&
			    strcmp(json_object_get_string(v), email) == 0) {
				cr_assert(json_object_object_get_ex(job, "type", &v));
				cr_assert_str_eq(json_object_get_string(v), "welcome");
				cr_assert(json_object_object_get_ex(job, "data", &v));
				cr_assert_str_eq(json_object_get_string(json_object_object_get(v, "name")), "Grace");
				cr_assert(json_object_object_get_ex(job, "request_id", &v));
				cr_assert_gt(strlen(json_object_get_string(v)), 8);
				found = true;
			}
			json_object_put(job);
		}
	}
	}
	cr_assert(found, "no welcome job for %s", email);
	freeReplyObject(rep);
	redisFree(c);
}

/* --- forged and broken access tokens -------------------------------------- */

static char *b64url(const char *s)
{
	size_t n = strlen(s), cap = sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char *out = malloc(cap);
	sodium_bin2base64(out, cap, (const unsigned char *)s, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

/* Reads the sid and sub of a real token (its payload, unverified) so forgeries target a live session. */
static void claims_of(const char *token, char *sid, size_t sidlen, char *sub, size_t sublen)
{
	const char *p = strchr(token, '.') + 1, *e = strchr(p, '.');
	unsigned char bin[2048];
	size_t len = 0;
	cr_assert_eq(sodium_base642bin(bin, sizeof(bin) - 1, p, (size_t)(e - p), NULL, &len, NULL,
				       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
		     0);
	bin[len] = '\0';
	struct json_object *o = json_tokener_parse((char *)bin);
	snprintf(sid, sidlen, "%s", json_object_get_string(json_object_object_get(o, "sid")));
	snprintf(sub, sublen, "%s", json_object_get_string(json_object_object_get(o, "sub")));
	json_object_put(o);
}

struct forge {
	jwt_alg_t alg;
	const char *key;
	const char *iss, *aud, *role;
	long iat_off, exp_off;
	bool no_exp, no_iss, no_aud, no_sid;
};

static char *forge(const struct forge *f, const char *sid, const char *sub)
{
	jwt_t *jwt;
	long now = (long)time(NULL);
	jwt_new(&jwt);
	jwt_add_grant(jwt, "sub", sub);
	jwt_add_grant(jwt, "role", f->role ? f->role : "customer");
	if (!f->no_sid)
		jwt_add_grant(jwt, "sid", sid);
	if (!f->no_iss)
		jwt_add_grant(jwt, "iss", f->iss ? f->iss : "store");
	if (!f->no_aud)
		jwt_add_grant(jwt, "aud", f->aud ? f->aud : "store-api");
	jwt_add_grant_int(jwt, "iat", now + f->iat_off);
	if (!f->no_exp)
		jwt_add_grant_int(jwt, "exp", now + (f->exp_off ? f->exp_off : 600));
	const char *key = f->key ? f->key : test_env("STORE_TEST_JWT_SECRET");
	jwt_set_alg(jwt, f->alg, (const unsigned char *)key, (int)strlen(key));
	char *t = jwt_encode_str(jwt);
	jwt_free(jwt);
	return t;
}

Test(tokens, forged_expired_and_malformed_tokens_are_401)
{
	char *access, sid[80], sub[32];
	access = customer_token(NULL);
	claims_of(access, sid, sizeof(sid), sub, sizeof(sub));

	/* Control: a token we mint with the real key and claims is accepted. */
	struct forge ok = {.alg = JWT_ALG_HS256};
	char *good = forge(&ok, sid, sub);
	cr_assert_eq(me_status(good), 200, "the forging helper must make valid tokens");
	free(good);

	const struct forge bad[] = {
		{.alg = JWT_ALG_HS384},
		{.alg = JWT_ALG_HS512},
		{.alg = JWT_ALG_HS256, .key = "another key that is at least thirty-two bytes"},
		{.alg = JWT_ALG_HS256, .iat_off = -1000, .exp_off = -10},
		{.alg = JWT_ALG_HS256, .no_exp = true},
		{.alg = JWT_ALG_HS256, .iss = "someone-else"},
		{.alg = JWT_ALG_HS256, .no_iss = true},
		{.alg = JWT_ALG_HS256, .aud = "other-api"},
		{.alg = JWT_ALG_HS256, .no_aud = true},
		{.alg = JWT_ALG_HS256, .no_sid = true},
		{.alg = JWT_ALG_HS256, .role = "superuser"},
		{.alg = JWT_ALG_HS256, .iat_off = 3600, .exp_off = 4000},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *t = forge(&bad[i], sid, sub);
		cr_assert_eq(me_status(t), 401, "forgery %zu accepted", i);
		free(t);
	}

	/* alg "none" with no signature. */
	char payload[512], *h = b64url("{\"alg\":\"none\",\"typ\":\"JWT\"}"), *p, none[1024];
	snprintf(payload, sizeof(payload),
		 "{\"sub\":\"%s\",\"role\":\"admin\",\"sid\":\"%s\",\"iss\":\"store\",\"aud\":\"store-api\",\"iat\":%ld,"
		 "\"exp\":%ld}",
		 sub, sid, (long)time(NULL), (long)time(NULL) + 600);
	p = b64url(payload);
	snprintf(none, sizeof(none), "%s.%s.", h, p);
	cr_assert_eq(me_status(none), 401);

	/* A flipped signature byte, and a payload swapped under the real signature. */
	char *flip = strdup(access);
	char *last = flip + strlen(flip) - 2;
	*last = *last == 'A' ? 'B' : 'A';
	cr_assert_eq(me_status(flip), 401);
	char swapped[2048];
	const char *sig = strrchr(access, '.');
	snprintf(swapped, sizeof(swapped), "%.*s.%s%s", (int)(strchr(access, '.') - access), access, p, sig);
	cr_assert_eq(me_status(swapped), 401);

	static const char *const junk[] = {"", "abc", "a.b.c", "....", "Bearer"};
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		cr_assert_eq(me_status(junk[i]), 401, "junk token %zu", i);

	/* The genuine token still works: none of this touched the session. */
	cr_assert_eq(me_status(access), 200);
	free(h);
	free(p);
	free(flip);
	free(access);
}

Test(tokens, expired_token_says_so)
{
	char *access = customer_token(NULL), sid[80], sub[32];
	claims_of(access, sid, sizeof(sid), sub, sizeof(sub));
	struct forge f = {.alg = JWT_ALG_HS256, .iat_off = -1000, .exp_off = -10};
	char *t = forge(&f, sid, sub);
	struct http_resp r;
	api("GET", "/api/v1/users/me", NULL, t, &r);
	assert_problem(&r, 401, "token_expired");
	http_resp_free(&r);
	free(t);
	free(access);
}

Test(tokens, token_for_a_revoked_session_is_401)
{
	char *access = customer_token(NULL), sid[80], sub[32];
	claims_of(access, sid, sizeof(sid), sub, sizeof(sub));
	struct http_resp r;
	api("POST", "/api/v1/auth/logout", NULL, access, &r);
	http_resp_free(&r);
	struct forge f = {.alg = JWT_ALG_HS256};
	char *t = forge(&f, sid, sub);
	api("GET", "/api/v1/users/me", NULL, t, &r);
	assert_problem(&r, 401, "session_revoked");
	http_resp_free(&r);
	free(t);
	free(access);
}

Test(tokens, token_claiming_admin_role_gets_the_sessions_role)
{
	char *access = customer_token(NULL), sid[80], sub[32];
	claims_of(access, sid, sizeof(sid), sub, sizeof(sub));
	/* Even with the key, a role claim cannot lift a customer's session to admin. */
	struct forge f = {.alg = JWT_ALG_HS256, .role = "admin"};
	char *t = forge(&f, sid, sub);
	struct http_resp r;
	api("GET", "/api/v1/users", NULL, t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	free(t);
	free(access);
}
