/* response.c: writes JSON responses and RFC 9457 problem details through the request's io. */
#include "response.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "log.h"
#include "problem.h"
#include "request.h"

void resp_header(struct request *req, const char *name, const char *value)
{
	size_t room = sizeof(req->headers) - req->headers_len;
	int n = snprintf(req->headers + req->headers_len, room, "%s: %s\r\n", name, value);

	if (n > 0 && (size_t)n < room && !strpbrk(value, "\r\n")) {
		req->headers_len += (size_t)n;
		return;
	}
	req->headers[req->headers_len] = '\0';
	/* Never silent: a dropped header is a bug of ours (too many or too long, or a CR/LF). */
	log_msg(LOG_ERROR, req->request_id, "response header %s dropped (%s)", name,
		strpbrk(value, "\r\n") ? "holds CR or LF" : "no room left");
}

static void write_all(struct request *req, const char *buf, size_t len)
{
	while (len > 0) {
		int n = req->io.write(req->io.handle, buf, len > 1u << 30 ? 1 << 30 : (int)len);
		if (n <= 0)
			return; /* the client went away; nothing more to do */
		buf += n;
		len -= (size_t)n;
	}
}

/* Removes the header lines named `name` from those added so far. */
static void drop_header(struct request *req, const char *name)
{
	size_t nlen = strlen(name), i = 0;
	while (i < req->headers_len) {
		char *line = req->headers + i, *end = strstr(line, "\r\n");
		size_t llen = end ? (size_t)(end - line) + 2 : req->headers_len - i;
		if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
			memmove(line, line + llen, req->headers_len - i - llen + 1);
			req->headers_len -= llen;
		} else {
			i += llen;
		}
	}
}

static void write_response(struct request *req, int status, const char *ctype, const char *body, size_t len)
{
	char head[2048];
	int n;

	if (req->status) {
		log_msg(LOG_ERROR, req->request_id, "second response (%d) after %d dropped", status, req->status);
		return;
	}
	req->status = status;
	/* A Location set for the answer a handler meant to give (a 201 whose read-back then failed)
	 * never travels with a server error: it would name a resource this answer does not give. A
	 * 4xx keeps it: a 409 may name the resource it conflicts with (already_reviewed). */
	if (status >= 500)
		drop_header(req, "Location");
	if (ctype)
		n = snprintf(head, sizeof(head), "Status: %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
			     status, problem_title(status), ctype, len, req->headers);
	else
		n = snprintf(head, sizeof(head), "Status: %d %s\r\n%s\r\n", status, problem_title(status),
			     req->headers);
	if (n < 0 || (size_t)n >= sizeof(head))
		return;
	write_all(req, head, (size_t)n);
	if (body && len)
		write_all(req, body, len);
}

void resp_json(struct request *req, int status, struct json_object *body)
{
	size_t len = 0;
	const char *s = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
							  &len);
	write_response(req, status, "application/json; charset=utf-8", s, len);
}

void resp_json_raw(struct request *req, int status, const char *body, size_t len)
{
	write_response(req, status, "application/json; charset=utf-8", body, len);
}

void resp_body(struct request *req, int status, const char *content_type, const char *body, size_t len)
{
	write_response(req, status, content_type, body, len);
}

void resp_empty(struct request *req, int status)
{
	write_response(req, status, NULL, NULL, 0);
}

struct json_object *problem_new(int status, const char *code, const char *detail, const char *request_id,
				const struct field_errors *errs)
{
	struct json_object *o = json_object_new_object();
	char type[96];

	snprintf(type, sizeof(type), "urn:store:problem:%s", code);
	json_object_object_add(o, "type", json_object_new_string(type));
	json_object_object_add(o, "title", json_object_new_string(problem_title(status)));
	json_object_object_add(o, "status", json_object_new_int(status));
	json_object_object_add(o, "detail", json_object_new_string(detail ? detail : problem_title(status)));
	json_object_object_add(o, "code", json_object_new_string(code));
	json_object_object_add(o, "request_id", json_object_new_string(request_id ? request_id : "-"));
	if (errs && errs->n) {
		struct json_object *list = json_object_new_array_ext((int)errs->n);
		for (size_t i = 0; i < errs->n; i++) {
			struct json_object *e = json_object_new_object();
			json_object_object_add(e, "field", json_object_new_string(errs->items[i].field));
			json_object_object_add(e, "message", json_object_new_string(errs->items[i].message));
			json_object_array_add(list, e);
		}
		json_object_object_add(o, "errors", list);
	}
	return o;
}

