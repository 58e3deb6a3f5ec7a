/* auth_handlers.c: register, login (with lockout), refresh (rotating), logout and logout-all. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "config.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "jobs.h"
#include "log.h"
#include "outbox.h"
#include "password.h"
#include "settings.h"
#include "problem.h"
#include "redis.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "ctx.h"
#include "session.h"
#include "validate.h"

#define LOCKOUT_MAX 5
#define LOCKOUT_WINDOW 900

/*
 * KEYS[1] attempt counter; ARGV[1] window (s), ARGV[2] attempts allowed per window.
 * Takes one attempt, in the same step as the check, unless all are taken: returns {1, n}
 * (go on and check the password) or {0, ttl} (locked). A counter that is not a number
 * makes the script fail, and the caller answer 503: never "not locked".
 */
static const char take_lua[] =
	"local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
	"if n >= tonumber(ARGV[2]) then "
	"  local ttl = redis.call('TTL', KEYS[1]) "
	"  if ttl < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) ttl = tonumber(ARGV[1]) end "
	"  return {0, ttl} "
	"end "
	"n = redis.call('INCR', KEYS[1]) "
	"if n == 1 or redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end "
	"return {1, n}";

/* KEYS[1] attempt counter: gives back one attempt that checked no password. */
static const char release_lua[] = "local n = tonumber(redis.call('GET', KEYS[1]) or '0') "
				  "if n and n > 0 then redis.call('DECR', KEYS[1]) end "
				  "return 0";

int password_fail_response(struct request *req, int pw_result)
{
	if (pw_result == PW_BUSY) {
		resp_header(req, "Retry-After", "1");
		resp_problem(req, 503, "busy", "Too many sign-ins are being checked right now; retry shortly.");
		return 1;
	}
	if (pw_result == PW_ERROR) {
		resp_problem(req, 500, "internal", "The password could not be processed.");
		return 1;
	}
	return 0;
}

int lockout_take(struct request *req, const char *email)
{
	char window[16], max[16];
	snprintf(window, sizeof(window), "%d", LOCKOUT_WINDOW);
	snprintf(max, sizeof(max), "%d", LOCKOUT_MAX);
	redisReply *rep = redis_cmd(req->ctx->redis, "EVAL %s 1 login_fail:%s %s %s", take_lua, email, window, max);
	long long go = -1, ttl = 0;

	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2 &&
	    rep->element[0]->type == REDIS_REPLY_INTEGER && rep->element[1]->type == REDIS_REPLY_INTEGER) {
		go = rep->element[0]->integer;
		ttl = rep->element[1]->integer;
	} else if (rep) {
		log_msg(LOG_ERROR, req->request_id, "lockout: unexpected Redis reply (type %d%s%.100s)", rep->type,
			rep->type == REDIS_REPLY_ERROR ? ": " : "", rep->type == REDIS_REPLY_ERROR ? rep->str : "");
	}
	if (rep)
		freeReplyObject(rep);
	if (go < 0) {
		/* Fail closed: without a trustworthy count no password is checked. */
		resp_unavailable(req, "session store");
		return 1;
	}
	if (go == 1)
		return 0;
	char retry[24];
	snprintf(retry, sizeof(retry), "%lld", ttl > 0 ? ttl : 1);
	resp_header(req, "Retry-After", retry);
	resp_problem(req, 429, "locked_out", "Too many failed sign-ins for this account; try again later.");
	return 1;
}

void lockout_release(struct request *req, const char *email)
{
	redisReply *rep = redis_cmd(req->ctx->redis, "EVAL %s 1 login_fail:%s", release_lua, email);
	if (rep)
		freeReplyObject(rep);
}

void lockout_clear(struct request *req, const char *email)
{
	redisReply *rep = redis_cmd(req->ctx->redis, "DEL login_fail:%s", email);
	if (rep)
		freeReplyObject(rep);
}

/* Writes {access_token, token_type, expires_in, refresh_token} for a session. */
static void token_pair(struct request *req, int64_t uid, enum role role, const char *sid, const char *refresh)
{
	const struct store_config *cfg = req->ctx->cfg;
	char *access = auth_token_issue(cfg, uid, role, sid, time(NULL));

	if (!access) {
		resp_problem(req, 500, "internal", "The token could not be issued.");
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "access_token", json_object_new_string(access));
	json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
	json_object_object_add(o, "expires_in", json_object_new_int64(cfg->access_ttl));
	json_object_object_add(o, "refresh_token", json_object_new_string(refresh));
	resp_header(req, "Cache-Control", "no-store");
	resp_json(req, 200, o);
	json_object_put(o);
	free(access);
}

