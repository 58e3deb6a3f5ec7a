/* auth.c: HS256 access tokens with every claim checked, and the per-request authenticator. */
#include "auth.h"

#include <errno.h>
#include <jwt.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "log.h"
#include "parse.h"
#include "request.h"
#include "response.h"
#include "ctx.h"
#include "session.h"

bool auth_role_parse(const char *s, enum role *out)
{
	if (s && strcmp(s, "customer") == 0) {
		*out = ROLE_CUSTOMER;
		return true;
	}
	if (s && strcmp(s, "admin") == 0) {
		*out = ROLE_ADMIN;
		return true;
	}
	return false;
}

const char *auth_role_name(enum role role)
{
	switch (role) {
	case ROLE_CUSTOMER: return "customer";
	case ROLE_ADMIN: return "admin";
	case ROLE_INTERNAL: return "internal";
	default: return "public";
	}
}

char *auth_token_issue(const struct store_config *cfg, int64_t uid, enum role role, const char *sid, time_t now)
{
	jwt_t *jwt = NULL;
	char sub[24];
	char *tok = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	snprintf(sub, sizeof(sub), "%lld", (long long)uid);
	if (jwt_add_grant(jwt, "sub", sub) || jwt_add_grant(jwt, "role", auth_role_name(role)) ||
	    jwt_add_grant(jwt, "sid", sid) || jwt_add_grant(jwt, "iss", cfg->jwt_issuer) ||
	    jwt_add_grant(jwt, "aud", cfg->jwt_audience) || jwt_add_grant_int(jwt, "iat", (long)now) ||
	    jwt_add_grant_int(jwt, "exp", (long)now + cfg->access_ttl) ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, (const unsigned char *)cfg->jwt_secret, (int)strlen(cfg->jwt_secret)))
		goto out;
	tok = jwt_encode_str(jwt);
out:
	jwt_free(jwt);
	return tok;
}

/* An integer claim that must be present as a JSON number. */
static bool int_claim(jwt_t *jwt, const char *name, long *out)
{
	errno = 0;
	long v = jwt_get_grant_int(jwt, name);
	if (errno != 0)
		return false;
	*out = v;
	return true;
}

/*
 * true when `token` is header.payload.signature and the signature is the HMAC-SHA-256 of
 * "header.payload" under `key`, compared in constant time. libjwt 1.10 compares the
 * base64url text with strcmp, which leaks how much of a forged signature was right, so
 * a token reaches libjwt only after passing this. The signature must be exactly 32 bytes
 * in canonical unpadded base64url (an HS384/HS512 or "none" token fails here).
 */
static bool signature_ok(const char *token, const char *key)
{
	const char *dot1 = strchr(token, '.'), *dot2 = strrchr(token, '.'), *end = NULL;
	unsigned char sig[crypto_auth_hmacsha256_BYTES + 1], mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;
	size_t siglen = 0;
	bool ok;

	if (!dot1 || dot2 == dot1 || memchr(dot1 + 1, '.', (size_t)(dot2 - dot1 - 1)))
		return false; /* not exactly three parts */
	if (sodium_base642bin(sig, sizeof(sig), dot2 + 1, strlen(dot2 + 1), NULL, &siglen, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    *end != '\0' || siglen != sizeof(mac))
		return false;
	crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)token, (unsigned long long)(dot2 - token));
	crypto_auth_hmacsha256_final(&st, mac);
	ok = sodium_memcmp(mac, sig, sizeof(mac)) == 0;
	sodium_memzero(&st, sizeof(st));
	return ok;
}

enum auth_result auth_token_verify(const struct store_config *cfg, const char *token, time_t now,
				   struct auth_claims *out)
{
	jwt_t *jwt = NULL;
	enum auth_result res = AUTH_INVALID;
	struct auth_claims c = {0};
	const char *s;

	if (!token || !cfg->jwt_secret || !*cfg->jwt_secret || strlen(token) > AUTH_TOKEN_MAX)
		return AUTH_INVALID;
	if (!signature_ok(token, cfg->jwt_secret))
		return AUTH_INVALID;
	/* libjwt 1.10 takes the algorithm from the token: always pass the key, then insist on HS256. */
	if (jwt_decode(&jwt, token, (const unsigned char *)cfg->jwt_secret, (int)strlen(cfg->jwt_secret)) != 0)
		return AUTH_INVALID;
	if (jwt_get_alg(jwt) != JWT_ALG_HS256)
		goto out;
	s = jwt_get_grant(jwt, "iss");
	if (!s || strcmp(s, cfg->jwt_issuer) != 0)
		goto out;
	s = jwt_get_grant(jwt, "aud");
	if (!s || strcmp(s, cfg->jwt_audience) != 0)
		goto out;
	if (!parse_i64(jwt_get_grant(jwt, "sub"), 1, INT64_MAX, &c.uid))
		goto out;
	if (!auth_role_parse(jwt_get_grant(jwt, "role"), &c.role))
		goto out;
	s = jwt_get_grant(jwt, "sid");
	if (!session_sid_valid(s))
		goto out;
	snprintf(c.sid, sizeof(c.sid), "%s", s);
	if (!int_claim(jwt, "iat", &c.iat) || !int_claim(jwt, "exp", &c.exp))
		goto out;
	if (c.iat > (long)now + 60 || c.exp <= c.iat)
		goto out; /* issued in the future (beyond clock skew) or never valid */
	if (c.exp <= (long)now) {
		res = AUTH_EXPIRED;
		goto out;
	}
	*out = c;
	res = AUTH_OK;
out:
	jwt_free(jwt);
	return res;
}

void auth_unauthorized(struct request *req, const char *code, const char *detail)
{
	resp_header(req, "WWW-Authenticate", "Bearer realm=\"store\"");
	resp_problem(req, 401, code, detail);
}

int auth_require(struct request *req, enum role need)
{
	const char *h = req_header(req, "Authorization");
	const struct store_config *cfg = req->ctx->cfg;
	struct auth_claims c;
	struct session_info si;

	if (need == ROLE_OPTIONAL) {
		/* Anonymous is fine; a token that is sent must be a valid one. */
		req->role = ROLE_PUBLIC;
		req->user_id = 0;
		if (!h)
			return 0;
		need = ROLE_CUSTOMER;
	}
	if (!h || strncasecmp(h, "Bearer ", 7) != 0 || !h[7]) {
		auth_unauthorized(req, "unauthenticated", "A bearer access token is required.");
		return -1;
	}
	switch (auth_token_verify(cfg, h + 7, time(NULL), &c)) {
	case AUTH_OK:
		break;
	case AUTH_EXPIRED:
		auth_unauthorized(req, "token_expired", "The access token has expired; refresh it.");
		return -1;
	default:
		auth_unauthorized(req, "invalid_token", "The access token is not valid.");
		return -1;
	}
	switch (session_get(req->ctx->redis, c.sid, &si)) {
	case 0:
		break;
	case 1:
		auth_unauthorized(req, "session_revoked", "The session has ended; sign in again.");
		return -1;
	default:
		resp_unavailable(req, "session store");
		return -1;
	}
	if (si.uid != c.uid) {
		auth_unauthorized(req, "invalid_token", "The access token is not valid.");
		return -1;
	}
	req->user_id = c.uid;
	req->role = si.role;
	snprintf(req->sid, sizeof(req->sid), "%s", c.sid);
	req->has_contact = si.has_contact;
	if (si.has_contact)
		req->contact = si.contact;
	if (need == ROLE_ADMIN && si.role != ROLE_ADMIN) {
		resp_problem(req, 403, "forbidden", "This needs the admin role.");
		return -1;
	}
	return 0;
}