static void problem_write(struct request *req, int status, const char *code, const char *detail,
			  const struct field_errors *errs)
{
	struct json_object *o = problem_new(status, code, detail, req->request_id, errs);
	size_t len = 0;
	const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);

	/* Only the unexpected is logged here; a backend that is down is logged by resp_unavailable,
	 * and a deliberate refusal (503 busy in a login storm) is not an event at all. */
	if (status == 500)
		log_msg(LOG_ERROR, req->request_id, "500 %s: %s", code, detail ? detail : "");
	write_response(req, status, "application/problem+json", s, len);
	json_object_put(o);
}

void resp_problem_obj(struct request *req, struct json_object *problem)
{
	size_t len = 0;
	int status = json_object_get_int(json_object_object_get(problem, "status"));
	const char *s = json_object_to_json_string_length(problem, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE,
							  &len);
	write_response(req, status ? status : 500, "application/problem+json", s, len);
}

void resp_problem(struct request *req, int status, const char *code, const char *detail)
{
	problem_write(req, status, code, detail, NULL);
}

void resp_problemf(struct request *req, int status, const char *code, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	problem_write(req, status, code, detail, NULL);
}

void resp_invalid(struct request *req, const struct field_errors *errs)
{
	problem_write(req, 422, "validation_failed", "One or more fields are invalid.", errs);
}

static void unavailable(struct request *req, const char *backend)
{
	resp_header(req, "Retry-After", "1");
	resp_problemf(req, 503, "unavailable", "The %s is unavailable; try again shortly.", backend);
}

void resp_unavailable(struct request *req, const char *backend)
{
	log_msg(LOG_WARN, req->request_id, "503: the %s is unavailable", backend);
	unavailable(req, backend);
}

bool resp_etag_matches(const char *inm, const char *etag)
{
	char tag[64];
	size_t n = strlen(etag);
	if (n < 2 || n - 2 >= sizeof(tag) || etag[0] != '"' || etag[n - 1] != '"')
		return false;
	memcpy(tag, etag + 1, n - 2);
	tag[n - 2] = '\0';
	return req_etag_list(inm, tag, true) == IF_MATCH_OK;
}

void resp_etag_hex(const char *body, size_t len, char hex[33])
{
	unsigned char h[16];
	crypto_generichash(h, sizeof(h), (const unsigned char *)body, len, NULL, 0);
	sodium_bin2hex(hex, 33, h, sizeof(h));
}

void resp_json_etag(struct request *req, const char *body, size_t len)
{
	char hex[33], etag[36];

	resp_etag_hex(body, len, hex);
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	resp_header(req, "ETag", etag);
	resp_header(req, "Cache-Control", "no-cache");
	if (resp_etag_matches(req_header(req, "If-None-Match"), etag))
		resp_empty(req, 304);
	else
		resp_json_raw(req, 200, body, len);
}

bool resp_lookup_failed(struct request *req, const struct db_conn *db, int rc, const char *detail)
{
	if (rc < 0)
		resp_db_error(req, db);
	else if (rc > 0)
		resp_problem(req, 404, "not_found", detail);
	return rc != 0;
}

void resp_db_error(struct request *req, const struct db_conn *db)
{
	int status = db_err_status(db->err);

	log_msg(LOG_ERROR, req->request_id, "database: %s", db->errstr);
	if (status == 409)
		resp_problem(req, 409, "conflict", "The request conflicts with an existing resource.");
	else if (status == 503)
		unavailable(req, "database"); /* logged just above, with the cause */
	else
		resp_problem(req, 500, "internal", "The server could not complete the request.");
}
