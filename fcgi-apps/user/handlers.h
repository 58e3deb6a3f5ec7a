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

/* The public view of a user (never the hash). Caller owns the result. */
struct json_object *user_json(const struct user *u);

/* Maps a password-hash result that is not PW_OK/PW_MISMATCH to 503 (busy) or 500; returns true if it did. */
struct request;
int password_fail_response(struct request *req, int pw_result);

/* Answers 429 (with Retry-After) when `email` has had 5 failed password checks within
 * 15 minutes, or 503 when Redis is down. Returns 0 (go on) or 1 (response written). */
int lockout_check(struct request *req, const char *email);

/* Counts one failed password check for `email` (the window starts at the first). */
void lockout_fail(struct request *req, const char *email);

#endif
