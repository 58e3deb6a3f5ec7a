/* test_resilience.c: Redis stopped, paused or killed and MariaDB connections killed under a running stack.
 * Each test stops or stalls shared backends, so each holds an exclusive lock: one at a time. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"
#include "db.h"
#include "rig.h"

static int lock_fd = -1;

static void lock_backends(void)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/test_resilience.lock", test_env("STORE_TEST_VAR"));
	lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600); /* not held by a Redis it starts */
	cr_assert(lock_fd >= 0 && flock(lock_fd, LOCK_EX) == 0, "cannot lock %s", path);
}

static void unlock_backends(void)
{
	if (lock_fd >= 0)
		close(lock_fd);
	lock_fd = -1;
}

TestSuite(resilience, .init = lock_backends, .fini = unlock_backends, .timeout = 180);

/* Runs one Redis command on the test stack's Redis from a connection of its own; asserts
 * that it is not an error. */
static void redis_do(const char *fmt, const char *arg)
{
	redisContext *c = test_redis();
	redisReply *rep = redisCommand(c, fmt, arg);
	cr_assert(rep && rep->type != REDIS_REPLY_ERROR, "%s: %s", fmt, rep ? rep->str : c->errstr);
	freeReplyObject(rep);
	redisFree(c);
}

static void redis_stop(void)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "redis-cli -h 127.0.0.1 -p %s SHUTDOWN SAVE >/dev/null 2>&1; true",
		 test_env("STORE_TEST_REDIS_PORT"));
	cr_assert_eq(system(cmd), 0);
	for (int i = 0; i < 50; i++) {
		redisContext *c = redisConnect("127.0.0.1", atoi(test_env("STORE_TEST_REDIS_PORT")));
		bool up = c && !c->err;
		redisFree(c);
		if (!up)
			return;
		usleep(100000);
	}
	cr_assert_fail("Redis did not stop");
}

/* Starts Redis again the way scripts/store does, on the same data directory. */
static void redis_start(void)
{
	char cmd[2048];
	const char *var = test_env("STORE_TEST_VAR"), *port = test_env("STORE_TEST_REDIS_PORT");
	snprintf(cmd, sizeof(cmd),
		 "redis-server --port %s --bind 127.0.0.1 --protected-mode yes --dir %s/redis --pidfile %s/run/redis.pid "
		 "--logfile %s/log/redis.log --daemonize yes --save '60 1' --appendonly yes --appendfsync everysec "
		 ">/dev/null",
		 port, var, var, var);
	cr_assert_eq(system(cmd), 0);
	for (int i = 0; i < 50; i++) {
		redisContext *c = redisConnect("127.0.0.1", atoi(port));
		bool up = c && !c->err;
		redisFree(c);
		if (up)
			return;
		usleep(100000);
	}
	cr_assert_fail("Redis did not start");
}

/* The id at the end of "/api/v1/products/<id>". */
static long long json_int_path(const char *path)
{
	return atoll(strrchr(path, '/') + 1);
}

/* Starts program `name` (`bin`: its path in the checkout) again as scripts/store does: its
 * env file, its log and pid file. */
static void program_start(const char *name, const char *bin)
{
	char cmd[4096];
	const char *store = test_env("STORE_TEST_STORE"), *var = test_env("STORE_TEST_VAR");
	snprintf(cmd, sizeof(cmd),
		 "(set -a; . '%s/env/%s.env'; set +a; exec setsid '%.*s/../%s' "
		 ">>'%s/log/%s.log' 2>&1 </dev/null) & echo $! >'%s/run/%s.pid'",
		 var, name, (int)(strrchr(store, '/') - store), store, bin, var, name, var, name);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
}

