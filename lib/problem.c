/* problem.c: the bounded list of field errors and the HTTP reason phrases. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "parse.h"

/* Replaces every byte that does not start a complete, valid UTF-8 sequence with '?', so a
 * field name or message cut short by its buffer (or by a "%.40s") is still valid UTF-8. */
static void scrub(char *s)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned char c = (unsigned char)s[i];
		size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (len == 0 || i + len > n || !parse_utf8_valid(s + i, len)) {
			s[i++] = '?';
			continue;
		}
		i += len;
	}
}

void problem_add(struct field_errors *errs, const char *field, const char *fmt, ...)
{
	va_list ap;

	if (!errs || errs->n >= PROBLEM_MAX_ERRORS)
		return;
	struct field_error *e = &errs->items[errs->n++];
	snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	scrub(e->field);
	scrub(e->message);
}

void problem_add_nested(struct field_errors *errs, const char *outer, const struct field_errors *inner)
{
	for (size_t i = 0; i < inner->n; i++) {
		char field[sizeof(inner->items[i].field) + 64];
		snprintf(field, sizeof(field), "%s.%s", outer, inner->items[i].field);
		problem_add(errs, field, "%s", inner->items[i].message);
	}
}

const char *problem_title(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 412: return "Precondition Failed";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}
