/* test_users.c: /users/me and the admin's user routes, through NGINX. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

/*
 * The last-admin test needs to be the only one changing admins: it disables every other
 * active admin for a moment. The other tests of this program (run in parallel by
 * Criterion) hold this lock shared; that test holds it exclusively.
 */
static int lock_fd = -1;

static void lock_shared(void)
{
	lock_fd = test_lock("test_users", false);
}

static void lock_exclusive(void)
{
	lock_fd = test_lock("test_users", true);
}

static void unlock_admins(void)
{
	test_unlock(&lock_fd);
}

TestSuite(users, .init = lock_shared, .fini = unlock_admins);
TestSuite(last_admin, .init = lock_exclusive, .fini = unlock_admins);

Test(users, me_patch_name)
{
	char *t = customer_token(NULL);
	struct http_resp r;
	api("PATCH", "/api/v1/users/me", "{\"name\":\"Zoë Ünïcode\"}", t, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "name"), "Zoë Ünïcode");
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, t, &r);
	cr_assert_str_eq(json_str(&r, "name"), "Zoë Ünïcode");
	http_resp_free(&r);
	free(t);
}

/* How many live sessions of `uid` there are; asserts that each carries `email` and `name`. */
static int sessions_carry(long long uid, const char *email, const char *name)
{
	redisContext *c = test_redis();
	redisReply *idx = redisCommand(c, "ZRANGE user_sessions:%lld 0 -1", uid);
	int live = 0;
	cr_assert(idx && idx->type == REDIS_REPLY_ARRAY);
	for (size_t i = 0; i < idx->elements; i++) {
		redisReply *h = redisCommand(c, "HMGET session:%s uid email name", idx->element[i]->str);
		cr_assert(h && h->type == REDIS_REPLY_ARRAY && h->elements == 3);
		if (h->element[0]->type == REDIS_REPLY_STRING) {
			live++;
			cr_assert(h->element[1]->type == REDIS_REPLY_STRING && h->element[2]->type == REDIS_REPLY_STRING,
				  "session %s carries no contact", idx->element[i]->str);
			cr_assert_str_eq(h->element[1]->str, email);
			cr_assert_str_eq(h->element[2]->str, name);
		}
		freeReplyObject(h);
	}
	freeReplyObject(idx);
	redisFree(c);
	return live;
}

static char *user_gen(long long uid)
{
	redisContext *c = test_redis();
	redisReply *rep = redisCommand(c, "GET user_gen:%lld", uid);
	char *gen = strdup(rep && rep->type == REDIS_REPLY_STRING ? rep->str : "0");
	freeReplyObject(rep);
	redisFree(c);
	return gen;
}

/* Sessions carry the account's e-mail address and name (the order, payment and review services
 * read them there). A rename reaches every session of the account, and moves its generation
 * on, so that a sign-in that read the account before the rename makes no session with the old
 * name (it reads the account again: the guard users.disable_during_sign_ins_leaves_no_session
 * exercises). Nothing else of the sessions changes: both still work. */
