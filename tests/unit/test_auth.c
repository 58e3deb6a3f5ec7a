/* test_auth.c: access tokens: what verifies and every way a token is refused. */
#include <criterion/criterion.h>
#include <dlfcn.h>
#include <jwt.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"

/*
 * libjwt 1.10 checks an HS256 signature with strcmp (a timing side channel), so
 * auth_token_verify must check it in constant time itself and hand only tokens
 * that pass to jwt_decode. This wrapper (the program's own definition wins over
 * the shared library's) counts the tokens that reach libjwt.
 */
static int jwt_decode_calls;

int jwt_decode(jwt_t **jwt, const char *token, const unsigned char *key, int key_len)
{
	int (*real)(jwt_t **, const char *, const unsigned char *, int) =
		(int (*)(jwt_t **, const char *, const unsigned char *, int))dlsym(RTLD_NEXT, "jwt_decode");
	jwt_decode_calls++;
	return real(jwt, token, key, key_len);
}

static struct store_config cfg;

static void setup(void)
{
	memset(&cfg, 0, sizeof(cfg));
	cfg.jwt_secret = "0123456789abcdef0123456789abcdef0123456789abcdef";
	cfg.jwt_issuer = "store";
	cfg.jwt_audience = "store-api";
	cfg.access_ttl = 900;
}

TestSuite(auth, .init = setup);

#define SID "0123456789abcdef0123456789abcdef"

Test(auth, issued_token_verifies_with_every_claim)
{
	char *t = auth_token_issue(&cfg, 42, ROLE_ADMIN, SID, 1000000);
	struct auth_claims c;
	cr_assert_not_null(t);
	cr_assert_eq(auth_token_verify(&cfg, t, 1000010, &c), AUTH_OK);
	cr_assert_eq(c.uid, 42);
	cr_assert_eq(c.role, ROLE_ADMIN);
	cr_assert_str_eq(c.sid, SID);
	cr_assert_eq(c.exp, 1000900);
	free(t);
}

Test(auth, expiry_is_exact)
{
	char *t = auth_token_issue(&cfg, 1, ROLE_CUSTOMER, SID, 1000000);
	struct auth_claims c;
	cr_assert_eq(auth_token_verify(&cfg, t, 1000899, &c), AUTH_OK);
	cr_assert_eq(auth_token_verify(&cfg, t, 1000900, &c), AUTH_EXPIRED);
	free(t);
}

Test(auth, other_key_issuer_or_audience_is_invalid)
{
	char *t = auth_token_issue(&cfg, 1, ROLE_CUSTOMER, SID, 1000000);
	struct auth_claims c;
	struct store_config other = cfg;
	other.jwt_secret = "another secret that is long enough to be used";
	cr_assert_eq(auth_token_verify(&other, t, 1000001, &c), AUTH_INVALID);
	other = cfg;
	other.jwt_issuer = "someone";
	cr_assert_eq(auth_token_verify(&other, t, 1000001, &c), AUTH_INVALID);
	other = cfg;
	other.jwt_audience = "other";
	cr_assert_eq(auth_token_verify(&other, t, 1000001, &c), AUTH_INVALID);
	free(t);
}

static char *forge(jwt_alg_t alg, const char *drop, const char *sub, const char *role, const char *sid)
{
	jwt_t *jwt;
	jwt_new(&jwt);
	const char *names[] = {"sub", "role", "sid", "iss", "aud"};
	const char *vals[] = {sub, role, sid, "store", "store-api"};
	for (int i = 0; i < 5; i++)
		if (!drop || strcmp(drop, names[i]) != 0)
			jwt_add_grant(jwt, names[i], vals[i]);
	if (!drop || strcmp(drop, "iat") != 0)
		jwt_add_grant_int(jwt, "iat", 1000000);
	if (!drop || strcmp(drop, "exp") != 0)
		jwt_add_grant_int(jwt, "exp", 1000900);
	jwt_set_alg(jwt, alg, (const unsigned char *)cfg.jwt_secret, (int)strlen(cfg.jwt_secret));
	char *t = jwt_encode_str(jwt);
	jwt_free(jwt);
	return t;
}

Test(auth, each_missing_claim_is_invalid)
{
	const char *claims[] = {"sub", "role", "sid", "iss", "aud", "iat", "exp"};
	struct auth_claims c;
	char *ok = forge(JWT_ALG_HS256, NULL, "7", "customer", SID);
	cr_assert_eq(auth_token_verify(&cfg, ok, 1000001, &c), AUTH_OK);
	free(ok);
	for (size_t i = 0; i < 7; i++) {
		char *t = forge(JWT_ALG_HS256, claims[i], "7", "customer", SID);
		cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID, "without %s", claims[i]);
		free(t);
	}
}

