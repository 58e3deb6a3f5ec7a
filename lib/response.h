/* response.h: the JSON writer and the one RFC 9457 problem writer every service uses. */
#ifndef STORE_RESPONSE_H
#define STORE_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

struct request;
struct json_object;
struct field_errors;

/* Adds a response header for the response still to be written. A header that does not fit the
 * 1 KiB of headers, or whose value holds CR or LF, is dropped and logged as an error. */
void resp_header(struct request *req, const char *name, const char *value);

/* Writes `status` with `body` as application/json. Does not take ownership of `body`. */
void resp_json(struct request *req, int status, struct json_object *body);

/* Writes `status` with `body` (len bytes of JSON text, borrowed) as application/json. */
void resp_json_raw(struct request *req, int status, const char *body, size_t len);

/* Writes `status` with `body` (len bytes, borrowed) as `content_type` (not JSON: metrics). */
void resp_body(struct request *req, int status, const char *content_type, const char *body, size_t len);

/*
 * Writes a 200 with `body` (len bytes of JSON, borrowed), a strong ETag computed from its bytes
 * and Cache-Control: no-cache; or a 304 without body when the request's If-None-Match names
 * that ETag (weak comparison, "*" included, as RFC 9110 asks for GET).
 */
void resp_json_etag(struct request *req, const char *body, size_t len);

/* The entity tag resp_json_etag gives `body`, without its quotes: 32 hex digits. */
void resp_etag_hex(const char *body, size_t len, char hex[33]);

/* true when the If-None-Match header value `inm` (may be NULL) matches `etag` ("\"...\""). */
bool resp_etag_matches(const char *inm, const char *etag);

/* Writes `status` with no body (204, 304). */
void resp_empty(struct request *req, int status);

/*
 * Writes an application/problem+json response:
 * {"type","title","status","detail","code","request_id"} plus "errors" when `errs`
 * holds any. `code` is a short stable machine-readable token ("not_found").
 */
void resp_problem(struct request *req, int status, const char *code, const char *detail);

/* resp_problem with a printf-style detail. */
void resp_problemf(struct request *req, int status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Writes a problem document built with problem_new() and extended by the caller (e.g. a
 * list of short items); the status comes from its "status" member. Does not take ownership. */
void resp_problem_obj(struct request *req, struct json_object *problem);

/* 422 "validation_failed" with the list of field errors. */
void resp_invalid(struct request *req, const struct field_errors *errs);

/* A 503 "unavailable" (with Retry-After) naming the backend ("database", "cache") that is
 * down; logged at warn. Other problems are logged only when they are a 500. */
void resp_unavailable(struct request *req, const char *backend);

/* Logs db->errstr and answers for db->err: 409 (duplicate), 503 (down or lock timeout), else 500. */
struct db_conn;
void resp_db_error(struct request *req, const struct db_conn *db);

/* For a repository lookup's result `rc`: < 0 answers resp_db_error(), > 0 a 404 "not_found"
 * with `detail` ("No such product."); 0 writes nothing. Returns rc != 0. */
bool resp_lookup_failed(struct request *req, const struct db_conn *db, int rc, const char *detail);

/*
 * Builds the problem document. Returns a new json_object owned by the caller
 * (json_object_put). `request_id` and `errs` may be NULL.
 */
struct json_object *problem_new(int status, const char *code, const char *detail, const char *request_id,
				const struct field_errors *errs);

#endif