Test(users, rename_reaches_every_session_of_the_account)
{
	char email[128], *a, *b;
	struct http_resp r;
	unique_email(email, sizeof(email), "rename");
	long long uid = register_user(email, TEST_PASSWORD, "Before");
	login_user(email, TEST_PASSWORD, &a, NULL);
	login_user(email, TEST_PASSWORD, &b, NULL);
	cr_assert_geq(sessions_carry(uid, email, "Before"), 2);
	char *gen = user_gen(uid);

	api("PATCH", "/api/v1/users/me", "{\"name\":\"After Rename\"}", a, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	cr_assert_geq(sessions_carry(uid, email, "After Rename"), 2);
	char *moved = user_gen(uid);
	cr_assert_str_neq(moved, gen, "the rename did not move the generation on");
	api("GET", "/api/v1/users/me", NULL, b, &r);
	cr_assert_eq(r.status, 200, "the other session ended: %s", r.body);
	cr_assert_str_eq(json_str(&r, "name"), "After Rename");
	http_resp_free(&r);

	/* A sign-in now carries the new name. */
	login_user(email, TEST_PASSWORD, NULL, NULL);
	cr_assert_geq(sessions_carry(uid, email, "After Rename"), 3);
	free(gen);
	free(moved);
	free(a);
	free(b);
}

struct renamer {
	const char *token, *prefix;
};

static void *rename_loop(void *arg)
{
	const struct renamer *rn = arg;
	char body[96];
	for (int i = 0; i < 12; i++) {
		struct http_resp r;
		snprintf(body, sizeof(body), "{\"name\":\"%s %d\"}", rn->prefix, i);
		api("PATCH", "/api/v1/users/me", body, rn->token, &r);
		cr_assert_eq(r.status, 200, "%s", r.body);
		http_resp_free(&r);
	}
	return NULL;
}

/* Two renames at once may reach Redis in the other order than the database: once both have
 * answered, every session carries the name the account has. */
Test(users, concurrent_renames_leave_the_sessions_with_the_account_name)
{
	char email[128], *a, *b;
	struct http_resp r;
	unique_email(email, sizeof(email), "renamerace");
	long long uid = register_user(email, TEST_PASSWORD, "Start");
	login_user(email, TEST_PASSWORD, &a, NULL);
	login_user(email, TEST_PASSWORD, &b, NULL);
	struct renamer ra = {a, "Alpha"}, rb = {b, "Bravo"};
	pthread_t ta, tb;
	cr_assert_eq(pthread_create(&ta, NULL, rename_loop, &ra), 0);
	cr_assert_eq(pthread_create(&tb, NULL, rename_loop, &rb), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	api("GET", "/api/v1/users/me", NULL, a, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	char *name = strdup(json_str(&r, "name"));
	http_resp_free(&r);
	cr_assert_eq(sessions_carry(uid, email, name), 2);
	free(name);
	free(a);
	free(b);
}

/* Redis refusing the rename (here: the generation key made a list, so the script fails) after
 * the name is saved: 503 unavailable, and the same request again, once Redis works, renames
 * every session. */
Test(users, rename_the_sessions_could_not_take_is_503_then_retried)
{
	char email[128], *t;
	struct http_resp r;
	unique_email(email, sizeof(email), "renamefail");
	long long uid = register_user(email, TEST_PASSWORD, "Before");
	login_user(email, TEST_PASSWORD, &t, NULL);
	redisContext *c = test_redis();
	freeReplyObject(redisCommand(c, "DEL user_gen:%lld", uid));
	freeReplyObject(redisCommand(c, "RPUSH user_gen:%lld x", uid));

	api("PATCH", "/api/v1/users/me", "{\"name\":\"After\"}", t, &r);
	assert_problem(&r, 503, "unavailable");
	http_resp_free(&r);
	cr_assert_eq(sessions_carry(uid, email, "Before"), 1, "a failed rename changed a session");

	freeReplyObject(redisCommand(c, "DEL user_gen:%lld", uid));
	redisFree(c);
	api("PATCH", "/api/v1/users/me", "{\"name\":\"After\"}", t, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	cr_assert_eq(sessions_carry(uid, email, "After"), 1);
	free(t);
}

Test(users, me_patch_rejects_what_a_client_may_not_set)
{
	static const char *const bodies[] = {"{\"role\":\"admin\"}",
					     "{\"disabled\":false}",
					     "{\"id\":1}",
					     "{\"email\":\"new@example.com\"}",
					     "{\"password_hash\":\"x\"}",
					     "{}",
					     "{\"name\":\"\"}",
					     "{\"name\":12}",
					     "{\"new_password\":\"a fine new passphrase\"}",
					     "{\"current_password\":\"x\"}"};
	char *t = customer_token(NULL);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		struct http_resp r;
		api("PATCH", "/api/v1/users/me", bodies[i], t, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	struct http_resp r;
	api("GET", "/api/v1/users/me", NULL, t, &r);
	cr_assert_str_eq(json_str(&r, "role"), "customer");
	cr_assert_str_eq(json_str(&r, "name"), "Customer");
	http_resp_free(&r);
	free(t);
}

Test(users, password_change_revokes_other_sessions_and_mails)
{
	char email[128], *keep, *other, body[256];
	struct http_resp r;
	unique_email(email, sizeof(email), "pwchange");
	register_user(email, TEST_PASSWORD, "X");
	login_user(email, TEST_PASSWORD, &keep, NULL);
	login_user(email, TEST_PASSWORD, &other, NULL);

	api("PATCH", "/api/v1/users/me",
	    "{\"current_password\":\"wrong wrong wrong\",\"new_password\":\"a brand new passphrase\"}", keep, &r);
	assert_problem(&r, 422, "validation_failed");
	cr_assert_not_null(strstr(r.body, "current_password"));
	http_resp_free(&r);
	snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"password1234\"}", TEST_PASSWORD);
	api("PATCH", "/api/v1/users/me", body, keep, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);

	snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"a brand new passphrase\"}",
		 TEST_PASSWORD);
	api("PATCH", "/api/v1/users/me", body, keep, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);

	api("GET", "/api/v1/users/me", NULL, keep, &r);
	cr_assert_eq(r.status, 200, "the session that changed the password stays");
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, other, &r);
	assert_problem(&r, 401, "session_revoked");
	http_resp_free(&r);
	login_user(email, "a brand new passphrase", NULL, NULL);
	api("POST", "/api/v1/auth/login", NULL, NULL, &r);
	http_resp_free(&r);

	/* The job goes onto the stream through the user service's outbox, a moment after the commit. */
	cr_assert(test_job_on_stream("password_changed", email, 10), "no password_changed job for %s", email);
	free(keep);
	free(other);
}

/* POST /auth/refresh with `refresh`: the status. */
static long refresh_status(const char *refresh)
{
	char body[256];
	struct http_resp r;
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh);
	api("POST", "/api/v1/auth/refresh", body, NULL, &r);
	long status = r.status;
	http_resp_free(&r);
	return status;
}

/*
 * A password change whose revocation of the other sessions failed (Redis refusing it: here the
 * generation key made a list) answers 503, but the password is changed: a retry of the request
 * can no longer pass its current_password check. The other sessions must still end, at their
 * next refresh at the latest. Before, they lived on for good, a thief's among them.
 */
Test(users, a_password_change_whose_revocation_failed_still_ends_the_other_sessions)
{
	char email[128], *keep, *keep_refresh, *other, *other_refresh, body[256];
	struct http_resp r;
	unique_email(email, sizeof(email), "pwrevokefail");
	long long uid = register_user(email, TEST_PASSWORD, "X");
	login_user(email, TEST_PASSWORD, &keep, &keep_refresh);
	login_user(email, TEST_PASSWORD, &other, &other_refresh);
	redisContext *c = test_redis();
	freeReplyObject(redisCommand(c, "DEL user_gen:%lld", uid));
	freeReplyObject(redisCommand(c, "RPUSH user_gen:%lld x", uid));
	snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"a brand new passphrase\"}",
		 TEST_PASSWORD);
	api("PATCH", "/api/v1/users/me", body, keep, &r);
	assert_problem(&r, 503, "unavailable");
	http_resp_free(&r);
	freeReplyObject(redisCommand(c, "DEL user_gen:%lld", uid));
	redisFree(c);

	cr_assert_eq(refresh_status(other_refresh), 401, "a session from before the password change refreshed");
	cr_assert_eq(refresh_status(keep_refresh), 200, "the session that changed the password ended");
	login_user(email, "a brand new passphrase", NULL, NULL);
	free(keep);
	free(keep_refresh);
	free(other);
	free(other_refresh);
}

