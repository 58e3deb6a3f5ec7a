/* test_resilience.c: Redis stopped and MariaDB connections killed under a running stack.
 * One test, phases in order: it stops shared backends, so nothing else may run beside it. */
#include <criterion/criterion.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client.h"

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
		 "--logfile %s/log/redis.log --daemonize yes --save '60 1' --appendonly no >/dev/null",
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

Test(resilience, redis_down_and_database_connections_lost, .timeout = 120)
{
	char *admin = admin_token(), sku[64], body[256], path[64];
	struct http_resp r;
	snprintf(sku, sizeof(sku), "RES-%d-%ld", (int)getpid(), (long)time(NULL));
	snprintf(body, sizeof(body), "{\"sku\":\"%s\",\"name\":\"Resilient %s\",\"price\":700,\"currency\":\"EUR\",\"status\":\"active\"}",
		 sku, sku);
	api("POST", "/api/v1/products", body, admin, &r);
	cr_assert_eq(r.status, 201, "%s", r.body);
	snprintf(path, sizeof(path), "/api/v1/products/%lld", json_int(&r, "id"));
	http_resp_free(&r);
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
	test_service_stop("product");
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
