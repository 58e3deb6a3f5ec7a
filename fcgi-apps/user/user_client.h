/* user_client.h: the user service's typed client, for services that write to a shopper. */
#ifndef STORE_USER_CLIENT_H
#define STORE_USER_CLIENT_H

#include <stdint.h>

struct client;
struct request;

/* What another service needs to know of an account. */
struct user_brief {
	int64_t id;
	char email[255];
	char name[401];
};

/*
 * Reads account `id` (GET /internal/user/users/{id}). Returns 0 with `out` filled, 1 when there
 * is no such account, or -1 when the user service cannot be reached or answered something
 * unexpected (logged; the caller answers 503 or retries later).
 */
int user_client_get(struct client *c, const char *request_id, int64_t id, struct user_brief *out);

/*
 * The signed-in caller's account (req->user_id): from the caller's session, which carries the
 * e-mail address and the current name (lib/session.h) and which auth_require read, and from the
 * user service only for a session made before sessions carried them. Returns as
 * user_client_get.
 */
int user_client_caller(struct request *req, struct user_brief *out);

#endif