Test(users, customer_cannot_use_admin_routes)
{
	long long me;
	char *t = customer_token(&me), path[64];
	struct http_resp r;

	api("GET", "/api/v1/users", NULL, t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/users/%lld", me - 1 > 0 ? me - 1 : me + 1);
	api("GET", path, NULL, t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/users/%lld", me);
	api("PATCH", path, "{\"role\":\"admin\"}", t, &r);
	assert_problem(&r, 403, "forbidden");
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, t, &r);
	cr_assert_str_eq(json_str(&r, "role"), "customer");
	http_resp_free(&r);
	api("GET", "/api/v1/users", NULL, NULL, &r);
	assert_problem(&r, 401, "unauthenticated");
	http_resp_free(&r);
	free(t);
}

Test(users, admin_lists_searches_and_pages)
{
	char *admin = admin_token(), prefix[64], email[128], path[256];
	struct http_resp r;
	snprintf(prefix, sizeof(prefix), "page%d-", (int)getpid());
	for (int i = 0; i < 3; i++) {
		snprintf(email, sizeof(email), "%s%d@example.com", prefix, i);
		register_user(email, TEST_PASSWORD, "P");
	}
	snprintf(path, sizeof(path), "/api/v1/users?email=%s&limit=2", prefix);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "total"), 3);
	cr_assert_eq(json_int(&r, "limit"), 2);
	cr_assert_eq(json_int(&r, "offset"), 0);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 2);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/users?email=%s&limit=2&offset=2", prefix);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 1);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/api/v1/users?email=%s&offset=50", prefix);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_object_array_length(json_object_object_get(r.json, "items")), 0);
	http_resp_free(&r);
	/* LIKE wildcards in the prefix match literally. */
	api("GET", "/api/v1/users?email=%25", NULL, admin, &r);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(json_int(&r, "total"), 0, "%s", r.body);
	http_resp_free(&r);

	static const char *const bad[] = {"?limit=0", "?limit=101", "?limit=-1", "?limit=abc", "?offset=-1",
					  "?limit=1e2", "?sort=name", "?limit=1&limit=2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/api/v1/users%s", bad[i]);
		api("GET", path, NULL, admin, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	free(admin);
}

