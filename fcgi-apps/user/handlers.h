/* handlers.h: the user service's route handlers and what they share. */
#ifndef STORE_USER_HANDLERS_H
#define STORE_USER_HANDLERS_H

struct request;
struct user;
struct json_object;


void auth_register(struct request *req);
void auth_login(struct request *req);
void auth_refresh(struct request *req);
void auth_logout(struct request *req);
void auth_logout_all(struct request *req);

void users_me_get(struct request *req);
void users_me_patch(struct request *req);
void users_list(struct request *req);
void users_get(struct request *req);
void users_patch(struct request *req);
/* GET /internal/user/users/{id}: {id, email, name} for another service (the order's e-mails). */
void users_internal_get(struct request *req);

/* The public view of a user (never the hash). Caller owns the result. */
struct json_object *user_json(const struct user *u);

/* Maps a password-hash result that is not PW_OK/PW_MISMATCH to 503 (busy) or 500; returns true if it did. */
struct request;
int password_fail_response(struct request *req, int pw_result);

/*
 * Takes one of the 5 password checks `email` may have within 15 minutes (the window
 * starts at the first), atomically with the check, before any hashing: whatever the
 * concurrency, at most 5 passwords are tried per window. Returns 0 (go on: check the
 * password) or 1 with the response written: 429 (with Retry-After) when none is left,
 * 503 when Redis is down or answers anything unexpected (fails closed).
 */
int lockout_take(struct request *req, const char *email);

/* Gives back an attempt taken by lockout_take that checked no password (busy, database down). */
void lockout_release(struct request *req, const char *email);

/* Ends the window after a right password: the count starts again from 0. */
void lockout_clear(struct request *req, const char *email);

#endif