Test(auth, other_algorithms_and_bad_claims_are_invalid)
{
	struct auth_claims c;
	char *t = forge(JWT_ALG_HS384, NULL, "7", "customer", SID);
	cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID);
	free(t);
	t = forge(JWT_ALG_HS512, NULL, "7", "customer", SID);
	cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID);
	free(t);
	const char *subs[] = {"0", "-1", "abc", "7x", "99999999999999999999"};
	for (size_t i = 0; i < 5; i++) {
		t = forge(JWT_ALG_HS256, NULL, subs[i], "customer", SID);
		cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID, "sub %s", subs[i]);
		free(t);
	}
	t = forge(JWT_ALG_HS256, NULL, "7", "root", SID);
	cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID);
	free(t);
	t = forge(JWT_ALG_HS256, NULL, "7", "customer", "short");
	cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID);
	free(t);
	t = forge(JWT_ALG_HS256, NULL, "7", "customer", "0123456789ABCDEF0123456789ABCDEF");
	cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID, "sid must be lower-case hex");
	free(t);
}

Test(auth, alg_none_and_garbage_are_invalid)
{
	struct auth_claims c;
	/* {"alg":"none","typ":"JWT"} . {"sub":"7",...} . (empty) */
	const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
			   "eyJzdWIiOiI3Iiwicm9sZSI6ImFkbWluIiwic2lkIjoiMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYiLCJp"
			   "c3MiOiJzdG9yZSIsImF1ZCI6InN0b3JlLWFwaSIsImlhdCI6MTAwMDAwMCwiZXhwIjoxMDAwOTAwfQ.";
	cr_assert_eq(auth_token_verify(&cfg, none, 1000001, &c), AUTH_INVALID);
	const char *junk[] = {"", ".", "..", "a.b.c", "not a token", NULL};
	for (size_t i = 0; junk[i]; i++)
		cr_assert_eq(auth_token_verify(&cfg, junk[i], 1000001, &c), AUTH_INVALID);
	cr_assert_eq(auth_token_verify(&cfg, NULL, 1000001, &c), AUTH_INVALID);
	char *huge = malloc(AUTH_TOKEN_MAX + 10);
	memset(huge, 'a', AUTH_TOKEN_MAX + 9);
	huge[AUTH_TOKEN_MAX + 9] = '\0';
	cr_assert_eq(auth_token_verify(&cfg, huge, 1000001, &c), AUTH_INVALID);
	free(huge);
}

Test(auth, flipped_signature_byte_is_invalid)
{
	char *t = auth_token_issue(&cfg, 1, ROLE_CUSTOMER, SID, 1000000);
	struct auth_claims c;
	size_t n = strlen(t);
	t[n - 3] = t[n - 3] == 'A' ? 'B' : 'A';
	cr_assert_eq(auth_token_verify(&cfg, t, 1000001, &c), AUTH_INVALID);
	free(t);
}

Test(auth, bad_signature_never_reaches_libjwt)
{
	struct auth_claims c;
	struct store_config other = cfg;
	other.jwt_secret = "another secret that is long enough to be used";
	char *good = auth_token_issue(&cfg, 1, ROLE_CUSTOMER, SID, 1000000);
	char *flipped = strdup(good);
	size_t n = strlen(flipped);
	flipped[n - 3] = flipped[n - 3] == 'A' ? 'B' : 'A';
	char *other_key = auth_token_issue(&other, 1, ROLE_CUSTOMER, SID, 1000000);
	char *hs512 = forge(JWT_ALG_HS512, NULL, "7", "customer", SID);
	char *truncated = strndup(good, n - 1);
	char *extra = malloc(n + 2);
	snprintf(extra, n + 2, "%sA", good);
	const char *none = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiI3In0.";
	const char *bad[] = {flipped, other_key, hs512, truncated, extra, none, "a.b.c", "a.b", "...", NULL};

	jwt_decode_calls = 0;
	for (size_t i = 0; bad[i]; i++)
		cr_assert_eq(auth_token_verify(&cfg, bad[i], 1000001, &c), AUTH_INVALID, "case %zu", i);
	cr_assert_eq(jwt_decode_calls, 0, "a token with a bad signature was parsed by libjwt");
	cr_assert_eq(auth_token_verify(&cfg, good, 1000001, &c), AUTH_OK);
	cr_assert_eq(jwt_decode_calls, 1);
	free(good);
	free(flipped);
	free(other_key);
	free(hs512);
	free(truncated);
	free(extra);
}

Test(auth, role_names_round_trip)
{
	enum role r;
	cr_assert(auth_role_parse("customer", &r) && r == ROLE_CUSTOMER);
	cr_assert(auth_role_parse("admin", &r) && r == ROLE_ADMIN);
	cr_assert(!auth_role_parse("Admin", &r));
	cr_assert(!auth_role_parse("", &r));
	cr_assert(!auth_role_parse(NULL, &r));
	cr_assert_str_eq(auth_role_name(ROLE_ADMIN), "admin");
}