Test(users, admin_reads_and_changes_a_user)
{
	char *admin = admin_token(), path[64];
	long long id;
	char *cust = customer_token(&id);
	struct http_resp r;

	snprintf(path, sizeof(path), "/api/v1/users/%lld", id);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "id"), id);
	http_resp_free(&r);

	static const char *const bad[] = {"{\"role\":\"root\"}", "{\"disabled\":\"yes\"}", "{\"name\":\"x\"}", "{}",
					  "{\"role\":null}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		api("PATCH", path, bad[i], admin, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	/* Promotion ends the user's sessions (their tokens carried the old role). */
	api("PATCH", path, "{\"role\":\"admin\"}", admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "role"), "admin");
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, cust, &r);
	assert_problem(&r, 401, "session_revoked");
	http_resp_free(&r);

	api("GET", "/api/v1/users/999999999999", NULL, admin, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("PATCH", "/api/v1/users/999999999999", "{\"disabled\":true}", admin, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", "/api/v1/users/abc", NULL, admin, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", "/api/v1/users/99999999999999999999999", NULL, admin, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	free(admin);
	free(cust);
}

/* --- #15.1: sign-ins and refreshes racing an access change ------------------------------ */

#define RACE_THREADS 3 /* below the lockout's 5, and leaving hash slots to the tests beside */
#define RACE_TOKENS 128

struct racer {
	const char *email;
	volatile int *stop;
	char *access[RACE_TOKENS], *refresh[RACE_TOKENS];
	int n;
};

/* Signs in (and refreshes each new session once) until told to stop, keeping every pair. */
static void *sign_in_loop(void *arg)
{
	struct racer *rc = arg;
	char body[512];
	while (!*rc->stop && rc->n < RACE_TOKENS) {
		struct http_resp r;
		snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", rc->email, TEST_PASSWORD);
		api("POST", "/api/v1/auth/login", body, NULL, &r);
		if (r.status == 200) {
			snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", json_str(&r, "refresh_token"));
			rc->access[rc->n] = strdup(json_str(&r, "access_token"));
			rc->refresh[rc->n++] = strdup(json_str(&r, "refresh_token"));
			http_resp_free(&r);
			api("POST", "/api/v1/auth/refresh", body, NULL, &r);
			if (r.status == 200 && rc->n < RACE_TOKENS) {
				rc->access[rc->n] = strdup(json_str(&r, "access_token"));
				rc->refresh[rc->n++] = strdup(json_str(&r, "refresh_token"));
			}
		}
		http_resp_free(&r);
	}
	return NULL;
}

/*
 * Runs RACE_THREADS sign-in loops of `email` and, while they run, the admin's PATCH `body`
 * on `path` (must answer 200). Returns when every sign-in in flight has finished; the
 * pairs they got are in `rc` (caller frees with free_racers).
 */
static void race_change(const char *email, const char *path, const char *body, const char *admin,
			struct racer rc[RACE_THREADS])
{
	volatile int stop = 0;
	pthread_t t[RACE_THREADS];
	struct http_resp r;
	for (int i = 0; i < RACE_THREADS; i++) {
		rc[i] = (struct racer){.email = email, .stop = &stop};
		cr_assert_eq(pthread_create(&t[i], NULL, sign_in_loop, &rc[i]), 0);
	}
	usleep(400000);
	api("PATCH", path, body, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	stop = 1;
	for (int i = 0; i < RACE_THREADS; i++)
		pthread_join(t[i], NULL);
}

static void free_racers(struct racer rc[RACE_THREADS])
{
	for (int i = 0; i < RACE_THREADS; i++)
		for (int k = 0; k < rc[i].n; k++) {
			free(rc[i].access[k]);
			free(rc[i].refresh[k]);
		}
}

/* A sign-in that read the account before the disable used to create its session after the
 * revocation had run: that session lived on, however disabled the account. */
Test(users, disable_during_sign_ins_leaves_no_session, .timeout = 120)
{
	char *admin = admin_token(), email[128], path[64], body[512];
	struct racer rc[RACE_THREADS];
	int total = 0;
	for (int round = 0; round < 3; round++) {
		unique_email(email, sizeof(email), "racedis");
		snprintf(path, sizeof(path), "/api/v1/users/%lld", register_user(email, TEST_PASSWORD, "Racer"));
		race_change(email, path, "{\"disabled\":true}", admin, rc);
		for (int i = 0; i < RACE_THREADS; i++)
			for (int k = 0; k < rc[i].n; k++, total++) {
				struct http_resp r;
				api("GET", "/api/v1/users/me", NULL, rc[i].access[k], &r);
				cr_assert_eq(r.status, 401, "round %d: a session outlived the disable: %s", round, r.body);
				http_resp_free(&r);
				snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rc[i].refresh[k]);
				api("POST", "/api/v1/auth/refresh", body, NULL, &r);
				cr_assert_eq(r.status, 401, "round %d: a disabled account refreshed: %s", round, r.body);
				http_resp_free(&r);
			}
		free_racers(rc);
	}
	cr_assert_gt(total, 0, "no sign-in succeeded before the disable");
	free(admin);
}

/* The same race with a demotion: no session may keep the admin role once it has answered. */
Test(users, demotion_during_sign_ins_leaves_no_admin_session, .timeout = 120)
{
	char *admin = admin_token(), email[128], path[64], body[512], sql[512], id[32];
	struct racer rc[RACE_THREADS];
	int total = 0;
	for (int round = 0; round < 3; round++) {
		unique_email(email, sizeof(email), "racedem");
		make_admin(email, TEST_PASSWORD);
		snprintf(sql, sizeof(sql), "SELECT id FROM users WHERE email = '%s'", email);
		test_sql("store_user", sql, id, sizeof(id));
		snprintf(path, sizeof(path), "/api/v1/users/%s", id);
		race_change(email, path, "{\"role\":\"customer\"}", admin, rc);
		for (int i = 0; i < RACE_THREADS; i++)
			for (int k = 0; k < rc[i].n; k++, total++) {
				struct http_resp r;
				api("GET", "/api/v1/users?limit=1", NULL, rc[i].access[k], &r);
				cr_assert_neq(r.status, 200, "round %d: a session kept the admin role", round);
				http_resp_free(&r);
				snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", rc[i].refresh[k]);
				api("POST", "/api/v1/auth/refresh", body, NULL, &r);
				if (r.status == 200) {
					char *a = strdup(json_str(&r, "access_token"));
					http_resp_free(&r);
					api("GET", "/api/v1/users?limit=1", NULL, a, &r);
					cr_assert_neq(r.status, 200, "round %d: a refresh gave back the admin role", round);
					free(a);
				}
				http_resp_free(&r);
			}
		free_racers(rc);
	}
	cr_assert_gt(total, 0, "no sign-in succeeded before the demotion");
	free(admin);
}

Test(users, admin_cannot_demote_or_disable_self)
{
	char *admin = admin_token();
	struct http_resp r;
	api("GET", "/api/v1/users/me", NULL, admin, &r);
	long long me = json_int(&r, "id");
	http_resp_free(&r);
	char path[64];
	snprintf(path, sizeof(path), "/api/v1/users/%lld", me);
	api("PATCH", path, "{\"role\":\"customer\"}", admin, &r);
	assert_problem(&r, 409, "cannot_change_self");
	http_resp_free(&r);
	api("PATCH", path, "{\"disabled\":true}", admin, &r);
	assert_problem(&r, 409, "cannot_change_self");
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, admin, &r);
	cr_assert_str_eq(json_str(&r, "role"), "admin");
	http_resp_free(&r);
	free(admin);
}

