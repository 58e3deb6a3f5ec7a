/* router.c: matches a request against the route table, checks the role, runs the handler. */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "parse.h"
#include "problem.h"
#include "request.h"
#include "response.h"

/* Parameters named "id" or "..._id" hold numeric ids only, so "/users/me" never matches "/users/{id}". */
static bool is_id_name(const char *name)
{
	size_t n = strlen(name);
	return strcmp(name, "id") == 0 || (n > 3 && strcmp(name + n - 3, "_id") == 0);
}

/* An id in a path: 1..ID_MAX, digits only, no leading zero (anything else is no match: 404). */
static bool is_id(const char *s)
{
	int64_t v;
	return parse_i64(s, 1, ID_MAX, &v);
}

/* Matches one pattern against the path; fills params on success. */
static bool match(const char *pattern, const char *path, struct request *req)
{
	const char *p = pattern, *s = path;
	size_t np = 0;

	while (*p && *s) {
		if (*p != '/' || *s != '/')
			return false;
		p++;
		s++;
		const char *pe = strchr(p, '/'), *se = strchr(s, '/');
		size_t plen = pe ? (size_t)(pe - p) : strlen(p);
		size_t slen = se ? (size_t)(se - s) : strlen(s);

		if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
			if (slen == 0 || np >= REQUEST_MAX_PARAMS || plen - 2 >= sizeof(req->params[0].name))
				return false;
			struct path_param *pp = &req->params[np];
			memcpy(pp->name, p + 1, plen - 2);
			pp->name[plen - 2] = '\0';
			if (parse_percent_decode(s, slen, pp->value, sizeof(pp->value), false) < 0 ||
			    !parse_utf8_valid(pp->value, strlen(pp->value)))
				return false;
			if (is_id_name(pp->name) && !is_id(pp->value))
				return false;
			np++;
		} else if (plen != slen || memcmp(p, s, plen) != 0) {
			return false;
		}
		p += plen;
		s += slen;
	}
	if (*p || *s)
		return false;
	req->nparams = np;
	return true;
}

static bool visible(const struct route *r, const struct request *req)
{
	/* Internal routes do not exist as far as the public listener is concerned. */
	return r->role != ROLE_INTERNAL || req->internal;
}

const struct route *router_match(const struct route *routes, size_t n, struct request *req, int *status,
				 char *allow, size_t allowlen)
{
	size_t alen = 0;

	if (allowlen)
		allow[0] = '\0';
	/* HEAD is GET without the body: NGINX drops the body the handler writes. */
	const char *method = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;
	for (size_t i = 0; i < n; i++) {
		if (!visible(&routes[i], req) || !match(routes[i].pattern, req->path, req))
			continue;
		if (strcmp(routes[i].method, method) == 0)
			return &routes[i];
		/* Same path, other method: remember it for Allow (once per method). */
		bool seen = false;
		for (size_t j = 0; j < i; j++)
			if (strcmp(routes[j].method, routes[i].method) == 0 && visible(&routes[j], req) &&
			    match(routes[j].pattern, req->path, req))
				seen = true;
		if (!seen && alen < allowlen) {
			bool get = strcmp(routes[i].method, "GET") == 0;
			int w = snprintf(allow + alen, allowlen - alen, "%s%s%s", alen ? ", " : "", routes[i].method,
					 get ? ", HEAD" : "");
			if (w > 0)
				alen += (size_t)w;
		}
	}
	req->nparams = 0;
	*status = alen ? 405 : 404;
	return NULL;
}

/* True when `key` is one of the space-separated names in `list`. */
static bool in_list(const char *list, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = list; p && *p;) {
		while (*p == ' ')
			p++;
		size_t len = strcspn(p, " ");
		if (len == n && n && memcmp(p, key, n) == 0)
			return true;
		p += len;
	}
	return false;
}

/* The one check of query parameters for every route: each must be one the route declares,
 * and appear once. On refusal writes 422 validation_failed naming each and returns false. */
static bool query_declared(const struct route *r, struct request *req)
{
	struct field_errors errs = {0};

	for (size_t i = 0; i < req->nquery; i++) {
		const char *k = req->query[i].key;
		if (!in_list(r->query, k)) {
			problem_add(&errs, k, "unknown query parameter");
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (strcmp(req->query[j].key, k) == 0) {
				problem_add(&errs, k, "query parameter given more than once");
				break;
			}
		}
	}
	if (errs.n == 0)
		return true;
	resp_invalid(req, &errs);
	return false;
}

/* GET, HEAD, DELETE and routes declared ROUTE_NO_BODY take no body: one sent is refused with
 * 400 body_not_allowed rather than ignored, so a client never believes it was read. */
static bool body_allowed(const struct route *r, struct request *req)
{
	const char *cl = req_param(req, "CONTENT_LENGTH");
	bool bodiless = r->max_body == ROUTE_NO_BODY || strcmp(r->method, "GET") == 0 ||
			strcmp(r->method, "DELETE") == 0;

	if (!bodiless || !cl || !*cl || strcmp(cl, "0") == 0)
		return true;
	resp_problem(req, 400, "body_not_allowed", "This operation takes no request body.");
	return false;
}

const struct route *router_dispatch(const struct route *routes, size_t n, router_authorizer authorize,
				    struct request *req)
{
	char allow[128];
	int status = 0;
	const struct route *r = router_match(routes, n, req, &status, allow, sizeof(allow));

	if (!r) {
		if (status == 405) {
			resp_header(req, "Allow", allow);
			resp_problemf(req, 405, "method_not_allowed", "%s is not allowed here; use %s.", req->method,
				      allow);
		} else {
			resp_problem(req, 404, "not_found", "No such resource.");
		}
		return NULL;
	}
	if (r->role == ROLE_CUSTOMER || r->role == ROLE_ADMIN || r->role == ROLE_OPTIONAL) {
		if (!authorize) {
			log_msg(LOG_ERROR, req->request_id, "route %s needs a role but no authoriser is set", r->pattern);
			resp_problem(req, 500, "internal", "The server is misconfigured.");
			return r;
		}
		if (authorize(req, r->role) != 0)
			return r;
	}
	if (!query_declared(r, req) || !body_allowed(r, req))
		return r;
	if (r->max_body && r->max_body != ROUTE_NO_BODY)
		req->max_body = r->max_body;
	r->handler(req);
	return r;
}
