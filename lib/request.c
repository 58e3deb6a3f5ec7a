/* request.c: method, path, query, headers and the JSON body of one request. */
#include "request.h"

#include <ctype.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "ctx.h"
#include "field.h"
#include "jsonstrict.h"
#include "parse.h"
#include "problem.h"
#include "response.h"

const char *req_param(const struct request *req, const char *name)
{
	return req->io.param ? req->io.param(req->io.handle, name) : NULL;
}

const char *req_header(const struct request *req, const char *name)
{
	char key[128] = "HTTP_";
	size_t o = 5;

	if (strcasecmp(name, "Content-Type") == 0)
		return req_param(req, "CONTENT_TYPE");
	if (strcasecmp(name, "Content-Length") == 0)
		return req_param(req, "CONTENT_LENGTH");
	for (const char *p = name; *p && o + 1 < sizeof(key); p++)
		key[o++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	key[o] = '\0';
	return req_param(req, key);
}

/* Splits the query string into decoded key/value pairs. Returns 0, or -1 on a bad escape. */
static int parse_query(struct request *req, const char *qs)
{
	while (qs && *qs) {
		const char *amp = strchr(qs, '&');
		size_t len = amp ? (size_t)(amp - qs) : strlen(qs);

		if (len > 0) {
			const char *eq = memchr(qs, '=', len);
			size_t klen = eq ? (size_t)(eq - qs) : len;
			size_t vlen = eq ? len - klen - 1 : 0;
			if (req->nquery >= REQUEST_MAX_QUERY || klen == 0)
				return -1;
			char *k = malloc(klen + 1), *v = malloc(vlen + 1);
			struct query_param *qp = &req->query[req->nquery++];
			qp->key = k;
			qp->value = v;
			if (!k || !v || parse_percent_decode(qs, klen, k, klen + 1, true) < 0 ||
			    parse_percent_decode(eq ? eq + 1 : "", vlen, v, vlen + 1, true) < 0 ||
			    !parse_utf8_valid(k, strlen(k)) || !parse_utf8_valid(v, strlen(v)))
				return -1;
		}
		qs = amp ? amp + 1 : NULL;
	}
	return 0;
}

int request_init(struct request *req, const struct request_io *io, struct ctx *ctx)
{
	const char *uri, *q;
	size_t plen;

	memset(req, 0, sizeof(*req));
	req->io = *io;
	req->ctx = ctx;
	if (ctx && ctx->cfg)
		req->max_body = (size_t)ctx->cfg->max_body; /* STORE_MAX_BODY; a route may lower or raise it */
	req->method = req_param(req, "REQUEST_METHOD");
	if (!req->method)
		req->method = "GET";
	req->request_id = req_param(req, "REQUEST_ID");
	if (!req->request_id || !*req->request_id)
		req->request_id = "-";
	const char *listener = req_param(req, "STORE_LISTENER");
	req->internal = listener && strcmp(listener, "internal") == 0;

	uri = req_param(req, "REQUEST_URI");
	if (!uri || uri[0] != '/') {
		resp_problem(req, 400, "bad_request", "The request target must be an absolute path.");
		return -1;
	}
	q = strchr(uri, '?');
	plen = q ? (size_t)(q - uri) : strlen(uri);
	if (plen >= sizeof(req->path)) {
		resp_problem(req, 400, "bad_request", "The request path is too long.");
		return -1;
	}
	memcpy(req->path, uri, plen);
	req->path[plen] = '\0';
	if (q && parse_query(req, q + 1) != 0) {
		resp_problem(req, 400, "bad_query",
			     "The query string is malformed (bad percent-encoding, empty name or too many parameters).");
		return -1;
	}
	return 0;
}

void request_cleanup(struct request *req)
{
	for (size_t i = 0; i < req->nquery; i++) {
		free(req->query[i].key);
		free(req->query[i].value);
	}
	req->nquery = 0;
	free(req->body);
	req->body = NULL;
	if (req->json)
		json_object_put(req->json);
	req->json = NULL;
}

const char *req_query(const struct request *req, const char *key)
{
	for (size_t i = 0; i < req->nquery; i++)
		if (strcmp(req->query[i].key, key) == 0)
			return req->query[i].value;
	return NULL;
}

bool req_query_allowed(const struct request *req, const char *const *allowed, struct field_errors *errs)
{
	bool ok = true;

	for (size_t i = 0; i < req->nquery; i++) {
		const char *k = req->query[i].key;
		bool known = false;
		for (const char *const *a = allowed; a && *a; a++)
			if (strcmp(*a, k) == 0)
				known = true;
		if (!known) {
			problem_add(errs, k, "unknown query parameter");
			ok = false;
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(req->query[j].key, k) == 0) {
				problem_add(errs, k, "query parameter given more than once");
				ok = false;
				break;
			}
		}
	}
	return ok;
}