Test(users, password_change_guesses_are_locked_out)
{
	char *t = customer_token(NULL);
	struct http_resp r;
	for (int i = 0; i < 5; i++) {
		api("PATCH", "/api/v1/users/me", "{\"current_password\":\"guess guess guess\",\"new_password\":\"a brand new passphrase\"}", t, &r);
		assert_problem(&r, 422, "validation_failed");
		http_resp_free(&r);
	}
	char body[256];
	snprintf(body, sizeof(body), "{\"current_password\":\"%s\",\"new_password\":\"a brand new passphrase\"}", TEST_PASSWORD);
	api("PATCH", "/api/v1/users/me", body, t, &r);
	assert_problem(&r, 429, "locked_out");
	cr_assert_not_null(http_header(&r, "Retry-After"));
	http_resp_free(&r);
	free(t);
}

Test(users, blank_and_escaped_duplicate_fields_are_refused)
{
	char *t = customer_token(NULL);
	struct http_resp r;
	api("PATCH", "/api/v1/users/me", "{\"name\":\"   \"}", t, &r);
	assert_problem(&r, 422, "validation_failed");
	http_resp_free(&r);
	/* Straight to the gateway: a proxy that parses JSON would merge the two keys. */
	api_raw("PATCH", "/api/v1/users/me", "{\"name\":\"a\",\"na\\u006de\":\"b\"}", t, &r);
	assert_problem(&r, 400, "malformed_json");
	http_resp_free(&r);
	api_raw("PATCH", "/api/v1/users/me", "{\"name\":\"\\ud83d\"}", t, &r);
	assert_problem(&r, 400, "malformed_json");
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, t, &r);
	cr_assert_str_eq(json_str(&r, "name"), "Customer");
	http_resp_free(&r);
	free(t);
}