/* Creates an active product priced 700 (sku and name from `tag`) and writes its path. */
static void new_product(const char *admin, const char *tag, char path[64])
{
	char body[256];
	struct http_resp r;
	snprintf(body, sizeof(body),
		 "{\"sku\":\"%s-%d-%ld\",\"name\":\"%s %d-%ld\",\"price\":700,\"currency\":\"EUR\",\"status\":\"active\"}",
		 tag, (int)getpid(), (long)time(NULL), tag, (int)getpid(), (long)time(NULL));
	api("POST", "/api/v1/products", body, admin, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(path, 64, "/api/v1/products/%lld", json_int(&r, "id"));
	http_resp_free(&r);
}

Test(resilience, redis_down_and_database_connections_lost)
{
	char *admin = admin_token(), body[256], path[64];
	struct http_resp r;
	new_product(admin, "RES", path);
	api("GET", path, NULL, NULL, &r); /* warms the cache */
	http_resp_free(&r);

	/* Phase 1: Redis stopped. Reads come from MariaDB; signed-in routes say 503, not 500. */
	redis_stop();
	api("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "product read with Redis down: %s", r.body);
	cr_assert_eq(json_int(&r, "price"), 700);
	http_resp_free(&r);
	api("GET", "/api/v1/products?sort=price&limit=5", NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, admin, &r);
	assert_problem(&r, 503, "unavailable");
	http_resp_free(&r);
	api("GET", "/api/v1/products/health", NULL, NULL, &r);
	assert_problem(&r, 503, "unavailable");
	http_resp_free(&r);
	/* A registration while Redis is down is taken, and its welcome e-mail waits in the user
	 * service's outbox (it used to be dropped). */
	char email[96], reg[256];
	snprintf(email, sizeof(email), "redis-down-%d-%ld@example.com", (int)getpid(), (long)time(NULL));
	snprintf(reg, sizeof(reg), "{\"email\":\"%s\",\"password\":\"correct horse battery\",\"name\":\"Outage\"}", email);
	api("POST", "/api/v1/auth/register", reg, NULL, &r);
	cr_assert_eq(r.status, 201, "register with Redis down: %s", r.body);
	http_resp_free(&r);

	/* Redis back: the sessions were saved, the same token works again within seconds. */
	redis_start();
	cr_assert(test_job_on_stream("welcome", email, 15), "the welcome e-mail of a registration made while Redis was down was lost");
	test_until_ok("/api/v1/users/me", admin);
	test_until_ok("/api/v1/products/health", NULL);
	/* A thread that failed to reach Redis waits 1 s before trying again (lib/redis.c), so
	 * a down Redis costs requests nothing; after that every thread is back. */
	usleep(1100000);
	for (int i = 0; i < 20; i++) {
		api("GET", "/api/v1/users/me", NULL, admin, &r);
		cr_assert_eq(r.status, 200, "after Redis came back: %s", r.body);
		http_resp_free(&r);
	}

	/* Phase 2: every service connection to MariaDB killed; each thread reconnects. */
	const char *sock = test_env("STORE_TEST_DB_SOCKET"), *user = test_env("STORE_TEST_DB_ADMIN_USER");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "mariadb --no-defaults --socket=%s -u %s -N -e \"SELECT CONCAT('KILL CONNECTION ', id, ';') FROM "
		 "information_schema.processlist WHERE user LIKE 'store\\_%%'\" | mariadb --no-defaults --socket=%s -u %s",
		 sock, user, sock, user);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	/* Reads are retried on a fresh connection at once: no request sees the killed ones. */
	for (int i = 0; i < 20; i++) {
		api("GET", path, NULL, NULL, &r);
		cr_assert_eq(r.status, 200, "read after the kill: %s", r.body);
		http_resp_free(&r);
	}
	for (int i = 0; i < 20; i++) {
		api("GET", "/api/v1/users/me", NULL, admin, &r);
		cr_assert_eq(r.status, 200, "after reconnecting: %s", r.body);
		http_resp_free(&r);
	}

	/* Phase 3: the product service stopped. Inventory cannot tell shoppers which products are
	 * on sale, so it answers 503 rather than guess; staff still read stock. */
	long long pid = json_int_path(path);
	snprintf(body, sizeof(body), "{\"on_hand\":4,\"low_stock_threshold\":0}");
	char stock[64];
	snprintf(stock, sizeof(stock), "/api/v1/inventory/%lld", pid);
	api("PUT", stock, body, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	test_service_stop("product"); /* every instance */
	/* The gateway's own answer for a service that is not listening: 502, retryable like a 503. */
	api("GET", "/api/v1/products/health", NULL, NULL, &r);
	assert_problem(&r, 502, "bad_gateway");
	const char *ra = http_header(&r, "Retry-After");
	cr_assert(ra && atoi(ra) > 0, "gateway 502 without Retry-After");
	cr_assert_not_null(http_header(&r, "X-Request-Id"));
	http_resp_free(&r);
	api("GET", stock, NULL, NULL, &r);
	assert_problem(&r, 503, "unavailable");
	cr_assert_not_null(http_header(&r, "Retry-After"));
	http_resp_free(&r);
	api("GET", stock, NULL, admin, &r);
	cr_assert_eq(r.status, 200, "staff read stock without the product service: %s", r.body);
	cr_assert_eq(json_int(&r, "on_hand"), 4);
	http_resp_free(&r);
	api("PUT", stock, body, admin, &r);
	assert_problem(&r, 503, "unavailable");
	http_resp_free(&r);
	test_service_start("product");
	test_until_ok("/api/v1/products/health", NULL);
	test_until_ok(stock, NULL);
	free(admin);
}

/*
 * Keeps Redis itself busy for `ms` (a script that spins on TIME: unlike CLIENT PAUSE, which
 * drops the command of a client that hangs up meanwhile, commands that arrive are read and
 * run afterwards, as after any stall). Returns at once; redis_stall_end waits for the end.
 */
static redisContext *redis_stall(int ms)
{
	static const char spin[] = "local s = redis.call('TIME') "
				   "local e = tonumber(s[1]) * 1000000 + tonumber(s[2]) + tonumber(ARGV[1]) * 1000 "
				   "repeat s = redis.call('TIME') until tonumber(s[1]) * 1000000 + tonumber(s[2]) >= e "
				   "return 1";
	char mss[16];
	int done = 0;
	redisContext *c = test_redis();
	snprintf(mss, sizeof(mss), "%d", ms);
	cr_assert_eq(redisAppendCommand(c, "EVAL %s 0 %s", spin, mss), REDIS_OK);
	while (!done)
		cr_assert_eq(redisBufferWrite(c, &done), REDIS_OK);
	usleep(50000); /* the script has started */
	return c;
}

static void redis_stall_end(redisContext *c)
{
	struct timeval tv = {10, 0};
	void *rep = NULL;
	redisSetTimeout(c, tv);
	cr_assert_eq(redisGetReply(c, &rep), REDIS_OK, "%s", c->errstr);
	freeReplyObject(rep);
	redisFree(c);
}

/* #15.2: Redis stalled past the services' timeout (500 ms) while a refresh ran: the rotation
 * still happened once Redis went on, and the automatic resend on a new connection looked
 * like token reuse, so the session was revoked after the client had been told "503, retry". */
Test(resilience, refresh_answered_503_can_be_retried_with_the_same_token)
{
	char email[128], *refresh, body[256];
	struct http_resp r;
	unique_email(email, sizeof(email), "retryref");
	register_user(email, TEST_PASSWORD, "X");
	login_user(email, TEST_PASSWORD, NULL, &refresh);
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", refresh);

	/* Redis busy for 1.5 s: the rotation is read and run when it is free again, long after the
	 * service gave up waiting for its answer. */
	redisContext *stall = redis_stall(1500);
	api("POST", "/api/v1/auth/refresh", body, NULL, &r);
	assert_problem(&r, 503, "unavailable");
	cr_assert_not_null(http_header(&r, "Retry-After"));
	http_resp_free(&r);
	redis_stall_end(stall);

	api("POST", "/api/v1/auth/refresh", body, NULL, &r);
	cr_assert_eq(r.status, 200, "the retry of a refresh answered 503: %s", r.body);
	char *access = strdup(json_str(&r, "access_token")), *next = strdup(json_str(&r, "refresh_token"));
	http_resp_free(&r);
	api("GET", "/api/v1/users/me", NULL, access, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	/* The pair is a real one: its refresh token goes on working. */
	snprintf(body, sizeof(body), "{\"refresh_token\":\"%s\"}", next);
	api("POST", "/api/v1/auth/refresh", body, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	free(access);
	free(next);
	free(refresh);
}

/* The pid in the stack's var/run/NAME.pid. */
static long pid_of(const char *name)
{
	char file[1024];
	long pid = 0;
	snprintf(file, sizeof(file), "%s/run/%s.pid", test_env("STORE_TEST_VAR"), name);
	FILE *f = fopen(file, "r");
	cr_assert(f && fscanf(f, "%ld", &pid) == 1, "no pid file %s", file);
	fclose(f);
	return pid;
}

static void *register_many(void *arg)
{
	char **emails = arg;
	for (int i = 0; emails[i]; i++)
		register_user(emails[i], TEST_PASSWORD, "Durable");
	return NULL;
}

/* #15.9: Redis ran with RDB snapshots only (one a minute at best): jobs queued since the last
 * one vanished when it crashed, after the outbox had marked them delivered. */
Test(resilience, redis_killed_after_registrations_loses_no_welcome_mail)
{
	enum { N = 100, T = 4 };
	char addr[N][128], *lists[T][N / T + 1];
	pthread_t t[T];
	/* A session made before the kill. */
	char *access = customer_token(NULL);
	/* The worker is stopped, so the jobs wait on the stream when Redis is killed. */
	test_service_stop("worker");
	for (int i = 0; i < N; i++) {
		unique_email(addr[i], sizeof(addr[i]), "aof");
		lists[i % T][i / T] = addr[i];
	}
	for (int k = 0; k < T; k++) {
		lists[k][N / T] = NULL;
		cr_assert_eq(pthread_create(&t[k], NULL, register_many, lists[k]), 0);
	}
	for (int k = 0; k < T; k++)
		pthread_join(t[k], NULL);

	/* The last relay round has run (it polls): the outbox holds nothing that Redis lacks. */
	rig_sleep(1.5);
	long pid = pid_of("redis");
	cr_assert_eq(kill((pid_t)pid, SIGKILL), 0);
	for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++)
		usleep(50000);
	redis_start();
	program_start("worker", "worker/store-worker");
	/* The session survived too (services reconnect within a second or so). */
	test_until_ok("/api/v1/users/me", access);
	free(access);

	/* Every welcome e-mail arrives: what Redis had taken survived in its append-only file,
	 * what it had not is still in the user service's outbox. */
	const char *to[N];
	for (int i = 0; i < N; i++)
		to[i] = addr[i];
	rig_wait_mail_to_all(test_env("STORE_TEST_MAILDIR"), to, N, 120, "welcome e-mails after Redis was killed");
}

/* #15.10: a product changed while Redis was slow kept its cached copy (the delete timed out),
 * and everyone was served the old price, or a product just withdrawn, for up to 5 minutes. */
Test(resilience, product_changed_while_redis_stalls_is_never_served_stale)
{
	char *admin = admin_token(), path[64];
	struct http_resp r;
	new_product(admin, "STALE", path);
	for (int i = 0; i < 2; i++) { /* cached */
		api("GET", path, NULL, NULL, &r);
		cr_assert_eq(json_int(&r, "price"), 700);
		http_resp_free(&r);
	}

	/* Writes to Redis stall past the services' 500 ms timeout while the price changes. */
	double t0 = rig_now();
	redis_do("CLIENT PAUSE %s WRITE", "1500");
	api("PATCH", path, "{\"price\":900}", admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	api("GET", path, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_eq(json_int(&r, "price"), 900, "the old price after the change answered: %s", r.body);
	http_resp_free(&r);
	rig_sleep(1.6 - (rig_now() - t0));
	for (int i = 0; i < 2; i++) {
		api("GET", path, NULL, NULL, &r);
		cr_assert_eq(json_int(&r, "price"), 900, "%s", r.body);
		http_resp_free(&r);
	}

	/* Withdrawn while Redis stalls: gone for shoppers at once, still there for staff. */
	t0 = rig_now();
	redis_do("CLIENT PAUSE %s WRITE", "1500");
	api("PATCH", path, "{\"status\":\"draft\"}", admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	rig_sleep(1.6 - (rig_now() - t0));
	api("GET", path, NULL, NULL, &r);
	assert_problem(&r, 404, "not_found");
	http_resp_free(&r);
	api("GET", path, NULL, admin, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	cr_assert_str_eq(json_str(&r, "status"), "draft");
	http_resp_free(&r);
	free(admin);
}

/* The rating of a product (what the review service sets) through the internal route, which
 * needs no session in Redis: a catalogue change that can be made while Redis is down. */
static void set_rating(long long id, const char *avg, int count)
{
	char path[96], body[96];
	struct http_resp r;
	snprintf(path, sizeof(path), "/internal/product/products/%lld/rating", id);
	snprintf(body, sizeof(body), "{\"rating_avg\":%s,\"rating_count\":%d}", avg, count);
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "POST", path, body, strlen(body), NULL, &r);
	cr_assert_eq(r.status, 200, "%s", r.body);
	http_resp_free(&r);
}

/* The rating_count of product `id` on a list page (asserts 200 and that it is there). */
static long long count_on_page(const char *page, long long id)
{
	struct http_resp r;
	long long count = -1;
	api("GET", page, NULL, NULL, &r);
	cr_assert_eq(r.status, 200, "%s: %s", page, r.body);
	struct json_object *items = json_object_object_get(r.json, "items");
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		if (json_object_get_int64(json_object_object_get(it, "id")) == id)
			count = json_object_get_int64(json_object_object_get(it, "rating_count"));
	}
	http_resp_free(&r);
	cr_assert_neq(count, -1, "product %lld is not on %s", id, page);
	return count;
}

/* List pages are cached in Redis under the catalogue version MariaDB keeps (issue 16): a change
 * made while Redis is down or stalled is never hidden by a page cached before it, neither while
 * Redis is away (the lists answer from MariaDB) nor once it is back with its old pages. */
Test(resilience, list_pages_are_never_stale_across_a_redis_outage)
{
	char *admin = admin_token(), path[64], page[160];
	new_product(admin, "LISTRES", path);
	long long id = json_int_path(path);
	snprintf(page, sizeof(page), "/api/v1/products?q=LISTRES%%20%d&sort=-created_at&limit=100", (int)getpid());
	set_rating(id, "4.00", 1);
	cr_assert_eq(count_on_page(page, id), 1);
	cr_assert_eq(count_on_page(page, id), 1); /* now cached */

	redis_stop();
	set_rating(id, "4.50", 2); /* the change, while Redis is down */
	cr_assert_eq(count_on_page(page, id), 2, "a list read with Redis down showed the state before the change");
	redis_start();
	usleep(1100000); /* past lib/redis.c's reconnect back-off */
	for (int i = 0; i < 3; i++)
		cr_assert_eq(count_on_page(page, id), 2, "Redis back: a page cached before the change was served");

	/* Redis stalled (it answers nothing for 2 s): the lists still answer, from MariaDB, with the change. */
	redis_do("CLIENT PAUSE %s ALL", "2000");
	set_rating(id, "3.00", 3);
	cr_assert_eq(count_on_page(page, id), 3, "a list read with Redis stalled");
	usleep(2100000);
	cr_assert_eq(count_on_page(page, id), 3);
	free(admin);
}

struct page_read {
	const char *page;
	long long id, count;
};

/* A thread's read of a list page: the rating_count of the product on it, or -1. */
static void *read_count(void *arg)
{
	struct page_read *pr = arg;
	struct http_resp r;
	api("GET", pr->page, NULL, NULL, &r);
	struct json_object *items = r.status == 200 ? json_object_object_get(r.json, "items") : NULL;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		if (json_object_get_int64(json_object_object_get(it, "id")) == pr->id)
			pr->count = json_object_get_int64(json_object_object_get(it, "rating_count"));
	}
	http_resp_free(&r);
	return NULL;
}

/* Readers take the catalogue version from a lease in Redis (fcgi-apps/product/catalog.h). The
 * danger: a reader leased the version from before a change, and the writer cannot publish its
 * own (Redis stalled past the 500 ms command timeout); once the stall ends, that lease would still
 * run, and its page is cached. The writer must answer only when such a lease has ended. */
Test(resilience, a_change_that_cannot_publish_outlasts_every_older_lease)
{
	char *admin = admin_token(), path[64], page[160], version[32];
	new_product(admin, "LEASE", path);
	long long id = json_int_path(path);
	snprintf(page, sizeof(page), "/api/v1/products?q=LEASE%%20%d&sort=-created_at&limit=100", (int)getpid());
	set_rating(id, "4.00", 1);
	cr_assert_eq(count_on_page(page, id), 1);
	cr_assert_eq(count_on_page(page, id), 1); /* the page is cached under the current version */

	/* A reader's lease of that version, made just now (a lease lasts 1,000 ms). */
	test_sql("store_product", "SELECT version FROM catalog_version WHERE id = 1", version, sizeof(version));
	redis_do("SET catalog:version %s PX 1000", version);
	redis_do("CLIENT PAUSE %s ALL", "700");
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	set_rating(id, "4.50", 2);
	clock_gettime(CLOCK_MONOTONIC, &b);
	double took = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	/* Eight readers at once, three times: they reach several threads (and instances), not only
	 * the one that met the stall and whose Redis connection is in its back-off. */
	for (int round = 0; round < 3; round++) {
		pthread_t t[8];
		struct page_read pr[8];
		for (int k = 0; k < 8; k++) {
			pr[k] = (struct page_read){page, id, -1};
			cr_assert_eq(pthread_create(&t[k], NULL, read_count, &pr[k]), 0);
		}
		for (int k = 0; k < 8; k++) {
			pthread_join(t[k], NULL);
			cr_assert_eq(pr[k].count, 2, "a page from before the change was served (round %d)", round + 1);
		}
	}
	cr_assert_geq(took, 1.0, "the change answered after %.3f s, before the lease it could not replace ended", took);
	free(admin);
}

/* --- lib/db: a connection lost inside a transaction ---------------------------------------- */

struct killed_tx {
	int runs;
};

/* Inserts 1, has the server kill this connection, then inserts 2 (a read: INSERT ... RETURNING)
 * and 3. */
static int insert_kill_insert(struct db_conn *db, void *arg)
{
	struct killed_tx *k = arg;
	struct db_rows *r;
	char sql[64];
	k->runs++;
	if (db_exec(db, "INSERT INTO t (n) VALUES (1)", NULL, 0, NULL) != 0)
		return -1;
	if (db_query(db, "SELECT CONNECTION_ID()", NULL, 0, &r) != 0)
		return -1;
	snprintf(sql, sizeof(sql), "KILL CONNECTION %lld", (long long)db_cell_i64(r, 0, 0, 0));
	db_rows_free(r);
	test_sql("mysql", sql, NULL, 0);
	if (db_query(db, "INSERT INTO t (n) VALUES (2) RETURNING n", NULL, 0, &r) != 0)
		return -1;
	db_rows_free(r);
	if (db_exec(db, "INSERT INTO t (n) VALUES (3)", NULL, 0, NULL) != 0)
		return -1;
	return 0;
}

Test(resilience, a_connection_lost_inside_a_transaction_never_commits_half_of_it)
{
	char name[64], sql[512], count[32];
	snprintf(name, sizeof(name), "txkill_%d", (int)getpid());
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS store_%s; CREATE DATABASE store_%s; CREATE TABLE store_%s.t (n INT) ENGINE=InnoDB",
		 name, name, name);
	test_sql("mysql", sql, NULL, 0);
	struct db_conn *db = test_db(name);
	struct killed_tx k = {0};

	/* The server rolled back what ran before the kill: what follows must not run on a new
	 * connection statement by statement, each committed on its own. */
	int rc = db_tx(db, insert_kill_insert, &k);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM store_%s.t", name);
	test_sql("mysql", sql, count, sizeof(count));
	cr_assert_eq(rc, -1, "the transaction was lost: it must fail, not commit (rows: %s)", count);
	cr_assert_eq(db->err, DB_GONE, "%s", db->errstr);
	cr_assert_str_eq(count, "0", "no part of it was kept");

	/* The next transaction runs on a new connection. */
	struct db_rows *r;
	cr_assert_eq(db_query(db, "SELECT 1", NULL, 0, &r), 0, "%s", db->errstr);
	db_rows_free(r);
	cr_assert_eq(db_exec(db, "INSERT INTO t (n) VALUES (9)", NULL, 0, NULL), 0, "%s", db->errstr);
	test_sql("mysql", sql, count, sizeof(count));
	cr_assert_str_eq(count, "1");

	test_db_free(db);
	snprintf(sql, sizeof(sql), "DROP DATABASE store_%s", name);
	test_sql("mysql", sql, NULL, 0);
}
