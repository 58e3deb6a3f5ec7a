/* users.c: the caller's own account (/users/me) and the admin's view of every account. */
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "jobs.h"
#include "lists.h"
#include "log.h"
#include "outbox.h"
#include "password.h"
#include "problem.h"
#include "redis.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "ctx.h"
#include "session.h"
#include "validate.h"

struct json_object *user_json(const struct user *u)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(u->id));
	json_object_object_add(o, "email", json_object_new_string(u->email));
	json_object_object_add(o, "name", json_object_new_string(u->name));
	json_object_object_add(o, "role", json_object_new_string(auth_role_name(u->role)));
	json_object_object_add(o, "disabled", json_object_new_boolean(u->disabled));
	json_object_object_add(o, "created_at", json_object_new_string(u->created_at));
	json_object_object_add(o, "updated_at", json_object_new_string(u->updated_at));
	return o;
}

/* Loads user `id` and answers it with `status`; 404 when it does not exist. */
static void answer_user(struct request *req, int64_t id)
{
	struct user u;
	int rc = repo_user_by_id(req->ctx->db, id, &u);

	if (resp_lookup_failed(req, req->ctx->db, rc, "No such user."))
		return;
	struct json_object *o = user_json(&u);
	resp_json(req, 200, o);
	json_object_put(o);
}

void users_me_get(struct request *req)
{
	answer_user(req, req->user_id);
}

struct me_change {
	int64_t id;
	const char *name, *hash, *email, *mail_name, *request_id; /* hash NULL: no password change */
	int64_t cv; /* out: the credentials version the password change moved the account to */
};

/* Name and password in one transaction with the password_changed e-mail's outbox row. */
static int me_change_tx(struct db_conn *db, void *arg)
{
	struct me_change *mc = arg;
	struct user now;
	if (mc->name && repo_user_set_name(db, mc->id, mc->name) != 0)
		return -1;
	if (!mc->hash)
		return 0;
	if (repo_user_set_password(db, mc->id, mc->hash) != 0 || repo_user_by_id(db, mc->id, &now) != 0)
		return -1;
	mc->cv = now.cv;
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string(mc->mail_name));
	int rc = outbox_add_job(db, "password_changed", mc->email, data, mc->request_id);
	json_object_put(data);
	return rc;
}

/*
 * Gives every session of `uid` the name `name` just committed. Two renames at once may run their
 * scripts in the other order than their commits: so the name is read back afterwards, and the
 * sessions renamed again while it differs (the last rename to commit wins, as in the database).
 * Returns false (logged) when Redis or the database failed.
 */
static bool sessions_renamed(struct request *req, int64_t uid, const char *name)
{
	struct user now;
	char want[sizeof(now.name)];

	snprintf(want, sizeof(want), "%s", name);
	for (int round = 0; round < 5; round++) {
		if (session_user_rename(req->ctx->redis, uid, want) != 0) {
			log_msg(LOG_ERROR, req->request_id, "user %lld: name changed, sessions not renamed: %s",
				(long long)uid, req->ctx->redis->errstr);
			return false;
		}
		if (repo_user_by_id(req->ctx->db, uid, &now) != 0) {
			log_msg(LOG_ERROR, req->request_id, "user %lld: name changed, not read back: %s", (long long)uid,
				req->ctx->db->errstr);
			return false;
		}
		if (strcmp(now.name, want) == 0)
			return true;
		snprintf(want, sizeof(want), "%s", now.name);
	}
	log_msg(LOG_ERROR, req->request_id, "user %lld: sessions not renamed: the name kept changing", (long long)uid);
	return false;
}

