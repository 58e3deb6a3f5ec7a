/* fake_io.h: a struct request_io over memory for unit tests: CGI params in, body in, response captured. */
#ifndef STORE_FAKE_IO_H
#define STORE_FAKE_IO_H

#include <stdbool.h>
#include <stddef.h>

#include "request.h"

struct json_object;

#define FAKE_IO_MAX_PARAMS 32
#define FAKE_IO_MAX_HEADERS 32

struct fake_io {
	/* Input: CGI params (borrowed strings) and the request body. */
	const char *names[FAKE_IO_MAX_PARAMS];
	const char *values[FAKE_IO_MAX_PARAMS];
	size_t nparams;
	const char *body; /* borrowed; may hold NUL bytes */
	size_t body_len;
	size_t body_pos;
	size_t read_chunk; /* at most this many bytes per read (0: no limit) */
	bool read_fails;   /* read returns -1 */
	int reads;         /* read calls made */

	/* Output: everything written, NUL-terminated for convenience. */
	char *out;
	size_t out_len, out_cap;
	size_t write_chunk; /* at most this many bytes per write (0: no limit) */
	bool write_fails;   /* write returns -1 */
	int writes;         /* write calls made */
};

/* A captured CGI response, split into its parts. */
struct fake_resp {
	int status;         /* from "Status: NNN Reason" */
	char reason[64];
	size_t nheaders;    /* headers after the status line */
	char names[FAKE_IO_MAX_HEADERS][64];
	char values[FAKE_IO_MAX_HEADERS][512];
	const char *body;   /* points into the fake_io output */
	size_t body_len;
	struct json_object *json; /* the body parsed strictly as one JSON document, or NULL */
};

/* Zeroes `f`. Free with fake_io_free(). */
void fake_io_init(struct fake_io *f);

/* Frees the captured output; accepts NULL. */
void fake_io_free(struct fake_io *f);

/* Adds (or replaces) CGI param `name`; both strings are borrowed. */
void fake_io_param(struct fake_io *f, const char *name, const char *value);

/* Sets the request body (borrowed, `len` bytes). Does not set CONTENT_LENGTH. */
void fake_io_body(struct fake_io *f, const char *body, size_t len);

/* Returns a request_io reading from and writing to `f`. */
struct request_io fake_io_io(struct fake_io *f);

/*
 * Sets REQUEST_METHOD and REQUEST_URI and runs request_init() on `req`.
 * Returns what request_init returned.
 */
int fake_request(struct fake_io *f, struct request *req, const char *method, const char *uri);

/*
 * Parses the captured output as a CGI response: a "Status: NNN Reason" line,
 * "Name: value" header lines, each ending in CRLF, an empty line, then the body.
 * Returns false (and leaves nothing to free) when the output is not shaped like that.
 * When the body is non-empty it is parsed as one strict JSON document into r->json
 * (NULL if it is not JSON). Free with fake_resp_free().
 */
bool fake_resp_parse(const struct fake_io *f, struct fake_resp *r);

/* Frees r->json; accepts NULL. */
void fake_resp_free(struct fake_resp *r);

/* Returns the value of the first header `name` (case-insensitive), or NULL. */
const char *fake_resp_header(const struct fake_resp *r, const char *name);

/* Returns how many headers are called `name` (case-insensitive). */
size_t fake_resp_header_count(const struct fake_resp *r, const char *name);

/* Returns how many times `needle` occurs in the captured output. */
size_t fake_io_count(const struct fake_io *f, const char *needle);

#endif
