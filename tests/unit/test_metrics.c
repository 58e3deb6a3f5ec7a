/* test_metrics.c: lib/metrics: counts by route and status, cumulative latency buckets, the unmatched slot, the gauges. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"
#include "router.h"

static void nothing(struct request *req)
{
	(void)req;
}

static const struct route routes[] = {
	{"GET", "/api/v1/things/{id}", nothing, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/things", nothing, ROLE_PUBLIC, 0, NULL},
};

/* metrics_write's text for `m` with `g`. */
static char *written(struct metrics *m, const struct metrics_gauges *g)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	cr_assert_not_null(f);
	metrics_write(m, g, f);
	cr_assert_eq(fclose(f), 0);
	return text;
}

static void has(const char *text, const char *line)
{
	char want[512];
	snprintf(want, sizeof(want), "\n%s\n", line);
	cr_assert_not_null(strstr(text, want), "no line \"%s\" in:\n%s", line, text);
}

Test(metrics, requests_by_route_status_and_latency)
{
	struct metrics *m = metrics_new("thing", routes, 2);
	struct metrics_gauges g = {.threads = 8, .busy = 3};
	metrics_request(m, 0, 200, 300);     /* 0.3 ms */
	metrics_request(m, 0, 200, 4000);    /* 4 ms */
	metrics_request(m, 0, 404, 20000000); /* 20 s: above every bound */
	metrics_request(m, 1, 201, 1000);    /* exactly 1 ms: in le="0.001" */
	metrics_request(m, -1, 404, 50);     /* no route */
	metrics_request(m, 7, 999, -5);      /* out of range: unmatched, 500, 0 s */
	char *t = written(m, &g);
	has(t, "store_http_requests_total{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\",status=\"200\"} 2");
	has(t, "store_http_requests_total{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\",status=\"404\"} 1");
	has(t, "store_http_requests_total{service=\"thing\",route=\"/api/v1/things\",method=\"POST\",status=\"201\"} 1");
	has(t, "store_http_requests_total{service=\"thing\",route=\"unmatched\",method=\"any\",status=\"404\"} 1");
	has(t, "store_http_requests_total{service=\"thing\",route=\"unmatched\",method=\"any\",status=\"500\"} 1");
	cr_assert_null(strstr(t, "status=\"999\""));
	cr_assert_null(strstr(t, "status=\"202\""), "statuses never seen are not written");
	/* Buckets are cumulative. */
	has(t, "store_http_request_duration_seconds_bucket{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\",le=\"0.0005\"} 1");
	has(t, "store_http_request_duration_seconds_bucket{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\",le=\"0.005\"} 2");
	has(t, "store_http_request_duration_seconds_bucket{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\",le=\"10\"} 2");
	has(t, "store_http_request_duration_seconds_bucket{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\",le=\"+Inf\"} 3");
	has(t, "store_http_request_duration_seconds_count{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\"} 3");
	has(t, "store_http_request_duration_seconds_sum{service=\"thing\",route=\"/api/v1/things/{id}\",method=\"GET\"} 20.004300");
	has(t, "store_http_request_duration_seconds_bucket{service=\"thing\",route=\"/api/v1/things\",method=\"POST\",le=\"0.001\"} 1");
	has(t, "store_threads{service=\"thing\"} 8");
	has(t, "store_threads_busy{service=\"thing\"} 3");
	cr_assert_null(strstr(t, "store_outbox_pending"), "no outbox: no outbox metrics");
	free(t);
	metrics_free(m);
}

Test(metrics, outbox_gauges_only_when_counted)
{
	struct metrics *m = metrics_new("box", routes, 2);
	struct metrics_gauges g = {.threads = 2, .outbox = 1, .outbox_pending = 5, .outbox_failed = 1, .outbox_oldest_s = 42};
	char *t = written(m, &g);
	has(t, "store_outbox_pending{service=\"box\"} 5");
	has(t, "store_outbox_failed{service=\"box\"} 1");
	has(t, "store_outbox_oldest_pending_seconds{service=\"box\"} 42");
	free(t);
	g.outbox_pending = -1; /* the count failed: the family is declared, no sample is made up */
	t = written(m, &g);
	cr_assert_not_null(strstr(t, "# TYPE store_outbox_pending gauge"));
	cr_assert_null(strstr(t, "store_outbox_pending{"));
	free(t);
	metrics_free(m);
}
