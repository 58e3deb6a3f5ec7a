/* router.h: a table of {method, path pattern, handler, role, body cap, query parameters}; 404 and 405 with Allow. */
#ifndef STORE_ROUTER_H
#define STORE_ROUTER_H

#include <stddef.h>
#include <stdint.h>

#include "auth.h"

struct request;

struct route {
	const char *method;  /* "GET", "POST", ... */
	/* "/api/v1/products/{id}": `{name}` matches one non-empty segment; a parameter named
	 * `id` or `*_id` matches an id only (1..ID_MAX of parse.h, no leading zeros), so
	 * literal siblings like "me" never clash and a larger number is 404. */
	const char *pattern;
	void (*handler)(struct request *req);
	enum role role;
	/* The route's own cap on a JSON body in bytes; 0: STORE_MAX_BODY; ROUTE_NO_BODY: the
	 * route takes no body and one sent is refused (GET, HEAD and DELETE never take one). */
	size_t max_body;
	/* The query parameters the route takes, space-separated ("limit offset q"); NULL: none.
	 * Any other, or one given twice, is refused with 422 before the handler runs. */
	const char *query;
};

#define ROUTE_NO_BODY SIZE_MAX

/*
 * Checks that the caller may use a route needing `role`; on refusal writes the
 * 401/403 problem and returns -1, else fills req->user_id/role and returns 0
 * (lib/auth.c's auth_require is the one the services use).
 */
typedef int (*router_authorizer)(struct request *req, enum role role);

/*
 * Matches req->path and req->method against `routes`. Returns the route and
 * fills req->params; or NULL with *status 404, or 405 with the allowed methods
 * ("GET, POST") in `allow`.
 */
const struct route *router_match(const struct route *routes, size_t n, struct request *req, int *status,
				 char *allow, size_t allowlen);

/* Matches, authorises with `authorize` (NULL: routes needing a role answer 500), checks the
 * query parameters (422) and that a bodiless route got no body (400), and runs the handler;
 * or writes the 404/405/401/403/422/400 problem. Returns the route matched (whatever its
 * answer), or NULL for a 404/405 of no route (lib/metrics labels requests by it). */
const struct route *router_dispatch(const struct route *routes, size_t n, router_authorizer authorize,
				    struct request *req);

#endif
