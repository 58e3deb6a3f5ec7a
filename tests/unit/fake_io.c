/* fake_io.c: an in-memory struct request_io for unit tests, and a parser of what it captured. */
#include "fake_io.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void fake_io_init(struct fake_io *f)
{
	memset(f, 0, sizeof(*f));
}

void fake_io_free(struct fake_io *f)
{
	if (!f)
		return;
	free(f->out);
	f->out = NULL;
	f->out_len = f->out_cap = 0;
}

void fake_io_param(struct fake_io *f, const char *name, const char *value)
{
	for (size_t i = 0; i < f->nparams; i++) {
		if (strcmp(f->names[i], name) == 0) {
			f->values[i] = value;
			return;
		}
	}
	if (f->nparams == FAKE_IO_MAX_PARAMS)
		abort(); /* a test asked for more than the fake holds: fix the test */
	f->names[f->nparams] = name;
	f->values[f->nparams] = value;
	f->nparams++;
}

void fake_io_body(struct fake_io *f, const char *body, size_t len)
{
	f->body = body;
	f->body_len = len;
	f->body_pos = 0;
}

static const char *fake_param(void *handle, const char *name)
{
	struct fake_io *f = handle;

	for (size_t i = 0; i < f->nparams; i++)
		if (strcmp(f->names[i], name) == 0)
			return f->values[i];
	return NULL;
}

static int fake_read(void *handle, char *buf, int len)
{
	struct fake_io *f = handle;
	size_t n = f->body_len - f->body_pos;

	f->reads++;
	if (f->read_fails)
		return -1;
	if (len < 0)
		abort();
	if (n > (size_t)len)
		n = (size_t)len;
	if (f->read_chunk && n > f->read_chunk)
		n = f->read_chunk;
	if (n)
		memcpy(buf, f->body + f->body_pos, n);
	f->body_pos += n;
	return (int)n;
}

static int fake_write(void *handle, const char *buf, int len)
{
	struct fake_io *f = handle;
	size_t n;

	f->writes++;
	if (f->write_fails)
		return -1;
	if (len < 0)
		abort();
	n = (size_t)len;
	if (f->write_chunk && n > f->write_chunk)
		n = f->write_chunk;
	if (f->out_len + n + 1 > f->out_cap) {
		size_t cap = f->out_cap ? f->out_cap : 256;
		while (cap < f->out_len + n + 1)
			cap *= 2;
		char *p = realloc(f->out, cap);
		if (!p)
			abort();
		f->out = p;
		f->out_cap = cap;
	}
	memcpy(f->out + f->out_len, buf, n);
	f->out_len += n;
	f->out[f->out_len] = '\0';
	return (int)n;
}

struct request_io fake_io_io(struct fake_io *f)
{
	return (struct request_io){.param = fake_param, .read = fake_read, .write = fake_write, .handle = f};
}

int fake_request(struct fake_io *f, struct request *req, const char *method, const char *uri)
{
	struct request_io io = fake_io_io(f);

	if (method)
		fake_io_param(f, "REQUEST_METHOD", method);
	if (uri)
		fake_io_param(f, "REQUEST_URI", uri);
	return request_init(req, &io, NULL);
}

/* Returns the end of the CRLF-terminated line starting at `p`, or NULL (bare CR or LF, or no CRLF). */
static const char *line_end(const char *p, const char *end)
{
	for (const char *q = p; q < end; q++) {
		if (*q == '\r')
			return q + 1 < end && q[1] == '\n' ? q : NULL;
		if (*q == '\n')
			return NULL;
	}
	return NULL;
}

bool fake_resp_parse(const struct fake_io *f, struct fake_resp *r)
{
	const char *p = f->out, *end = f->out + f->out_len, *eol;
	char digits[4];

	memset(r, 0, sizeof(*r));
	if (!p)
		return false;
	/* Status line: "Status: NNN Reason" */
	eol = line_end(p, end);
	if (!eol || eol - p < 12 || strncmp(p, "Status: ", 8) != 0 || p[11] != ' ')
		return false;
	memcpy(digits, p + 8, 3);
	digits[3] = '\0';
	for (int i = 0; i < 3; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return false;
	r->status = atoi(digits);
	if ((size_t)(eol - p - 12) >= sizeof(r->reason))
		return false;
	memcpy(r->reason, p + 12, (size_t)(eol - p - 12));
	p = eol + 2;

	/* Header lines up to the empty line. */
	for (;;) {
		eol = line_end(p, end);
		if (!eol)
			return false;
		if (eol == p) {
			p += 2;
			break;
		}
		const char *colon = memchr(p, ':', (size_t)(eol - p));
		if (!colon || colon == p || colon[1] != ' ' || r->nheaders == FAKE_IO_MAX_HEADERS)
			return false;
		size_t nlen = (size_t)(colon - p), vlen = (size_t)(eol - colon - 2);
		if (nlen >= sizeof(r->names[0]) || vlen >= sizeof(r->values[0]))
			return false;
		memcpy(r->names[r->nheaders], p, nlen);
		r->names[r->nheaders][nlen] = '\0';
		memcpy(r->values[r->nheaders], colon + 2, vlen);
		r->values[r->nheaders][vlen] = '\0';
		r->nheaders++;
		p = eol + 2;
	}
	r->body = p;
	r->body_len = (size_t)(end - p);
	if (r->body_len > 0) {
		struct json_tokener *tok = json_tokener_new();
		if (!tok)
			return false;
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
		struct json_object *o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
		bool whole = o && json_tokener_get_error(tok) == json_tokener_success &&
			     json_tokener_get_parse_end(tok) == r->body_len;
		json_tokener_free(tok);
		if (whole)
			r->json = o;
		else
			json_object_put(o);
	}
	return true;
}

void fake_resp_free(struct fake_resp *r)
{
	if (!r)
		return;
	json_object_put(r->json);
	r->json = NULL;
}

const char *fake_resp_header(const struct fake_resp *r, const char *name)
{
	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->names[i], name) == 0)
			return r->values[i];
	return NULL;
}

size_t fake_resp_header_count(const struct fake_resp *r, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nheaders; i++)
		if (strcasecmp(r->names[i], name) == 0)
			n++;
	return n;
}

size_t fake_io_count(const struct fake_io *f, const char *needle)
{
	size_t n = 0, nlen = strlen(needle);

	if (!f->out || nlen == 0)
		return 0;
	for (const char *p = f->out; (p = memmem(p, f->out_len - (size_t)(p - f->out), needle, nlen)); p += nlen)
		n++;
	return n;
}
