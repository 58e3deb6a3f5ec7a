/* request.h: one HTTP request as FastCGI hands it over: method, path, query, headers, body. */
#ifndef STORE_REQUEST_H
#define STORE_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "contact.h"

struct json_object;
struct ctx;
struct field_errors;

#define REQUEST_MAX_QUERY 32
#define REQUEST_MAX_PARAMS 4
#define REQUEST_JSON_DEPTH 16

/* Where the bytes come from and go to: FastCGI in the server, a buffer in tests. */
struct request_io {
	const char *(*param)(void *handle, const char *name); /* CGI param or NULL */
	int (*read)(void *handle, char *buf, int len);         /* bytes read, 0 at end, -1 error */
	int (*write)(void *handle, const char *buf, int len);  /* bytes written or -1 */
	void *handle;
};

struct query_param {
	char *key;   /* percent-decoded, owned by the request */
	char *value; /* percent-decoded, "" when the key has no '=' */
};

struct path_param {
	char name[32];
	char value[256]; /* percent-decoded segment */
};

struct request {
	struct request_io io;
	struct ctx *ctx;          /* the thread's context (server.h); NULL in unit tests */
	const char *method;       /* "GET", ... never NULL */
	char path[2048];          /* raw path of REQUEST_URI, without the query */
	const char *request_id;   /* NGINX's $request_id, or "-" */
	bool internal;            /* arrived on the internal listener */

	struct query_param query[REQUEST_MAX_QUERY];
	size_t nquery;
	struct path_param params[REQUEST_MAX_PARAMS];
	size_t nparams;

	char *body;               /* owned; NUL-terminated; NULL until read */
	size_t body_len;
	struct json_object *json; /* parsed body, owned; NULL until parsed */
	size_t max_body;          /* cap for req_json_body(req, 0): the route's, else STORE_MAX_BODY */

	/* Filled by auth for routes that need a caller. */
	int64_t user_id;
	int role;
	char sid[64];
	bool has_contact;               /* the session carries the caller's contact (user_client_caller) */
	struct session_contact contact;

	/* Response state, managed by response.c. */
	int status;               /* 0 until a response was written */
	char headers[1024];       /* extra "Name: value\r\n" lines */
	size_t headers_len;
};

/*
 * Initialises `req` from `io`: method, path, request id, and the query string
 * (split and percent-decoded). Returns 0; or -1 when the request line is
 * malformed (bad percent escape, NUL byte, too many query parameters), with a
 * 400 problem already written. Always call request_cleanup() afterwards.
 */
int request_init(struct request *req, const struct request_io *io, struct ctx *ctx);

/* Frees what the request owns; `req` itself belongs to the caller. */
void request_cleanup(struct request *req);

/* Returns the raw CGI parameter `name` (e.g. "CONTENT_TYPE"), or NULL. Borrowed. */
const char *req_param(const struct request *req, const char *name);

/* Returns the request header `name` (e.g. "Authorization", "If-None-Match"), or NULL. Borrowed. */
const char *req_header(const struct request *req, const char *name);

/* Returns the decoded value of query parameter `key` (the first one), or NULL. Borrowed. */
const char *req_query(const struct request *req, const char *key);

/*
 * Checks that every query parameter is in the NULL-terminated `allowed` list and
 * appears once; adds a field error for each that is not. Returns true when all are.
 */
bool req_query_allowed(const struct request *req, const char *const *allowed, struct field_errors *errs);

/*
 * Reads integer query parameter `key` in [min, max] into *out; `def` when absent.
 * Returns true; on a non-integer or out-of-range value adds a field error and returns false.
 */
bool req_query_i64(const struct request *req, const char *key, int64_t min, int64_t max, int64_t def,
		   int64_t *out, struct field_errors *errs);

/*
 * Reads required query parameter `key` as 1..cap comma-separated ids into ids[].
 * Returns the count; on absence or a malformed list adds a field error and returns -1.
 */
long req_query_ids(const struct request *req, const char *key, int64_t *ids, size_t cap, struct field_errors *errs);

/*
 * For routes whose only query parameter is a list of ids (`?ids=1,2,3`): checks that `key`
 * is the only parameter and reads 1..cap ids into ids[]. Returns the count; on any error
 * writes the 422 problem and returns -1.
 */
long req_query_only_ids(struct request *req, const char *key, int64_t *ids, size_t cap);

/* Returns the path parameter `name` captured by the router, or NULL. Borrowed. */
const char *req_path_param(const struct request *req, const char *name);

/* Parses path parameter `name` as an id in 1..ID_MAX (parse.h). Returns false if absent or not an id. */
bool req_path_id(const struct request *req, const char *name, int64_t *out);

/*
 * Reads the body (at most `max` bytes; when 0, req->max_body: the route's cap, else
 * STORE_MAX_BODY, else 1 MiB) and parses it as one JSON
 * object: Content-Type must be application/json (415), size within the cap (413),
 * valid UTF-8 JSON with nesting of at most REQUEST_JSON_DEPTH and nothing after it
 * (400), an object at the top (400). Returns the object (owned by `req`); on
 * failure writes the problem and returns NULL.
 */
struct json_object *req_json_body(struct request *req, size_t max);

/* An If-Match header value `h` (NULL: absent) against the entity tag of the current
 * representation, `tag` without its quotes (RFC 9110 13.1.1: strong comparison, a weak tag never
 * matches; "*" matches any; a list may name several). */
enum if_match {
	IF_MATCH_ABSENT = 0, /* no header: the change goes ahead */
	IF_MATCH_OK,         /* "*" or a list naming the tag */
	IF_MATCH_FAILED,     /* well-formed, does not name the tag */
	IF_MATCH_MALFORMED,  /* not "*" nor a list of entity tags */
};
enum if_match req_if_match_eval(const char *h, const char *tag);

/* The same for any list of entity tags: `weak_matches` for the weak comparison of
 * If-None-Match (W/"x" names "x"), false for the strong one of If-Match. */
enum if_match req_etag_list(const char *h, const char *tag, bool weak_matches);

#endif
