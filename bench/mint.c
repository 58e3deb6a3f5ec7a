/* mint.c: signs shoppers in for bench/run without their passwords: one session and access token per user id.
 *
 * usage: store-bench-mint < ACCOUNTS > TOKENS   (environment: the user service's env file)
 *
 * Reads "<user id>\t<e-mail>\t<name>" per line (the account's row) and prints, per line, "<uid> <access token>": a session made by
 * lib/session exactly as a sign-in makes it (session_user_gen, then session_create) and a
 * token signed by lib/auth, so the services check them as they check any other. The order
 * and payment scenarios need thousands of signed-in shoppers, each with a cart of their own;
 * signing them in through POST /auth/login would cost one argon2id hash each (17 ms).
 * Built with the tree; not installed, not part of the product.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "redis.h"
#include "session.h"

#define MINT_SESSION_TTL 7200 /* seconds: longer than any bench run */
#define MINT_SESSION_CAP 4

int main(void)
{
	struct store_config cfg;
	char err[256], line[1024], gen[SESSION_GEN_MAX], sid[SESSION_SID_LEN + 1], refresh[SESSION_REFRESH_LEN + 1];
	long made = 0;

	if (config_load(&cfg, CONFIG_NEED_JWT, err, sizeof(err)) != 0) {
		fprintf(stderr, "store-bench-mint: %s\n", err);
		return 1;
	}
	struct redis_conn *r = redis_conn_new(&cfg);
	if (!r) {
		fprintf(stderr, "store-bench-mint: cannot reach Redis\n");
		config_free(&cfg);
		return 1;
	}
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), stdin)) {
		char *end, *email, *name;
		struct session_contact who;
		long long uid = strtoll(line, &end, 10);
		line[strcspn(line, "\n")] = '\0';
		if (end == line || uid <= 0 || *end != '\t' || !(name = strchr(email = end + 1, '\t')) ||
		    (size_t)(name - email) >= sizeof(who.email) || strlen(name + 1) >= sizeof(who.name)) {
			fprintf(stderr, "store-bench-mint: not \"<user id>\\t<e-mail>\\t<name>\": %s\n", line);
			rc = 1;
			break;
		}
		*name++ = '\0';
		snprintf(who.email, sizeof(who.email), "%s", email);
		snprintf(who.name, sizeof(who.name), "%s", name);
		if (session_user_gen(r, uid, gen) != 0 ||
		    session_create(r, uid, ROLE_CUSTOMER, &who, 0, gen, MINT_SESSION_TTL, MINT_SESSION_CAP, sid, refresh) !=
			    0) {
			fprintf(stderr, "store-bench-mint: no session for user %lld (Redis)\n", uid);
			rc = 1;
			break;
		}
		char *token = auth_token_issue(&cfg, uid, ROLE_CUSTOMER, sid, time(NULL));
		if (!token) {
			fprintf(stderr, "store-bench-mint: cannot sign a token for user %lld\n", uid);
			rc = 1;
			break;
		}
		printf("%lld %s\n", uid, token);
		free(token);
		made++;
	}
	if (fflush(stdout) != 0)
		rc = 1;
	fprintf(stderr, "store-bench-mint: %ld sessions\n", made);
	redis_conn_free(r);
	config_free(&cfg);
	return rc;
}
