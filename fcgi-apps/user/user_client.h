/* user_client.h: the user service's typed client, for the services that write to a user (the order's e-mails). */
#ifndef STORE_USER_CLIENT_H
#define STORE_USER_CLIENT_H

#include <stdint.h>

struct client;

/* What another service may know of an account. */
struct user_contact {
	int64_t id;
	char email[255];
	char name[401]; /* 100 code points of UTF-8 */
};

/*
 * Reads user `id` with GET /internal/user/users/{id}. Returns 0 with *out filled, 1 when the
 * user does not exist, -1 when the user service cannot be reached or answered something
 * unexpected (logged; the caller answers 503).
 */
int user_client_get(struct client *c, const char *request_id, int64_t id, struct user_contact *out);

#endif
