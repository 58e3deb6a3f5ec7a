/* auth.h: access tokens (JWT HS256) and the one request authenticator every service uses. */
#ifndef STORE_AUTH_H
#define STORE_AUTH_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

/* Who may call a route (router.h's route table names one per route). */
enum role {
	ROLE_PUBLIC = 0,   /* anyone */
	ROLE_CUSTOMER = 1, /* any signed-in user (customers and admins) */
	ROLE_ADMIN = 2,    /* store staff */
	ROLE_INTERNAL = 3, /* other services, on the internal listener only */
	ROLE_OPTIONAL = 4, /* anyone; a caller who sends a token must send a valid one (auth_optional) */
};

struct store_config;
struct request;

#define AUTH_SID_MAX 64
#define AUTH_TOKEN_MAX 4096

/* What a verified token says. */
struct auth_claims {
	int64_t uid;
	enum role role; /* ROLE_CUSTOMER or ROLE_ADMIN */
	char sid[AUTH_SID_MAX];
	long iat, exp;
};

enum auth_result {
	AUTH_OK = 0,
	AUTH_INVALID,  /* malformed, forged, wrong algorithm, missing or wrong claim */
	AUTH_EXPIRED,  /* well-formed and signed, but past `exp` */
};

/* Maps "customer"/"admin" to a role; returns false for anything else. */
bool auth_role_parse(const char *s, enum role *out);

/* Returns "customer", "admin", "public" or "internal". Static string. */
const char *auth_role_name(enum role role);

/*
 * Signs an access token for `uid`/`role`/`sid`, valid from `now` for cfg->access_ttl.
 * Returns a malloc'd token the caller frees, or NULL on failure.
 */
char *auth_token_issue(const struct store_config *cfg, int64_t uid, enum role role, const char *sid, time_t now);

/*
 * Verifies `token` with the configured key: the HMAC-SHA-256 signature is checked in
 * constant time before libjwt parses anything, the algorithm must be HS256 and the
 * claims sub, role, sid, iat, exp, iss and aud present and right. Fills `out` only
 * on AUTH_OK. Never calls jwt_decode without a key.
 */
enum auth_result auth_token_verify(const struct store_config *cfg, const char *token, time_t now,
				   struct auth_claims *out);

/*
 * The router's authoriser: reads "Authorization: Bearer <token>", verifies it,
 * checks in Redis that its session still exists (and takes the role from there,
 * so a demotion or revocation applies at once), then enforces `need`.
 * `need` ROLE_OPTIONAL admits an anonymous caller (req->role ROLE_PUBLIC) but one who
 * sends a token must send a valid one.
 * Returns 0 with req->user_id, req->role and req->sid filled; or -1 with a 401
 * (missing/invalid/expired/revoked), 403 (role) or 503 (Redis down) written.
 */
int auth_require(struct request *req, enum role need);

/* A 401 problem `code` with `detail` and the WWW-Authenticate challenge every 401 carries
 * (RFC 9110 11.6.1): sign-in and refresh answer their refusals with it too. */
void auth_unauthorized(struct request *req, const char *code, const char *detail);


#endif
