/* metrics.h: what a service counts for Prometheus (text exposition 0.0.4): requests by route and status, their latency, its threads, its backends and its outbox. */
#ifndef STORE_METRICS_H
#define STORE_METRICS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct route;

/* Latency buckets, in seconds (the histogram's `le` bounds; +Inf is added). */
#define METRICS_BUCKETS 14

struct metrics;

/* The counters of a service whose route table is routes[0..n); NULL when out of memory. */
struct metrics *metrics_new(const char *service, const struct route *routes, size_t n);
void metrics_free(struct metrics *m);

/* Counts one answered request: `route` its index in the table, or -1 when none matched (a 404
 * or 405 of the router); `status` the HTTP status written; `usec` how long it took. Lock-free. */
void metrics_request(struct metrics *m, long route, int status, int64_t usec);

/* What the server knows at scrape time besides the counters. */
struct metrics_gauges {
	long threads, busy;        /* request threads, and those in a request now */
	int outbox;                /* the service has an outbox: the three below are set */
	long long outbox_pending;  /* rows waiting to be relayed (-1: the count failed) */
	long long outbox_failed;   /* rows given up on */
	long long outbox_oldest_s; /* age of the oldest pending row, seconds (0: none) */
};

/*
 * Writes every metric to `out` in the Prometheus text format: per route and status
 * store_http_requests_total, per route store_http_request_duration_seconds (a histogram),
 * the gauges, and the process's MariaDB and Redis counters (lib/db, lib/redis), its start
 * time and resident memory. Every sample carries service="<name>".
 */
void metrics_write(struct metrics *m, const struct metrics_gauges *g, FILE *out);

#endif