static void start_session(struct request *req, const struct user *checked);

struct new_user {
	const char *email, *name, *hash, *request_id;
	int64_t id; /* out */
};

/* The account and its welcome e-mail in one transaction: no account without its e-mail, even
 * when Redis is down (the outbox relay delivers it once Redis is back). */
static int register_tx(struct db_conn *db, void *arg)
{
	struct new_user *nu = arg;
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string(nu->name));
	int rc = repo_user_insert(db, nu->email, nu->name, nu->hash, &nu->id);
	if (rc == 0)
		rc = outbox_add_job(db, "welcome", nu->email, data, nu->request_id);
	json_object_put(data);
	return rc;
}

void auth_register(struct request *req)
{
	static const char *const allowed[] = {"email", "password", "name", NULL};
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	const char *email_in = NULL, *password = NULL, *name = NULL, *why;
	char email[EMAIL_MAX + 1], hash[PASSWORD_HASH_MAX];
	struct user u;
	int64_t id;

	if (!body)
		return;
	field_only(body, allowed, &errs);
	if (field_string(body, "email", true, 1, EMAIL_MAX + 64, false, &email_in, &errs) == FIELD_OK &&
	    !email_normalize(email_in, email))
		problem_add(&errs, "email", "is not a valid e-mail address");
	/* Any length gets through to the policy, which words the 10..128 rule itself. */
	if (field_string(body, "password", true, 0, 65536, false, &password, &errs) == FIELD_OK &&
	    (why = password_policy(password, email_in)) != NULL)
		problem_add(&errs, "password", "%s", why);
	field_string(body, "name", true, 1, NAME_MAX_CHARS, false, &name, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (password_fail_response(req, password_hash(password, hash)))
		return;
	struct new_user nu = {email, name, hash, req->request_id, 0};
	if (db_tx(req->ctx->db, register_tx, &nu) != 0) {
		if (req->ctx->db->err == DB_DUPLICATE)
			resp_problem(req, 409, "email_taken", "An account with this e-mail address already exists.");
		else
			resp_db_error(req, req->ctx->db);
		return;
	}
	id = nu.id;
	if (repo_user_by_id(req->ctx->db, id, &u) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}

	char location[64];
	snprintf(location, sizeof(location), "/api/v1/users/%lld", (long long)id);
	resp_header(req, "Location", location);
	struct json_object *o = user_json(&u);
	resp_json(req, 201, o);
	json_object_put(o);
}

void auth_login(struct request *req)
{
	static const char *const allowed[] = {"email", "password", NULL};
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	const char *email_in = NULL, *password = NULL;
	char email[EMAIL_MAX + 1];
	struct user u;
	int found;

	if (!body)
		return;
	field_only(body, allowed, &errs);
	field_string(body, "email", true, 1, EMAIL_MAX + 64, false, &email_in, &errs);
	field_string(body, "password", true, 1, PASSWORD_MAX, false, &password, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	/* An address that cannot exist is still checked against the dummy hash (same answer, same
	 * time), but counts against no lockout: there is no account to protect. */
	bool possible = email_normalize(email_in, email);
	/* The attempt is counted before the hash, so guesses in flight together cannot pass a
	 * check that none of them has raised yet. */
	if (possible && lockout_take(req, email))
		return;
	found = possible ? repo_user_by_email(req->ctx->db, email, &u) : 1;
	if (found < 0) {
		lockout_release(req, email);
		resp_db_error(req, req->ctx->db);
		return;
	}
	enum pw_result pr = password_verify(found == 0 ? u.password_hash : NULL, password);
	if (password_fail_response(req, pr)) {
		if (possible)
			lockout_release(req, email); /* no password was checked */
		return;
	}
	if (pr != PW_OK) {
		auth_unauthorized(req, "invalid_credentials", "The e-mail address or password is wrong.");
		return;
	}
	lockout_clear(req, email);
	if (u.disabled) {
		resp_problem(req, 403, "account_disabled", "This account is disabled.");
		return;
	}
	if (password_needs_rehash(u.password_hash)) {
		char hash[PASSWORD_HASH_MAX];
		if (password_hash(password, hash) == PW_OK &&
		    repo_user_upgrade_password(req->ctx->db, u.id, u.password_hash, hash) == 0) {
			log_msg(LOG_INFO, req->request_id, "user %lld: password hash upgraded", (long long)u.id);
			snprintf(u.password_hash, sizeof(u.password_hash), "%s", hash);
		}
	}
	start_session(req, &u);
}

/*
 * The account was read before the password was checked, which takes a while: an admin may
 * have disabled or demoted it, or its password changed (its credentials version moved on),
 * meanwhile. So the session is made
 * from a fresh read taken after the user's session generation, and only if that generation
 * has not moved on since (session_create): whatever revocation ran after the account
 * change, this sign-in either saw the change or lost its session to it.
 */
static void start_session(struct request *req, const struct user *checked)
{
	char gen[SESSION_GEN_MAX], sid[SESSION_SID_LEN + 1], refresh[SESSION_REFRESH_LEN + 1];
	struct user u;

	for (int attempt = 0; attempt < 3; attempt++) {
		if (session_user_gen(req->ctx->redis, checked->id, gen) != 0)
			break;
		int rc = repo_user_by_id(req->ctx->db, checked->id, &u);
		if (rc < 0) {
			resp_db_error(req, req->ctx->db);
			return;
		}
		/* The password changed meanwhile: the credentials version moved on. (Not the hash: another
		 * sign-in may have upgraded it, with a new salt, for the same password.) */
		if (rc > 0 || u.cv != checked->cv) {
			auth_unauthorized(req, "invalid_credentials", "The e-mail address or password is wrong.");
			return;
		}
		if (u.disabled) {
			resp_problem(req, 403, "account_disabled", "This account is disabled.");
			return;
		}
		struct session_contact who;
		snprintf(who.email, sizeof(who.email), "%s", u.email);
		snprintf(who.name, sizeof(who.name), "%s", u.name);
		rc = session_create(req->ctx->redis, u.id, u.role, &who, u.cv, gen, user_settings.refresh_ttl,
				    user_settings.max_sessions, sid, refresh);
		if (rc == 0) {
			token_pair(req, u.id, u.role, sid, refresh);
			return;
		}
		if (rc < 0)
			break;
	}
	resp_unavailable(req, "session store");
}

void auth_refresh(struct request *req)
{
	static const char *const allowed[] = {"refresh_token", NULL};
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	const char *token = NULL;
	char sid[SESSION_SID_LEN + 1], refresh[SESSION_REFRESH_LEN + 1];
	struct session_info si;
	struct user u;
	int rc;

	if (!body)
		return;
	field_only(body, allowed, &errs);
	field_string(body, "refresh_token", true, 1, 256, false, &token, &errs);
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	switch (session_rotate(req->ctx->redis, req->ctx->cfg->jwt_secret, token, user_settings.refresh_ttl, refresh, sid,
			       &si)) {
	case SESSION_ROTATED:
		/* The role and state come from the account, not the session: a session that no longer
		 * matches it (its account disabled, its role changed or its password changed since it
		 * was made, with the revocation not yet done) ends here instead of living on. */
		rc = repo_user_by_id(req->ctx->db, si.uid, &u);
		if (rc < 0) {
			resp_db_error(req, req->ctx->db);
			return;
		}
		if (rc > 0 || u.disabled || u.role != si.role || u.cv != si.cv) {
			if (session_revoke(req->ctx->redis, sid) != 0) {
				resp_unavailable(req, "session store");
				return;
			}
			auth_unauthorized(req, "invalid_token", "The refresh token is not valid; sign in again.");
			return;
		}
		token_pair(req, u.id, u.role, sid, refresh);
		return;
	case SESSION_REUSED:
		log_msg(LOG_WARN, req->request_id, "refresh token reused: session revoked");
		auth_unauthorized(req, "invalid_token", "The refresh token is not valid; sign in again.");
		return;
	case SESSION_UNKNOWN:
		auth_unauthorized(req, "invalid_token", "The refresh token is not valid; sign in again.");
		return;
	default:
		resp_unavailable(req, "session store");
		return;
	}
}

void auth_logout(struct request *req)
{
	if (session_revoke(req->ctx->redis, req->sid) != 0) {
		resp_unavailable(req, "session store");
		return;
	}
	resp_empty(req, 204);
}

void auth_logout_all(struct request *req)
{
	if (session_revoke_user(req->ctx->redis, req->user_id, NULL) != 0) {
		resp_unavailable(req, "session store");
		return;
	}
	resp_empty(req, 204);
}