struct demote {
	const char *token, *path, *body;
	long status;
};

static void *demote_other(void *arg)
{
	struct demote *d = arg;
	struct http_resp r;
	api("PATCH", d->path, d->body, d->token, &r);
	d->status = r.status;
	if (r.status != 200)
		assert_problem(&r, r.status, NULL);
	http_resp_free(&r);
	return NULL;
}

/* Each admin checked only "not myself", so two admins demoting or disabling each other at
 * once could both succeed and leave the shop without an active admin. */
Test(last_admin, admins_demoting_each_other_leave_one_admin, .timeout = 180)
{
	char ea[128], eb[128], pa[64], pb[64], others[8192], sql[9000], n[32];
	unique_email(ea, sizeof(ea), "lasta");
	unique_email(eb, sizeof(eb), "lastb");
	make_admin(ea, TEST_PASSWORD);
	make_admin(eb, TEST_PASSWORD);
	snprintf(sql, sizeof(sql), "SELECT id FROM users WHERE email = '%s'", ea);
	test_sql("store_user", sql, n, sizeof(n));
	snprintf(pa, sizeof(pa), "/api/v1/users/%s", n);
	long long a = atoll(n);
	snprintf(sql, sizeof(sql), "SELECT id FROM users WHERE email = '%s'", eb);
	test_sql("store_user", sql, n, sizeof(n));
	snprintf(pb, sizeof(pb), "/api/v1/users/%s", n);
	long long b = atoll(n);

	/* Only these two are active admins for the length of the test. */
	snprintf(sql, sizeof(sql),
		 "SELECT IFNULL(GROUP_CONCAT(id), '0') FROM users WHERE role = 'admin' AND NOT disabled AND id NOT IN (%lld, %lld)",
		 a, b);
	test_sql("store_user", sql, others, sizeof(others));
	snprintf(sql, sizeof(sql), "UPDATE users SET disabled = TRUE WHERE id IN (%s)", others);
	test_sql("store_user", sql, NULL, 0);

	static const char *const bodies[] = {"{\"role\":\"customer\"}", "{\"disabled\":true}"};
	for (int round = 0; round < 16; round++) {
		char *ta, *tb;
		snprintf(sql, sizeof(sql), "UPDATE users SET role = 'admin', disabled = FALSE WHERE id IN (%lld, %lld)", a, b);
		test_sql("store_user", sql, NULL, 0);
		login_user(ea, TEST_PASSWORD, &ta, NULL);
		login_user(eb, TEST_PASSWORD, &tb, NULL);
		struct demote d[2] = {{ta, pb, bodies[round % 2], 0}, {tb, pa, bodies[(round / 2) % 2], 0}};
		pthread_t t[2];
		for (int i = 0; i < 2; i++)
			cr_assert_eq(pthread_create(&t[i], NULL, demote_other, &d[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		test_sql("store_user", "SELECT COUNT(*) FROM users WHERE role = 'admin' AND NOT disabled", n, sizeof(n));
		cr_assert(atoi(n) >= 1, "round %d: no active admin left (answers %ld, %ld)", round, d[0].status,
			  d[1].status);
		cr_assert(!(d[0].status == 200 && d[1].status == 200), "round %d: both changes applied", round);
		for (int i = 0; i < 2; i++)
			cr_assert(d[i].status == 200 || d[i].status == 401 || d[i].status == 409, "round %d: %ld", round,
				  d[i].status);
		free(ta);
		free(tb);
	}
	snprintf(sql, sizeof(sql), "UPDATE users SET disabled = FALSE WHERE id IN (%s)", others);
	test_sql("store_user", sql, NULL, 0);
}

/* The rule holds one request at a time too: the last active admin cannot be demoted or
 * disabled by anyone (here: the other admin is disabled behind its back first). */
Test(last_admin, last_active_admin_cannot_be_removed)
{
	char ea[128], eb[128], pa[64], others[8192], sql[9000], n[32];
	struct http_resp r;
	unique_email(ea, sizeof(ea), "onlya");
	unique_email(eb, sizeof(eb), "onlyb");
	make_admin(ea, TEST_PASSWORD);
	make_admin(eb, TEST_PASSWORD);
	snprintf(sql, sizeof(sql), "SELECT id FROM users WHERE email = '%s'", ea);
	test_sql("store_user", sql, n, sizeof(n));
	snprintf(pa, sizeof(pa), "/api/v1/users/%s", n);
	long long a = atoll(n);
	char *ta, *tb;
	login_user(ea, TEST_PASSWORD, &ta, NULL);
	login_user(eb, TEST_PASSWORD, &tb, NULL);
	/* B keeps its live admin session while its row says disabled: A is the last active admin. */
	snprintf(sql, sizeof(sql),
		 "SELECT IFNULL(GROUP_CONCAT(id), '0') FROM users WHERE role = 'admin' AND NOT disabled AND id <> %lld", a);
	test_sql("store_user", sql, others, sizeof(others));
	snprintf(sql, sizeof(sql), "UPDATE users SET disabled = TRUE WHERE id IN (%s)", others);
	test_sql("store_user", sql, NULL, 0);
	api("PATCH", pa, "{\"role\":\"customer\"}", tb, &r);
	assert_problem(&r, 409, "last_admin");
	http_resp_free(&r);
	api("PATCH", pa, "{\"disabled\":true}", tb, &r);
	assert_problem(&r, 409, "last_admin");
	http_resp_free(&r);
	/* A refused change signs nobody out (sessions used to be ended before the database said no). */
	api("GET", "/api/v1/users?limit=1", NULL, ta, &r);
	cr_assert_eq(r.status, 200, "the 409 signed the admin out: %s", r.body);
	http_resp_free(&r);
	/* Changes that keep it an active admin still pass. */
	api("PATCH", pa, "{\"role\":\"admin\",\"disabled\":false}", tb, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	snprintf(sql, sizeof(sql), "UPDATE users SET disabled = FALSE WHERE id IN (%s)", others);
	test_sql("store_user", sql, NULL, 0);
	free(ta);
	free(tb);
}
