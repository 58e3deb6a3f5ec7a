/* metrics.c: per-route request counters and latency histograms (atomics, no locks), written as Prometheus text. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "redis.h"
#include "router.h"

#define STATUS_MIN 100
#define STATUS_N 500 /* 100..599 */

static const double bucket_s[METRICS_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
						 0.1,	 0.25,	0.5,	1,     2.5,  5,	    10};

/* One route's counters (the last slot of the table: requests no route matched). */
struct route_stats {
	atomic_ulong status[STATUS_N];
	atomic_ulong bucket[METRICS_BUCKETS + 1]; /* not cumulative; the last is above every bound */
	atomic_ullong sum_usec;
};

struct metrics {
	char service[32];
	const struct route *routes;
	size_t n;
	double started; /* Unix time with microseconds: also tells the instances of a service apart */
	struct route_stats *stats; /* n + 1 */
};

struct metrics *metrics_new(const char *service, const struct route *routes, size_t n)
{
	struct metrics *m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->stats = calloc(n + 1, sizeof(*m->stats));
	if (!m->stats) {
		free(m);
		return NULL;
	}
	snprintf(m->service, sizeof(m->service), "%s", service);
	m->routes = routes;
	m->n = n;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	m->started = (double)ts.tv_sec + (double)(ts.tv_nsec / 1000) / 1e6;
	return m;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->stats);
	free(m);
}

void metrics_request(struct metrics *m, long route, int status, int64_t usec)
{
	if (!m)
		return;
	struct route_stats *st = &m->stats[route >= 0 && (size_t)route < m->n ? (size_t)route : m->n];
	if (status < STATUS_MIN || status >= STATUS_MIN + STATUS_N)
		status = 500;
	if (usec < 0)
		usec = 0;
	atomic_fetch_add_explicit(&st->status[status - STATUS_MIN], 1, memory_order_relaxed);
	size_t b = 0;
	while (b < METRICS_BUCKETS && (double)usec > bucket_s[b] * 1e6)
		b++;
	atomic_fetch_add_explicit(&st->bucket[b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&st->sum_usec, (unsigned long long)usec, memory_order_relaxed);
}

/* The route and method labels of slot i: route patterns hold no quote, backslash or newline
 * (they are string literals of the route tables), so they need no escaping. */
static void route_labels(const struct metrics *m, size_t i, const char **route, const char **method)
{
	*route = i < m->n ? m->routes[i].pattern : "unmatched";
	*method = i < m->n ? m->routes[i].method : "any";
}

static long resident_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = -1;
	fclose(f);
	return rss < 0 ? -1 : rss * sysconf(_SC_PAGESIZE);
}

