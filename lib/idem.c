/* idem.c: Idempotency-Key records in the service's own database (sql/shared/idempotency.sql). */
#include "idem.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "request.h"
#include "response.h"

static const char sql_claim[] = "INSERT INTO idempotency_keys (caller, idem_key, request_hash, lease_until) "
				"VALUES (?, ?, ?, NOW(3) + INTERVAL ? SECOND)";
static const char sql_read[] = "SELECT request_hash, state, lease_until < NOW(3), http_status, location, response, "
			       "attempt FROM idempotency_keys WHERE caller = ? AND idem_key = ?";
static const char sql_take_over[] =
	"UPDATE idempotency_keys SET attempt = attempt + 1, lease_until = NOW(3) + INTERVAL ? SECOND "
	"WHERE caller = ? AND idem_key = ? AND state = 'running' AND attempt = ? AND lease_until < NOW(3)";
static const char sql_finish[] = "UPDATE idempotency_keys SET state = 'done', http_status = ?, location = ?, "
				 "response = ? WHERE caller = ? AND idem_key = ? AND state = 'running' AND attempt = ?";
static const char sql_release[] =
	"DELETE FROM idempotency_keys WHERE caller = ? AND idem_key = ? AND state = 'running' AND attempt = ?";
static const char sql_let_go[] = "UPDATE idempotency_keys SET lease_until = NOW(3) - INTERVAL 1 SECOND "
				 "WHERE caller = ? AND idem_key = ? AND state = 'running' AND attempt = ?";
static const char sql_purge[] = "DELETE FROM idempotency_keys WHERE created_at < NOW(3) - INTERVAL ? HOUR AND "
				"(state = 'done' OR lease_until < NOW(3)) LIMIT 1000";

bool idem_key_valid(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > IDEM_KEY_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

const char *idem_key_header(struct request *req)
{
	const char *key = req_header(req, "Idempotency-Key");
	if (!key) {
		resp_problem(req, 400, "idempotency_key_required",
			     "This request needs an Idempotency-Key header (a new random value per order or payment).");
		return NULL;
	}
	if (!idem_key_valid(key)) {
		resp_problemf(req, 400, "bad_idempotency_key", "The Idempotency-Key must be 1 to %d visible ASCII characters.",
			      IDEM_KEY_MAX);
		return NULL;
	}
	return key;
}

static void request_hash(const char *scope, const char *what, size_t len, unsigned char out[32])
{
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, 32);
	crypto_generichash_update(&st, (const unsigned char *)scope, strlen(scope) + 1);
	if (what)
		crypto_generichash_update(&st, (const unsigned char *)what, len);
	crypto_generichash_final(&st, out, 32);
}

static void in_flight(struct request *req)
{
	resp_header(req, "Retry-After", "1");
	resp_problem(req, 409, "idempotency_in_flight",
		     "A request with this Idempotency-Key is still running; retry in a moment.");
}

/* Writes the stored answer of a finished key: a problem document keeps its media type. */
static void replay(struct request *req, const struct db_rows *r)
{
	int64_t status = db_cell_i64(r, 0, 3, 500);
	const char *loc = db_cell(r, 0, 4), *body = db_cell(r, 0, 5);
	struct json_object *problem;

	if (loc)
		resp_header(req, "Location", loc);
	resp_header(req, "Idempotent-Replayed", "true");
	if (status >= 400 && body && (problem = json_tokener_parse(body))) {
		resp_problem_obj(req, problem);
		json_object_put(problem);
		return;
	}
	resp_json_raw(req, (int)status, body ? body : "{}", body ? r->lens[5] : 2);
}

bool idem_begin(struct request *req, struct db_conn *db, int64_t caller, const char *scope, const char *what,
		size_t len, long lease, struct idem *id)
{
	const char *key = idem_key_header(req);
	struct db_rows *r = NULL;

	if (!key)
		return false;
	memset(id, 0, sizeof(*id));
	id->caller = caller;
	memcpy(id->key, key, strlen(key) + 1);
	request_hash(scope, what, len, id->hash);

	for (int round = 0; round < 2; round++) {
		struct db_val claim[] = {db_i64(caller), db_str(id->key), db_strn((const char *)id->hash, 32),
					 db_i64(lease)};
		if (db_exec(db, sql_claim, claim, 4, NULL) == 0) {
			id->attempt = 1;
			return true;
		}
		if (db->err != DB_DUPLICATE)
			goto db_failed;
		struct db_val k[] = {db_i64(caller), db_str(id->key)};
		if (db_query(db, sql_read, k, 2, &r) != 0)
			goto db_failed;
		if (r->nrows == 0) { /* released meanwhile: claim it again */
			db_rows_free(r);
			r = NULL;
			continue;
		}
		if (r->lens[0] != 32 || sodium_memcmp(db_cell(r, 0, 0), id->hash, 32) != 0) {
			resp_problem(req, 422, "idempotency_mismatch",
				     "This Idempotency-Key was used with another request; use a new key for a new request.");
		} else if (strcmp(db_cell(r, 0, 1), "done") == 0) {
			replay(req, r);
		} else if (db_cell_i64(r, 0, 2, 0) == 1) {
			/* The run before died without answering: this retry takes its place. */
			int64_t dead = db_cell_i64(r, 0, 6, 1);
			struct db_val t[] = {db_i64(lease), db_i64(caller), db_str(id->key), db_i64(dead)};
			long taken = db_exec_affected(db, sql_take_over, t, 4);
			db_rows_free(r);
			r = NULL; /* db_failed frees r */
			if (taken < 0)
				goto db_failed;
			if (taken == 1) {
				id->attempt = dead + 1;
				log_msg(LOG_WARN, req->request_id,
					"idempotency key of caller %lld: attempt %lld takes over a run that died",
					(long long)caller, (long long)id->attempt);
				return true;
			}
			in_flight(req);
			return false;
		} else {
			in_flight(req);
		}
		db_rows_free(r);
		return false;
	}
	in_flight(req);
	return false;
db_failed:
	db_rows_free(r);
	resp_db_error(req, db);
	return false;
}

int idem_finish(struct db_conn *db, const struct idem *id, int status, const char *body, const char *location)
{
	struct db_val p[] = {db_i64(status),        db_str(location), db_str(body ? body : "{}"),
			     db_i64(id->caller),    db_str(id->key),  db_i64(id->attempt)};
	long n = db_exec_affected(db, sql_finish, p, 6);
	return n < 0 ? -1 : n == 1 ? 0 : 1;
}

void idem_release(struct db_conn *db, const struct idem *id)
{
	struct db_val p[] = {db_i64(id->caller), db_str(id->key), db_i64(id->attempt)};
	if (db_exec(db, sql_release, p, 3, NULL) != 0)
		log_msg(LOG_WARN, NULL, "idempotency key of caller %lld not released: %s", (long long)id->caller,
			db->errstr);
}

void idem_let_go(struct db_conn *db, const struct idem *id)
{
	struct db_val p[] = {db_i64(id->caller), db_str(id->key), db_i64(id->attempt)};
	if (db_exec(db, sql_let_go, p, 3, NULL) != 0)
		log_msg(LOG_WARN, NULL, "idempotency key of caller %lld not let go (its lease runs out): %s",
			(long long)id->caller, db->errstr);
}

long idem_purge(struct db_conn *db, int hours)
{
	struct db_val p[] = {db_i64(hours)};
	return db_exec_affected(db, sql_purge, p, 1);
}
