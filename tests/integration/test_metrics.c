/* test_metrics.c: every service's /internal/<service>/metrics (issue 17): served on the internal listener only, requests counted by route and status, the outbox and the backends' counters there; the worker's metrics file. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"

static const char *const services[] = {"user", "product", "inventory", "cart", "order", "payment", "review"};
static const char *const with_outbox[] = {"user", "inventory", "order", "payment", "review"};

static void scrape(const char *service, struct http_resp *r)
{
	char path[96];
	snprintf(path, sizeof(path), "/internal/%s/metrics", service);
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "GET", path, NULL, 0, NULL, r);
	cr_assert_eq(r->status, 200, "%s: %ld %s", path, r->status, r->body);
}

/* The value of the sample whose line starts with `prefix` ("name{labels}"), 0 when absent. */
static double sample(const struct http_resp *r, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = r->body; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (strncmp(p, prefix, n) == 0 && p[n] == ' ')
			return atof(p + n + 1);
	return 0;
}

Test(metrics, every_service_serves_them_with_its_backends_and_outbox)
{
	for (size_t i = 0; i < sizeof(services) / sizeof(services[0]); i++) {
		struct http_resp r;
		char want[128];
		scrape(services[i], &r);
		const char *ct = http_header(&r, "Content-Type");
		cr_assert(ct && strncmp(ct, "text/plain; version=0.0.4", 25) == 0, "%s: Content-Type %s", services[i], ct);
		const char *names[] = {"store_threads", "store_threads_busy", "store_db_connects_total",
				       "store_redis_connects_total", "store_process_start_time_seconds", NULL};
		for (size_t k = 0; names[k]; k++) {
			snprintf(want, sizeof(want), "%s{service=\"%s\"} ", names[k], services[i]);
			cr_assert_not_null(strstr(r.body, want), "%s: no %s", services[i], want);
		}
		snprintf(want, sizeof(want), "store_threads{service=\"%s\"}", services[i]);
		cr_assert_gt(sample(&r, want), 0, "%s: no request threads", services[i]);
		bool outbox = false;
		for (size_t k = 0; k < sizeof(with_outbox) / sizeof(with_outbox[0]); k++)
			outbox |= strcmp(with_outbox[k], services[i]) == 0;
		snprintf(want, sizeof(want), "store_outbox_pending{service=\"%s\"} ", services[i]);
		cr_assert_eq(strstr(r.body, want) != NULL, outbox, "%s: outbox metrics %s", services[i],
			     outbox ? "missing" : "where there is no outbox");
		http_resp_free(&r);
	}
}

/* The sum of the samples `names[k]` over every instance of `service`: the gateway hands each
 * scrape to one instance, so it scrapes until it has seen each (told apart by their start
 * times), up to 40 times. */
static void sum_over_instances(const char *service, const char *const *names, size_t k, double *sum)
{
	int want = test_service_instances(service), seen = 0;
	double starts[16];
	char start_name[96];
	snprintf(start_name, sizeof(start_name), "store_process_start_time_seconds{service=\"%s\"}", service);
	for (size_t j = 0; j < k; j++)
		sum[j] = 0;
	for (int i = 0; i < 40 && seen < want; i++) {
		struct http_resp r;
		scrape(service, &r);
		double start = sample(&r, start_name);
		bool known = false;
		for (int j = 0; j < seen; j++)
			known |= starts[j] == start;
		if (!known && seen < 16) {
			starts[seen++] = start;
			for (size_t j = 0; j < k; j++)
				sum[j] += sample(&r, names[j]);
		}
		http_resp_free(&r);
	}
	cr_assert_eq(seen, want, "scraped %d of the %d instances of %s", seen, want, service);
}