void metrics_write(struct metrics *m, const struct metrics_gauges *g, FILE *out)
{
	const char *svc = m->service, *route, *method;

	fprintf(out, "# HELP store_http_requests_total Requests answered, by route, method and status.\n"
		     "# TYPE store_http_requests_total counter\n");
	for (size_t i = 0; i <= m->n; i++) {
		route_labels(m, i, &route, &method);
		for (int s = 0; s < STATUS_N; s++) {
			unsigned long c = atomic_load_explicit(&m->stats[i].status[s], memory_order_relaxed);
			if (c)
				fprintf(out, "store_http_requests_total{service=\"%s\",route=\"%s\",method=\"%s\",status=\"%d\"} %lu\n",
					svc, route, method, s + STATUS_MIN, c);
		}
	}
	fprintf(out, "# HELP store_http_request_duration_seconds Time from the request's arrival in the service to its answer.\n"
		     "# TYPE store_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i <= m->n; i++) {
		const struct route_stats *st = &m->stats[i];
		unsigned long long cum = 0;
		route_labels(m, i, &route, &method);
		for (size_t b = 0; b <= METRICS_BUCKETS; b++) {
			cum += atomic_load_explicit(&st->bucket[b], memory_order_relaxed);
			if (b < METRICS_BUCKETS)
				fprintf(out,
					"store_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\",method=\"%s\",le=\"%g\"} %llu\n",
					svc, route, method, bucket_s[b], cum);
			else
				fprintf(out,
					"store_http_request_duration_seconds_bucket{service=\"%s\",route=\"%s\",method=\"%s\",le=\"+Inf\"} %llu\n",
					svc, route, method, cum);
		}
		fprintf(out, "store_http_request_duration_seconds_sum{service=\"%s\",route=\"%s\",method=\"%s\"} %.6f\n", svc,
			route, method, (double)atomic_load_explicit(&st->sum_usec, memory_order_relaxed) / 1e6);
		fprintf(out, "store_http_request_duration_seconds_count{service=\"%s\",route=\"%s\",method=\"%s\"} %llu\n", svc,
			route, method, cum);
	}

	fprintf(out, "# HELP store_threads Request threads of the process.\n# TYPE store_threads gauge\n"
		     "store_threads{service=\"%s\"} %ld\n",
		svc, g->threads);
	fprintf(out, "# HELP store_threads_busy Request threads in a request now (all busy: requests queue on the socket).\n"
		     "# TYPE store_threads_busy gauge\nstore_threads_busy{service=\"%s\"} %ld\n",
		svc, g->busy);

	struct db_stats d;
	db_stats(&d);
	static const char *const kinds[] = {[DB_DUPLICATE] = "duplicate", [DB_DEADLOCK] = "deadlock",
					    [DB_FOREIGN_KEY] = "foreign_key", [DB_GONE] = "gone", [DB_ERROR] = "other"};
	fprintf(out, "# HELP store_db_connects_total Connections made to MariaDB (the first of each thread, then reconnects).\n"
		     "# TYPE store_db_connects_total counter\nstore_db_connects_total{service=\"%s\"} %lu\n",
		svc, d.connects);
	fprintf(out, "# HELP store_db_connect_failures_total Attempts to connect to MariaDB that failed.\n"
		     "# TYPE store_db_connect_failures_total counter\nstore_db_connect_failures_total{service=\"%s\"} %lu\n",
		svc, d.connect_failures);
	fprintf(out, "# HELP store_db_errors_total Statements MariaDB refused or could not run, by kind.\n"
		     "# TYPE store_db_errors_total counter\n");
	for (int k = DB_DUPLICATE; k <= DB_ERROR; k++)
		fprintf(out, "store_db_errors_total{service=\"%s\",kind=\"%s\"} %lu\n", svc, kinds[k], d.errors[k]);

	struct redis_stats r;
	redis_stats(&r);
	fprintf(out, "# HELP store_redis_connects_total Connections made to Redis.\n"
		     "# TYPE store_redis_connects_total counter\nstore_redis_connects_total{service=\"%s\"} %lu\n",
		svc, r.connects);
	fprintf(out, "# HELP store_redis_connect_failures_total Attempts to connect to Redis that failed.\n"
		     "# TYPE store_redis_connect_failures_total counter\nstore_redis_connect_failures_total{service=\"%s\"} %lu\n",
		svc, r.connect_failures);
	fprintf(out, "# HELP store_redis_errors_total Redis connections dropped after a failed command (timeout, reset).\n"
		     "# TYPE store_redis_errors_total counter\nstore_redis_errors_total{service=\"%s\"} %lu\n",
		svc, r.drops);

	if (g->outbox) {
		fprintf(out, "# HELP store_outbox_pending Outbox rows waiting to be relayed (jobs to Redis, calls to services).\n"
			     "# TYPE store_outbox_pending gauge\n");
		if (g->outbox_pending >= 0)
			fprintf(out, "store_outbox_pending{service=\"%s\"} %lld\n", svc, g->outbox_pending);
		fprintf(out, "# HELP store_outbox_failed Outbox rows given up on after every attempt.\n"
			     "# TYPE store_outbox_failed gauge\n");
		if (g->outbox_pending >= 0)
			fprintf(out, "store_outbox_failed{service=\"%s\"} %lld\n", svc, g->outbox_failed);
		fprintf(out, "# HELP store_outbox_oldest_pending_seconds Age of the oldest pending outbox row (0: none).\n"
			     "# TYPE store_outbox_oldest_pending_seconds gauge\n");
		if (g->outbox_pending >= 0)
			fprintf(out, "store_outbox_oldest_pending_seconds{service=\"%s\"} %lld\n", svc, g->outbox_oldest_s);
	}

	fprintf(out, "# HELP store_process_start_time_seconds Start of the process, Unix time.\n"
		     "# TYPE store_process_start_time_seconds gauge\nstore_process_start_time_seconds{service=\"%s\"} %.6f\n",
		svc, m->started);
	long rss = resident_bytes();
	fprintf(out, "# HELP store_process_resident_memory_bytes Resident memory of the process.\n"
		     "# TYPE store_process_resident_memory_bytes gauge\n");
	if (rss >= 0)
		fprintf(out, "store_process_resident_memory_bytes{service=\"%s\"} %ld\n", svc, rss);
}
