/* session.h: sessions in Redis (session:<sid>), their rotating refresh tokens, and revocation. */
#ifndef STORE_SESSION_H
#define STORE_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include "contact.h"
#include "router.h"

struct redis_conn;

#define SESSION_SID_LEN 32      /* hex of 16 random bytes */
#define SESSION_REFRESH_LEN 97  /* "<sid>.<64 hex>" */
#define SESSION_GEN_MAX 24      /* a user's session generation as text, with its NUL */

/* A session as auth reads it: its user and role, and the account's contact when the session
 * carries one (has_contact false for a session made before sessions carried it). `cv` is the
 * account's credentials version the session was made under (0 for one made before sessions
 * carried it): read by session_rotate only. */
struct session_info {
	int64_t uid;
	enum role role;
	bool has_contact;
	struct session_contact contact;
	int64_t cv;
};

/* true for a session id as session_create makes them: SESSION_SID_LEN lower-case hex digits. */
bool session_sid_valid(const char *sid);

/*
 * Reads the session generation of `uid` into `gen` (opaque text; "0" when there is none).
 * A sign-in reads it *before* it reads the account's role and state, and hands it to
 * session_create: every revocation moves it on, so a session can never be created from an
 * account read that a revocation has already overtaken. Returns 0, or -1 (Redis down).
 */
int session_user_gen(struct redis_conn *r, int64_t uid, char gen[SESSION_GEN_MAX]);

/*
 * Creates a session for `uid` (with the account's contact, `who`, and credentials version `cv`:
 * a refresh refuses it once the account's has moved on) with a new random sid and
 * refresh token, living `ttl` seconds, provided the user's generation is still `gen` (from session_user_gen). Only a
 * hash of the refresh token is stored. In the same step the user's session index loses
 * its expired entries, and when the user then has more than `cap` sessions, those whose
 * lifetime ends first are revoked (never the new one). Returns 0 and fills `sid` and
 * `refresh` (NUL-terminated); 1 when the generation moved on (nothing created: read the
 * account again); -1 when Redis is unreachable.
 */
int session_create(struct redis_conn *r, int64_t uid, enum role role, const struct session_contact *who,
		   int64_t cv, const char *gen, long ttl, long cap, char sid[SESSION_SID_LEN + 1],
		   char refresh[SESSION_REFRESH_LEN + 1]);

/* Gives session `sid`, if it still exists, the credentials version `cv` unless it has a later
 * one (the session that changed the password keeps working). Returns 0 or -1 (Redis down). */
int session_set_cv(struct redis_conn *r, const char *sid, int64_t cv);

/* Looks a session up: its user, role and contact, in one read. Returns 0 (found, `out`
 * filled), 1 (no such session) or -1 (Redis down). */
int session_get(struct redis_conn *r, const char *sid, struct session_info *out);

/*
 * Gives every live session of `uid` the display name `name`, and moves the user's generation
 * on in the same step, so that a sign-in that read the account before the change creates no
 * session with the old name (it reads the account again). Call it after the change is
 * committed; repeating it is harmless. Returns 0 or -1 (Redis down: nothing changed).
 */
int session_user_rename(struct redis_conn *r, int64_t uid, const char *name);

enum session_rotate {
	SESSION_ROTATED = 0, /* new refresh token in `refresh_out`, `out` and `sid_out` filled */
	SESSION_UNKNOWN,     /* malformed token or no such session */
	SESSION_REUSED,      /* an old token of a live session: the session was revoked */
	SESSION_DOWN,        /* Redis unreachable */
};

/* Seconds during which the token just exchanged may be presented again (its answer was
 * lost: a 503, a timeout) and gets the same successor, as long as that is still unused. */
#define SESSION_RETRY_GRACE 120

/*
 * Exchanges refresh token `refresh` for its successor, atomically (a Lua script): the
 * presented token stops working. The successor is derived from the presented token with a
 * key from `server_secret` (the JWT secret), so the exchange is safe to retry: the same
 * token presented again within SESSION_RETRY_GRACE seconds, while its successor has not
 * been used, gets the same successor. Presenting any other token that is no longer current
 * revokes the whole session (SESSION_REUSED).
 */
enum session_rotate session_rotate(struct redis_conn *r, const char *server_secret, const char *refresh, long ttl,
				   char refresh_out[SESSION_REFRESH_LEN + 1], char sid_out[SESSION_SID_LEN + 1],
				   struct session_info *out);

/* Ends one session. Returns 0 (also when it was already gone) or -1 (Redis down). */
int session_revoke(struct redis_conn *r, const char *sid);

/*
 * Ends every session of `uid` except `keep_sid` (may be NULL), and moves the user's
 * generation on in the same step (see session_user_gen). Call it after the change that
 * requires it is committed. Returns 0 or -1 (Redis down: nothing changed).
 */
int session_revoke_user(struct redis_conn *r, int64_t uid, const char *keep_sid);

/*
 * As session_revoke_user, keeping only the sessions that carry `role`: after a role change,
 * every session that does not carry that role any more ends (for a disabled account, use session_revoke_user).
 * Repeating it is harmless, so a request that failed here can be retried. Returns 0 or -1 (Redis down: nothing changed).
 */
int session_revoke_user_except_role(struct redis_conn *r, int64_t uid, enum role role);

#endif