Test(metrics, requests_are_counted_by_route_and_status)
{
	char *admin = admin_token(), path[64];
	long long pid = test_product(admin, 1234, "EUR");
	const char *ok = "store_http_requests_total{service=\"product\",route=\"/api/v1/products/{id}\",method=\"GET\",status=\"200\"}";
	const char *missing = "store_http_requests_total{service=\"product\",route=\"/api/v1/products/{id}\",method=\"GET\",status=\"404\"}";
	const char *count = "store_http_request_duration_seconds_count{service=\"product\",route=\"/api/v1/products/{id}\",method=\"GET\"}";
	const char *unmatched = "store_http_requests_total{service=\"product\",route=\"unmatched\",method=\"any\",status=\"404\"}";
	struct http_resp r;
	const char *names[] = {ok, missing, count, unmatched};
	double before[4], after[4];

	sum_over_instances("product", names, 4, before);

	snprintf(path, sizeof(path), "/api/v1/products/%lld", pid);
	for (int i = 0; i < 2; i++) {
		api("GET", path, NULL, NULL, &r);
		cr_assert_eq(r.status, 200);
		http_resp_free(&r);
	}
	api("GET", "/api/v1/products/999999999999", NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	http_resp_free(&r);
	api_raw("GET", "/api/v1/products/1/nothing-here", NULL, NULL, &r);
	cr_assert_eq(r.status, 404);
	http_resp_free(&r);

	sum_over_instances("product", names, 4, after);
	/* Other programs may read products meanwhile: at least ours. */
	cr_assert_geq(after[0] - before[0], 2, "200s of GET /api/v1/products/{id} not counted");
	cr_assert_geq(after[1] - before[1], 1, "404s of GET /api/v1/products/{id} not counted");
	cr_assert_geq(after[2] - before[2], 3, "the latency histogram did not count them");
	cr_assert_geq(after[3] - before[3], 1, "a request no route took was not counted");
	/* Buckets are cumulative: +Inf holds every request of the route (one instance's scrape). */
	scrape("product", &r);
	char inf[256];
	snprintf(inf, sizeof(inf), "store_http_request_duration_seconds_bucket{service=\"product\",route=\"/api/v1/products/{id}\",method=\"GET\",le=\"+Inf\"}");
	cr_assert_eq(sample(&r, inf), sample(&r, count));
	http_resp_free(&r);
	free(admin);
}

Test(metrics, internal_listener_only_and_get_only)
{
	struct http_resp r;
	api("GET", "/internal/product/metrics", NULL, NULL, &r);
	cr_assert_eq(r.status, 404, "metrics on the public listener: %ld", r.status);
	http_resp_free(&r);
	http_send(test_env("STORE_TEST_INTERNAL_URL"), "POST", "/internal/product/metrics", "{}", 2, NULL, &r);
	assert_problem(&r, 405, "method_not_allowed");
	http_resp_free(&r);
	http_send(raw_internal_url(), "GET", "/internal/nginx/status", NULL, 0, NULL, &r);
	cr_assert_eq(r.status, 200, "nginx stub_status: %ld", r.status);
	cr_assert_not_null(strstr(r.body, "Active connections:"), "%s", r.body);
	http_resp_free(&r);
	api_raw("GET", "/internal/nginx/status", NULL, NULL, &r);
	cr_assert_eq(r.status, 404, "nginx status on the public listener: %ld", r.status);
	http_resp_free(&r);
}

/* The worker rewrites STORE_METRICS_FILE (var/run/worker.prom on the local stack) every 5 s. */
Test(metrics, the_worker_writes_its_file)
{
	char path[1024], buf[8192];
	snprintf(path, sizeof(path), "%s/run/worker.prom", test_env("STORE_TEST_VAR"));
	FILE *f = NULL;
	for (int i = 0; i < 70 && !(f = fopen(path, "r")); i++)
		usleep(100000);
	cr_assert_not_null(f, "no %s", path);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *names[] = {"store_worker_sent_total{worker=", "store_worker_dead_total{worker=",
			       "store_worker_redis_up{worker=", "store_jobs_length{stream=\"", "store_jobs_pending{stream=\"",
			       "store_jobs_delayed{stream=\"", "store_jobs_dead{stream=\"", NULL};
	for (size_t k = 0; names[k]; k++)
		cr_assert_not_null(strstr(buf, names[k]), "%s has no %s:\n%s", path, names[k], buf);
}