bool req_query_i64(const struct request *req, const char *key, int64_t min, int64_t max, int64_t def,
		   int64_t *out, struct field_errors *errs)
{
	const char *v = req_query(req, key);

	if (!v) {
		*out = def;
		return true;
	}
	if (!parse_i64(v, min, max, out)) {
		problem_add(errs, key, "must be an integer from %lld to %lld", (long long)min, (long long)max);
		return false;
	}
	return true;
}

long req_query_ids(const struct request *req, const char *key, int64_t *ids, size_t cap, struct field_errors *errs)
{
	const char *v = req_query(req, key);
	long n;

	if (!v) {
		problem_add(errs, key, "is required");
		return -1;
	}
	if ((n = parse_id_list(v, ID_MAX, ids, cap)) < 0)
		problem_add(errs, key, "must be 1 to %zu comma-separated ids", cap);
	return n;
}

long req_query_only_ids(struct request *req, const char *key, int64_t *ids, size_t cap)
{
	const char *const allowed[] = {key, NULL};
	struct field_errors errs = {0};

	req_query_allowed(req, allowed, &errs);
	long n = req_query_ids(req, key, ids, cap, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		return -1;
	}
	return n;
}

const char *req_path_param(const struct request *req, const char *name)
{
	for (size_t i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}

bool req_path_id(const struct request *req, const char *name, int64_t *out)
{
	return parse_i64(req_path_param(req, name), 1, ID_MAX, out);
}

static bool is_json_type(const char *ct)
{
	static const char mt[] = "application/json";
	size_t n = sizeof(mt) - 1;

	if (!ct || strncasecmp(ct, mt, n) != 0)
		return false;
	return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

/* True when containers nest at most `left` deep below (and including) `o`. */
static bool depth_ok(struct json_object *o, int left)
{
	if (json_object_is_type(o, json_type_object)) {
		if (left == 0)
			return false;
		json_object_object_foreach(o, k, v)
		{
			(void)k;
			if (!depth_ok(v, left - 1))
				return false;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		if (left == 0)
			return false;
		for (size_t i = 0, n = json_object_array_length(o); i < n; i++)
			if (!depth_ok(json_object_array_get_idx(o, i), left - 1))
				return false;
	}
	return true;
}

struct json_object *req_json_body(struct request *req, size_t max)
{
	const char *cl = req_param(req, "CONTENT_LENGTH");
	int64_t len = 0;
	struct json_tokener *tok = NULL;
	struct json_object *obj = NULL;

	if (req->json)
		return req->json;
	if (max == 0)
		max = req->max_body ? req->max_body : 1u << 20;
	if (cl && *cl && !parse_i64(cl, 0, INT64_MAX, &len)) {
		resp_problem(req, 400, "bad_request", "Content-Length is not a valid length.");
		return NULL;
	}
	if ((uint64_t)len > max) {
		resp_problemf(req, 413, "body_too_large", "The request body is larger than %zu bytes.", max);
		return NULL;
	}
	if (len == 0) {
		resp_problem(req, 400, "body_required", "A JSON object is required in the request body.");
		return NULL;
	}
	if (!is_json_type(req_param(req, "CONTENT_TYPE"))) {
		resp_problem(req, 415, "unsupported_media_type", "The request body must be application/json.");
		return NULL;
	}
	req->body = malloc((size_t)len + 1);
	if (!req->body) {
		resp_problem(req, 500, "internal", "The server could not take the request.");
		return NULL;
	}
	while (req->body_len < (size_t)len) {
		int n = req->io.read(req->io.handle, req->body + req->body_len, (int)((size_t)len - req->body_len));
		if (n <= 0)
			break;
		req->body_len += (size_t)n;
	}
	req->body[req->body_len] = '\0';
	if (req->body_len != (size_t)len) {
		resp_problem(req, 400, "bad_request", "The request body is shorter than its Content-Length.");
		return NULL;
	}
	/* json-c's own UTF-8 check lets overlongs, surrogates and > U+10FFFF through. */
	if (!parse_utf8_valid(req->body, req->body_len)) {
		resp_problem(req, 400, "malformed_json", "The request body is not valid UTF-8 JSON.");
		return NULL;
	}
	const char *why;
	enum json_strict_err jse = json_strict_check(req->body, req->body_len, REQUEST_JSON_DEPTH, &why);
	if (jse != JSON_STRICT_OK) {
		if (jse == JSON_STRICT_TOO_DEEP)
			resp_problemf(req, 400, "malformed_json", "The JSON body is nested more than %d levels deep.",
				      REQUEST_JSON_DEPTH);
		else
			resp_problemf(req, 400, "malformed_json", "The request body is not valid JSON: %s.", why);
		return NULL;
	}
	/* json-c counts a value inside the innermost container as one more level: give it one
	 * level of slack and check the nesting of containers with depth_ok() below. */
	tok = json_tokener_new_ex(REQUEST_JSON_DEPTH + 1);
	if (!tok) {
		resp_problem(req, 500, "internal", "The server could not take the request.");
		return NULL;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, req->body, (int)req->body_len);
	enum json_tokener_error jerr = json_tokener_get_error(tok);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	/* Allow trailing whitespace only; anything else after the value is a second document. */
	while (obj && jerr == json_tokener_success && end < req->body_len && isspace((unsigned char)req->body[end]))
		end++;
	bool too_deep = jerr == json_tokener_error_depth || (obj && !depth_ok(obj, REQUEST_JSON_DEPTH));
	if (!obj || jerr != json_tokener_success || end != req->body_len || too_deep) {
		json_object_put(obj);
		if (too_deep)
			resp_problemf(req, 400, "malformed_json", "The JSON body is nested more than %d levels deep.",
				      REQUEST_JSON_DEPTH);
		else
			resp_problem(req, 400, "malformed_json", "The request body is not valid UTF-8 JSON.");
		return NULL;
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		resp_problem(req, 400, "malformed_json", "The request body must be a JSON object.");
		return NULL;
	}
	req->json = obj;
	return obj;
}

static bool etagc(unsigned char c)
{
	/* RFC 9110: %x21 / %x23-7E / obs-text */
	return c == 0x21 || (c >= 0x23 && c != 0x7f);
}

enum if_match req_etag_list(const char *h, const char *tag_want, bool weak_matches)
{
	bool matched = false, any = false;

	if (!h)
		return IF_MATCH_ABSENT;
	const char *p = h;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\0')
			break;
		if (*p == ',') { /* empty list elements are allowed (RFC 9110 5.6.1) */
			p++;
			continue;
		}
		if (*p == '*') {
			/* "*" stands alone: any current representation. */
			p++;
			while (*p == ' ' || *p == '\t')
				p++;
			if (*p != '\0' || any)
				return IF_MATCH_MALFORMED;
			return IF_MATCH_OK;
		}
		bool weak = strncmp(p, "W/", 2) == 0;
		if (weak)
			p += 2;
		if (*p != '"')
			return IF_MATCH_MALFORMED;
		const char *tag = ++p;
		while (*p && *p != '"') {
			if (!etagc((unsigned char)*p))
				return IF_MATCH_MALFORMED;
			p++;
		}
		if (*p != '"')
			return IF_MATCH_MALFORMED;
		size_t len = (size_t)(p - tag);
		p++;
		any = true;
		if ((weak_matches || !weak) && len == strlen(tag_want) && memcmp(tag, tag_want, len) == 0)
			matched = true;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != ',' && *p != '\0')
			return IF_MATCH_MALFORMED;
	}
	if (!any)
		return IF_MATCH_MALFORMED;
	return matched ? IF_MATCH_OK : IF_MATCH_FAILED;
}

enum if_match req_if_match_eval(const char *h, const char *tag)
{
	return req_etag_list(h, tag, false);
}
