/* internal.h: calls from one service to another through NGINX's internal listener. */
#ifndef STORE_INTERNAL_H
#define STORE_INTERNAL_H

struct json_object;
struct store_config;

/*
 * Sends `method` to cfg->internal_url + `path` with an optional JSON `body`, passing
 * `request_id` on as X-Request-Id, with a 5 s timeout. Returns the HTTP status and sets
 * *out to the parsed JSON answer (caller frees; NULL when there is none); returns -1
 * when the gateway cannot be reached (*out NULL).
 */
long internal_call(const struct store_config *cfg, const char *method, const char *path, const char *body,
		   const char *request_id, struct json_object **out);

#endif