void users_me_patch(struct request *req)
{
	static const char *const allowed[] = {"name", "current_password", "new_password", NULL};
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	const char *name = NULL, *current = NULL, *next = NULL, *why;
	struct user u;
	char hash[PASSWORD_HASH_MAX];
	int rc;

	if (!body)
		return;
	field_only(body, allowed, &errs);
	field_string(body, "name", false, 1, NAME_MAX_CHARS, false, &name, &errs);
	field_string(body, "current_password", false, 1, PASSWORD_MAX, false, &current, &errs);
	field_string(body, "new_password", false, 0, 65536, false, &next, &errs);
	if (!errs.n && !name && !current && !next)
		problem_add(&errs, "", "give name, or current_password and new_password");
	if (!errs.n && (current || next) && !(current && next))
		problem_add(&errs, current ? "new_password" : "current_password", "is required to change the password");
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	rc = repo_user_by_id(req->ctx->db, req->user_id, &u);
	if (resp_lookup_failed(req, req->ctx->db, rc, "No such user."))
		return;
	if (next) {
		if ((why = password_policy(next, u.email)) != NULL) {
			problem_add(&errs, "new_password", "%s", why);
			resp_invalid(req, &errs);
			return;
		}
		/* The same lockout as sign-in: a stolen access token must not become a password oracle. */
		if (lockout_take(req, u.email))
			return;
		enum pw_result pr = password_verify(u.password_hash, current);
		if (password_fail_response(req, pr)) {
			lockout_release(req, u.email);
			return;
		}
		if (pr != PW_OK) {
			problem_add(&errs, "current_password", "is not your current password");
			resp_invalid(req, &errs);
			return;
		}
		lockout_clear(req, u.email);
		if (password_fail_response(req, password_hash(next, hash)))
			return;
	}
	struct me_change mc = {u.id, name, next ? hash : NULL, u.email, name ? name : u.name, req->request_id, 0};
	if (db_tx(req->ctx->db, me_change_tx, &mc) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	/* Everyone else holding this account's tokens is signed out; this session stays (it takes
	 * the new credentials version first, which a refresh checks). It runs after the commit, and
	 * moves the generation on, so a sign-in with the old password that is still in flight
	 * creates no session after this answer (auth_login re-reads the hash). Should it fail, the
	 * other sessions still end at their next refresh: their version is behind the account's. */
	bool ended = !next || (session_set_cv(req->ctx->redis, req->sid, mc.cv) == 0 &&
			       session_revoke_user(req->ctx->redis, u.id, req->sid) == 0);
	if (!ended)
		log_msg(LOG_ERROR, req->request_id, "user %lld: password changed, other sessions not ended: %s",
			(long long)u.id, req->ctx->redis->errstr);
	/* The sessions carry the name (services writing to the shopper read it there): they all
	 * get the new one, and a sign-in already past its account read reads it again. Tried even
	 * when the revocation failed: a retry of this request may not get this far. */
	bool renamed = !name || sessions_renamed(req, u.id, name);
	if (!ended || !renamed) {
		resp_unavailable(req, "session store");
		return;
	}
	answer_user(req, u.id);
}

void users_list(struct request *req)
{
	struct field_errors errs = {0};
	struct list_params lp;
	const char *prefix = req_query(req, "email");
	struct user *users = NULL;
	size_t n = 0;
	int64_t total = 0;

	list_params_parse(req, &lp, &errs);
	if (prefix && strlen(prefix) > EMAIL_MAX)
		problem_add(&errs, "email", "must be at most %d characters", EMAIL_MAX);
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	if (repo_user_list(req->ctx->db, prefix ? prefix : "", lp.limit, lp.offset, &users, &n, &total) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object *items = json_object_new_array_ext((int)n);
	for (size_t i = 0; i < n; i++)
		json_object_array_add(items, user_json(&users[i]));
	free(users);
	struct json_object *o = list_envelope(items, total, &lp);
	resp_json(req, 200, o);
	json_object_put(o);
}

void users_get(struct request *req)
{
	int64_t id;

	if (!req_path_id(req, "id", &id)) {
		resp_problem(req, 404, "not_found", "No such user.");
		return;
	}
	answer_user(req, id);
}

/* Only what another service needs to write to the user (no role, no state): a disabled account
 * is still answered, since an order placed before keeps its owner. */
void users_internal_get(struct request *req)
{
	struct user u;
	int64_t id;
	int rc = req_path_id(req, "id", &id) ? repo_user_by_id(req->ctx->db, id, &u) : 1;

	if (resp_lookup_failed(req, req->ctx->db, rc, "No such user."))
		return;
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_int64(u.id));
	json_object_object_add(o, "email", json_object_new_string(u.email));
	json_object_object_add(o, "name", json_object_new_string(u.name));
	resp_json(req, 200, o);
	json_object_put(o);
}

void users_patch(struct request *req)
{
	static const char *const allowed[] = {"role", "disabled", NULL};
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	const char *role_s = NULL;
	enum role role = ROLE_CUSTOMER;
	bool disabled = false, has_role, has_disabled;
	struct user u;
	int64_t id;
	int rc;

	if (!req_path_id(req, "id", &id)) {
		resp_problem(req, 404, "not_found", "No such user.");
		return;
	}
	if (!body)
		return;
	field_only(body, allowed, &errs);
	has_role = field_string(body, "role", false, 1, 16, false, &role_s, &errs) == FIELD_OK;
	if (has_role && !auth_role_parse(role_s, &role))
		problem_add(&errs, "role", "must be customer or admin");
	has_disabled = field_bool(body, "disabled", false, &disabled, &errs) == FIELD_OK;
	if (!errs.n && !has_role && !has_disabled)
		problem_add(&errs, "", "give role or disabled");
	if (errs.n) {
		resp_invalid(req, &errs);
		return;
	}
	rc = repo_user_by_id(req->ctx->db, id, &u);
	if (resp_lookup_failed(req, req->ctx->db, rc, "No such user."))
		return;
	if (id == req->user_id && ((has_role && role != u.role) || (has_disabled && disabled))) {
		resp_problem(req, 409, "cannot_change_self", "Admins cannot demote or disable their own account.");
		return;
	}
	/* The rule "at least one active admin stays" is checked and applied in one transaction:
	 * two admins removing each other at once cannot both pass it. A refused change touches
	 * no session. */
	switch (repo_user_set_access(req->ctx->db, id, has_role, role, has_disabled, disabled)) {
	case REPO_ACCESS_OK:
		break;
	case REPO_ACCESS_NOT_FOUND:
		resp_problem(req, 404, "not_found", "No such user.");
		return;
	case REPO_ACCESS_LAST_ADMIN:
		resp_problem(req, 409, "last_admin", "This is the last active admin; promote or enable another first.");
		return;
	default:
		resp_db_error(req, req->ctx->db);
		return;
	}
	rc = repo_user_by_id(req->ctx->db, id, &u);
	if (resp_lookup_failed(req, req->ctx->db, rc, "No such user."))
		return;
	/* Sessions end after the write, from the state now stored: a sign-in that read the
	 * account before the write cannot create its session after this (the generation moved
	 * on), and a refresh re-reads the account. Ending them again is harmless, so a request
	 * answered 503 here is simply retried. */
	if (has_role || (has_disabled && disabled)) {
		int revoked = u.disabled ? session_revoke_user(req->ctx->redis, id, NULL)
					 : session_revoke_user_except_role(req->ctx->redis, id, u.role);
		if (revoked != 0) {
			log_msg(LOG_ERROR, req->request_id, "user %lld: access changed, sessions not ended yet: %s",
				(long long)id, req->ctx->redis->errstr);
			resp_unavailable(req, "session store");
			return;
		}
	}
	struct json_object *o = user_json(&u);
	resp_json(req, 200, o);
	json_object_put(o);
}
