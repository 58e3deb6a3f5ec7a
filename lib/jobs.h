/* jobs.h: the one way services enqueue a background job (an e-mail) on the Redis stream. */
#ifndef STORE_JOBS_H
#define STORE_JOBS_H

#include <stdbool.h>
#include <stddef.h>

struct redis_conn;
struct json_object;

/* The default of STORE_JOB_STREAM (lib/config), shared by the services and the worker; the
 * worker keeps <stream>:delayed and <stream>:dead beside it. */
#define JOBS_STREAM "jobs:email"
#define JOBS_VERSION 1
#define JOBS_ID_LEN 32

/* The job types, NULL-terminated: welcome, password_changed, order_placed, order_paid,
 * order_shipped, order_cancelled, payment_failed, payment_refunded, low_stock. */
extern const char *const jobs_types[];

/* true for one of jobs_types. */
bool jobs_type_valid(const char *type);

/*
 * Builds a version-1 job: {"v","id","type","recipient","data","request_id","created_at"}.
 * `data` must be an object of string or integer values (borrowed; copied). Returns a new
 * object (caller owns) with a fresh random id, or NULL when the type, recipient, data or
 * request id is invalid.
 */
struct json_object *jobs_build(const char *type, const char *recipient, struct json_object *data,
			       const char *request_id);

/*
 * Validates a job document (as the worker reads it). Returns true when every field is
 * present with the right type and the type is known; on false, writes why into `why`.
 */
bool jobs_valid(struct json_object *job, char *why, size_t whylen);

/* XADDs a job document (JSON text built by jobs_build) onto `stream` (cfg->job_stream). Returns
 * 0, or -1 when Redis did not take it (r->errstr says why). Services do not call it: they write
 * jobs to their outbox (lib/outbox.h), whose relay calls it. */
int jobs_add_doc(struct redis_conn *r, const char *stream, const char *doc);


#endif
