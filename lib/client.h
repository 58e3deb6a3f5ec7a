/* client.h: calls from one service to another through NGINX's internal listener (one kept-alive handle per thread). */
#ifndef STORE_CLIENT_H
#define STORE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct store_config;
struct client;

/* What the other side said. `body` is the parsed JSON answer or NULL; the caller frees it
 * with client_reply_free(). */
struct client_reply {
	long status;
	struct json_object *body;
};

/*
 * Creates a client for cfg->internal_url (cfg borrowed; must outlive it) that names itself
 * `caller` ("cart", borrowed static string) in X-Store-Caller. Connects lazily and keeps the
 * connection open between calls. Returns NULL on allocation failure. Not thread-safe: one
 * per thread (lib/server.c puts one in every struct ctx).
 */
struct client *client_new(const struct store_config *cfg, const char *caller);

/* Closes and frees; accepts NULL. */
void client_free(struct client *c);

/*
 * Sends `method` to internal_url + `path` with an optional JSON `body` (borrowed; NULL sends
 * none), passing `request_id` on as X-Request-Id. Timeouts: 1 s to connect, 5 s in all.
 * Returns 0 when the other side answered with a status below 500: out->status and out->body
 * (NULL when the answer was not JSON) are set.
 * Returns -1 when the service cannot be counted on: transport error, timeout, a 5xx answer, a
 * path too long for the URL buffer or an allocation failure; out->status then holds the 5xx
 * status or 0, out->body is NULL, and the reason is logged at warn with the request id.
 * Handlers answer -1 with resp_unavailable() (503 with Retry-After).
 */
int client_call(struct client *c, const char *request_id, const char *method, const char *path,
		struct json_object *body, struct client_reply *out);

/* --- reading another service's answer (for the typed clients) --------------------------- */

/* The member `key` of `o` as an integer (a JSON integer, nothing else) into *out. Returns false
 * when it is absent or of another type (*out untouched). `o` may be NULL. */
bool client_json_i64(struct json_object *o, const char *key, int64_t *out);

/* The string member `key` of `o` copied into dst (`cap` bytes with the NUL). Absent or null: dst
 * is "" and it returns `optional`; another type, or longer than cap - 1: false. */
bool client_json_str(struct json_object *o, const char *key, char *dst, size_t cap, bool optional);

/* Writes `prefix` followed by ids[0..n) comma-separated ("...?ids=1,2,3") into buf. Returns false
 * when it does not fit. */
bool client_path_ids(char *buf, size_t len, const char *prefix, const int64_t *ids, size_t n);

/* Frees out->body and resets `r`; accepts NULL. */
void client_reply_free(struct client_reply *r);

/* Number of TCP connections the client opened so far (for tests and benchmarks of reuse). */
long client_connects(const struct client *c);

#endif
