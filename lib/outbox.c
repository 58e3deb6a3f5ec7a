/* outbox.c: outbox rows written inside a service's transactions and relayed to Redis or an internal route. */
#include "outbox.h"

#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "ctx.h"
#include "db.h"
#include "field.h"
#include "jobs.h"
#include "log.h"
#include "problem.h"
#include "redis.h"
#include "server.h"

#define BACKOFF_MAX_S 300
#define RID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"

/* One INSERT for up to OUTBOX_ROWS_MAX rows: a statement per row count (prepared once each). */
#define INSERT_HEAD "INSERT INTO outbox (kind, target, payload, request_id) VALUES "
#define ROW "(?, ?, ?, ?)"
static const char sql_insert1[] = INSERT_HEAD ROW;
static const char sql_insert2[] = INSERT_HEAD ROW ", " ROW;
static const char sql_insert3[] = INSERT_HEAD ROW ", " ROW ", " ROW;
static const char sql_insert4[] = INSERT_HEAD ROW ", " ROW ", " ROW ", " ROW;
static const char *const sql_insert[OUTBOX_ROWS_MAX + 1] = {NULL, sql_insert1, sql_insert2, sql_insert3, sql_insert4};
/* The index is named: with ORDER BY id LIMIT, MariaDB would otherwise walk the primary key from
 * the oldest row, delivered ones included (sql/shared/outbox_pending_id.sql). */
static const char sql_due[] = "SELECT id, kind, target, payload, request_id, attempts FROM outbox "
			      "FORCE INDEX (outbox_pending_id) "
			      "WHERE status = 'pending' AND next_at <= NOW(3) ORDER BY id LIMIT ? "
			      "FOR UPDATE SKIP LOCKED";
static const char sql_given_up[] = "UPDATE outbox SET status = 'failed', done_at = NOW(3), "
				   "attempts = attempts + 1, last_error = ? WHERE id = ?";
/* The rows a round delivered, marked in one statement rather than one UPDATE per row. */
static const char sql_sent[] = "UPDATE outbox o JOIN JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j "
			       "ON j.id = o.id SET o.status = 'sent', o.done_at = NOW(3), o.attempts = o.attempts + 1, "
			       "o.last_error = NULL";
static const char sql_retry[] = "UPDATE outbox SET attempts = attempts + 1, last_error = ?, "
				"next_at = NOW(3) + INTERVAL ? SECOND WHERE id = ?";
static const char sql_purge[] = "DELETE FROM outbox WHERE status <> 'pending' AND done_at < NOW(3) - INTERVAL ? DAY "
				"LIMIT 1000";
/* Both read indexes only (outbox_pending_age: status, created_at; outbox_due: status, next_at):
 * delivered rows are never scanned, and pending ones only in the index. */
static const char sql_backlog[] = "SELECT COUNT(*), COALESCE(TIMESTAMPDIFF(SECOND, MIN(created_at), NOW(3)), 0) "
				  "FROM outbox WHERE status = 'pending'";
static const char sql_failed[] = "SELECT COUNT(*) FROM outbox WHERE status = 'failed'";

static const char *rid_or_dash(const char *request_id)
{
	return request_id && *request_id && strlen(request_id) <= 64 ? request_id : "-";
}

/* A failure of building a row: db->err DB_ERROR with `why` (a programming error or no memory). */
static int row_refused(struct db_conn *db, const char *why, const char *what)
{
	db->err = DB_ERROR;
	snprintf(db->errstr, sizeof(db->errstr), "outbox: %s%s", why, what);
	return -1;
}

/* Appends a row whose payload is `payload` (taken: freed here on failure). */
static int rows_append(struct db_conn *db, struct outbox_rows *rows, const char *kind, const char *target,
		       char *payload, const char *request_id)
{
	if (!payload)
		return row_refused(db, "out of memory", "");
	if (rows->n == OUTBOX_ROWS_MAX) {
		free(payload);
		return row_refused(db, "more rows than OUTBOX_ROWS_MAX", "");
	}
	struct outbox_row *r = &rows->row[rows->n++];
	r->kind = kind;
	snprintf(r->target, sizeof(r->target), "%s", target);
	r->payload = payload;
	snprintf(r->request_id, sizeof(r->request_id), "%s", rid_or_dash(request_id));
	return 0;
}

int outbox_rows_job(struct db_conn *db, struct outbox_rows *rows, const char *type, const char *recipient,
		    struct json_object *data, const char *request_id)
{
	struct json_object *job = jobs_build(type, recipient, data, rid_or_dash(request_id));
	if (!job)
		return row_refused(db, "this job is not valid: ", type);
	char *doc = strdup(json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN));
	json_object_put(job);
	return rows_append(db, rows, "job", type, doc, request_id);
}

/* A call or batch row: "METHOD /path" and the body's text. */
static int rows_call(struct db_conn *db, struct outbox_rows *rows, const char *kind, const char *method,
		     const char *path, struct json_object *body, const char *request_id)
{
	char target[OUTBOX_TARGET_MAX + 1];
	int w = snprintf(target, sizeof(target), "%s %s", method, path);
	if (w < 0 || (size_t)w >= sizeof(target) || strchr(method, ' ') || path[0] != '/')
		return row_refused(db, "call target too long or malformed", "");
	char *payload = strdup(body ? json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN) : "");
	return rows_append(db, rows, kind, target, payload, request_id);
}

int outbox_rows_call(struct db_conn *db, struct outbox_rows *rows, const char *method, const char *path,
		     struct json_object *body, const char *request_id)
{
	return rows_call(db, rows, "call", method, path, body, request_id);
}

int outbox_rows_batch(struct db_conn *db, struct outbox_rows *rows, const char *path, struct json_object *item,
		      const char *request_id)
{
	if (!item)
		return row_refused(db, "a batch item needs a body", "");
	return rows_call(db, rows, "batch", "POST", path, item, request_id);
}

void outbox_rows_clear(struct outbox_rows *rows)
{
	for (size_t i = 0; i < rows->n; i++)
		free(rows->row[i].payload);
	rows->n = 0;
}

int outbox_rows_write(struct db_conn *db, struct outbox_rows *rows)
{
	struct db_val p[OUTBOX_ROWS_MAX * 4];
	int rc = 0;

	for (size_t i = 0; i < rows->n; i++) {
		const struct outbox_row *r = &rows->row[i];
		p[4 * i] = db_str(r->kind);
		p[4 * i + 1] = db_str(r->target);
		p[4 * i + 2] = db_str(r->payload);
		p[4 * i + 3] = db_str(r->request_id);
	}
	if (rows->n)
		rc = db_exec(db, sql_insert[rows->n], p, 4 * rows->n, NULL);
	outbox_rows_clear(rows);
	return rc;
}

int outbox_add_job(struct db_conn *db, const char *type, const char *recipient, struct json_object *data,
		   const char *request_id)
{
	struct outbox_rows rows = {0};
	if (outbox_rows_job(db, &rows, type, recipient, data, request_id) != 0)
		return -1;
	return outbox_rows_write(db, &rows);
}

int outbox_add_call(struct db_conn *db, const char *method, const char *path, struct json_object *body,
		    const char *request_id)
{
	struct outbox_rows rows = {0};
	if (outbox_rows_call(db, &rows, method, path, body, request_id) != 0)
		return -1;
	return outbox_rows_write(db, &rows);
}

enum outcome { SENT, FAILED, RETRY };

static enum outcome deliver_job(struct ctx *ctx, const char *doc, char *why, size_t whylen)
{
	if (jobs_add_doc(ctx->redis, ctx->cfg->job_stream, doc) == 0)
		return SENT;
	snprintf(why, whylen, "redis: %s", ctx->redis->errstr);
	return RETRY;
}

/* Sends one call; *status (may be NULL) gets the answer's status, 0 without one; *reply (may be
 * NULL) the body of a 2xx answer (the caller puts it), else NULL. */
static enum outcome deliver_call(struct ctx *ctx, const char *target, const char *payload, const char *rid, char *why,
				 size_t whylen, long *status_out, struct json_object **reply)
{
	char method[16];
	const char *sp = strchr(target, ' ');
	struct client_reply r;
	struct json_object *body = NULL;

	if (reply)
		*reply = NULL;
	if (!sp || (size_t)(sp - target) >= sizeof(method)) {
		snprintf(why, whylen, "malformed target");
		return FAILED;
	}
	memcpy(method, target, (size_t)(sp - target));
	method[sp - target] = '\0';
	if (*payload && !(body = json_tokener_parse(payload))) {
		snprintf(why, whylen, "stored body is not JSON");
		return FAILED;
	}
	int rc = client_call(ctx->client, rid, method, sp + 1, body, &r);
	json_object_put(body);
	if (status_out)
		*status_out = rc != 0 ? 0 : r.status;
	if (rc != 0) {
		snprintf(why, whylen, "unavailable (%ld)", r.status);
		return RETRY;
	}
	long status = r.status;
	if (reply && status >= 200 && status < 300) {
		*reply = r.body;
		r.body = NULL;
	}
	client_reply_free(&r);
	if (status >= 200 && status < 300)
		return SENT;
	snprintf(why, whylen, "refused with %ld", status);
	/* A receiver that cannot take the call now (a timeout, a rate limit) may take it later. */
	return status == 408 || status == 429 ? RETRY : FAILED;
}

#define SENT_MARK_MAX 64 /* ids per marking statement: 64 * 21 bytes of JSON at most */
#define BATCH_GROUPS 4   /* batch targets gathered at once in a round */

/* The items of one batch target gathered in a round, for one call. */
struct batch_group {
	const char *target; /* "POST /path" (the round's rows own it) */
	size_t n;
	int64_t ids[OUTBOX_BATCH_MAX], attempts[OUTBOX_BATCH_MAX];
	struct json_object *items, *rids;
	char rid[65]; /* the first item's request id, for the call's X-Request-Id */
};

struct round {
	struct ctx *ctx;
	size_t batch;
	int handled;
	int64_t sent[SENT_MARK_MAX];
	size_t nsent;
	struct batch_group groups[BATCH_GROUPS];
};

/* Marks ids[0..n) sent. Returns 0, or -1 with db->err set. */
static int mark_sent(struct db_conn *db, const int64_t *ids, size_t n)
{
	char json[SENT_MARK_MAX * 21 + 3];
	if (n == 0)
		return 0;
	if (!db_json_ids(ids, n, json, sizeof(json))) { /* cannot happen with n <= SENT_MARK_MAX */
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "outbox: too many ids to mark");
		return -1;
	}
	struct db_val p[] = {db_str(json)};
	return db_exec(db, sql_sent, p, 1, NULL);
}

/* Records the outcome `o` of row `id` (its `attempts` so far; `why` the failure) in the round.
 * Returns 0, or -1 with db->err set. */
static int record(struct db_conn *db, struct round *rd, enum outcome o, int64_t id, int64_t attempts,
		  const char *kind, const char *target, const char *rid, const char *why)
{
	int rc = 0;
	if (o == SENT) {
		/* Marked with the others of the round (the rows are locked until it commits). */
		rd->sent[rd->nsent++] = id;
		if (rd->nsent == SENT_MARK_MAX) {
			rc = mark_sent(db, rd->sent, rd->nsent);
			rd->nsent = 0;
		}
	} else if (o == RETRY) {
		int64_t wait = attempts >= 8 ? BACKOFF_MAX_S : (int64_t)1 << attempts;
		if (wait > BACKOFF_MAX_S)
			wait = BACKOFF_MAX_S;
		if (attempts == 0 || attempts % 10 == 9)
			log_msg(LOG_WARN, rid, "outbox %lld (%s %s): %s; retrying in %llds", (long long)id, kind, target, why,
				(long long)wait);
		struct db_val p[] = {db_str(why), db_i64(wait), db_i64(id)};
		rc = db_exec(db, sql_retry, p, 3, NULL);
	} else {
		log_msg(LOG_ERROR, rid, "outbox %lld (%s %s): %s; given up", (long long)id, kind, target, why);
		struct db_val p[] = {db_str(why), db_i64(id)};
		rc = db_exec(db, sql_given_up, p, 2, NULL);
	}
	if (rc == 0)
		rd->handled++;
	return rc;
}

/* Sends group `g` as one call and records the outcome for each of its rows; empties it.
 * Returns 0, or -1 with db->err set. */
static int flush_group(struct db_conn *db, struct round *rd, struct batch_group *g)
{
	char why[200] = "";
	int rc = 0;
	if (g->n == 0)
		return 0;
	struct json_object *body = json_object_new_object(), *rids = json_object_get(g->rids); /* for the log */
	json_object_object_add(body, "items", g->items);
	json_object_object_add(body, "request_ids", g->rids);
	char *text = strdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
	json_object_put(body);
	long status = 0;
	struct json_object *reply = NULL;
	enum outcome o = text ? deliver_call(rd->ctx, g->target, text, g->rid, why, sizeof(why), &status, &reply)
			      : RETRY;
	if (!text)
		snprintf(why, sizeof(why), "out of memory");
	/* A receiver that does not know the batch route yet (an upgrade under way, the caller first):
	 * the items wait rather than being given up, since a 4xx to the call would give up every item
	 * of it (408 and 429 wait for every call). */
	if (o == FAILED && (status == 404 || status == 405))
		o = RETRY;
	free(text);
	/* An answer that judges items must judge each one sent: otherwise nothing in it is trusted
	 * and the items are sent again. */
	struct json_object *judged;
	if (o == SENT && reply && json_object_object_get_ex(reply, "items", &judged) &&
	    json_object_is_type(judged, json_type_array) && json_object_array_length(judged) != g->n) {
		o = RETRY;
		snprintf(why, sizeof(why), "answered %zu items for %zu", json_object_array_length(judged), g->n);
	}
	for (size_t i = 0; i < g->n && rc == 0; i++) {
		/* A 2xx answer may judge each item: given up (4xx) or retried (5xx) on its own. */
		int st = o == SENT ? outbox_item_status(reply, g->n, i) : 0;
		enum outcome oi = st >= 500 ? RETRY : st >= 400 ? FAILED : o;
		const char *code = outbox_item_code(reply, i);
		char item_why[200];
		if (st >= 400)
			snprintf(item_why, sizeof(item_why), "item %s with %d %.100s", st >= 500 ? "failed" : "refused", st,
				 code ? code : "");
		rc = record(db, rd, oi, g->ids[i], g->attempts[i], "batch", g->target, outbox_batch_rid(rids, i),
			    st >= 400 ? item_why : why);
	}
	json_object_put(reply);
	json_object_put(rids);
	*g = (struct batch_group){0};
	return rc;
}

/* Member `key` of entry i of the answer's "items" array, or NULL. */
static struct json_object *item_member(struct json_object *reply, size_t i, const char *key)
{
	struct json_object *items, *item, *v;
	if (!reply || !json_object_object_get_ex(reply, "items", &items) || !json_object_is_type(items, json_type_array) ||
	    i >= json_object_array_length(items))
		return NULL;
	item = json_object_array_get_idx(items, i);
	return json_object_is_type(item, json_type_object) && json_object_object_get_ex(item, key, &v) ? v : NULL;
}

int outbox_item_status(struct json_object *reply, size_t n, size_t i)
{
	struct json_object *items, *st = item_member(reply, i, "status");
	if (!st || !json_object_object_get_ex(reply, "items", &items) || json_object_array_length(items) != n ||
	    !json_object_is_type(st, json_type_int))
		return 0;
	int64_t v = json_object_get_int64(st);
	return v >= 100 && v <= 599 ? (int)v : 0;
}

const char *outbox_item_code(struct json_object *reply, size_t i)
{
	struct json_object *code = item_member(reply, i, "code");
	return json_object_is_type(code, json_type_string) ? json_object_get_string(code) : NULL;
}

void outbox_item_judge(struct json_object *item, int status, const char *code)
{
	json_object_object_add(item, "status", json_object_new_int(status));
	if (code)
		json_object_object_add(item, "code", json_object_new_string(code));
}

void outbox_item_invalid(struct json_object *item, const char *rid, const struct field_errors *errs)
{
	struct json_object *list = json_object_new_array();
	for (size_t k = 0; k < errs->n; k++) {
		struct json_object *e = json_object_new_object();
		json_object_object_add(e, "field", json_object_new_string(errs->items[k].field));
		json_object_object_add(e, "message", json_object_new_string(errs->items[k].message));
		json_object_array_add(list, e);
	}
	outbox_item_judge(item, 422, "invalid_item");
	json_object_object_add(item, "errors", list);
	log_msg(LOG_WARN, rid, "batch item refused as invalid: %s %s%s", errs->n ? errs->items[0].field : "",
		errs->n ? errs->items[0].message : "", errs->n > 1 ? " (and more)" : "");
}

/* Adds a due batch row to the round's group for its target (sending a full group, or the oldest
 * when every group is taken). Returns 0, or -1 with db->err set. */
static int gather(struct db_conn *db, struct round *rd, int64_t id, int64_t attempts, const char *target,
		  const char *payload, const char *rid)
{
	struct batch_group *g = NULL;
	int rc = 0;
	for (size_t k = 0; k < BATCH_GROUPS && !g; k++)
		if (rd->groups[k].n && strcmp(rd->groups[k].target, target) == 0)
			g = &rd->groups[k];
	for (size_t k = 0; k < BATCH_GROUPS && !g; k++)
		if (!rd->groups[k].n)
			g = &rd->groups[k];
	if (!g && (rc = flush_group(db, rd, g = &rd->groups[0])) != 0)
		return rc;
	struct json_object *item = json_tokener_parse(payload);
	if (!item) /* a row outbox_rows_batch did not write */
		return record(db, rd, FAILED, id, attempts, "batch", target, rid, "stored item is not JSON");
	if (!g->n) {
		g->target = target;
		g->items = json_object_new_array();
		g->rids = json_object_new_array();
		snprintf(g->rid, sizeof(g->rid), "%s", rid);
	}
	json_object_array_add(g->items, item);
	json_object_array_add(g->rids, json_object_new_string(rid));
	g->ids[g->n] = id;
	g->attempts[g->n++] = attempts;
	return g->n == OUTBOX_BATCH_MAX ? flush_group(db, rd, g) : 0;
}

static int relay_tx(struct db_conn *db, void *arg)
{
	struct round *rd = arg;
	struct db_rows *rows;
	struct db_val lim[] = {db_i64((int64_t)rd->batch)};

	rd->handled = 0;
	rd->nsent = 0;
	if (db_query(db, sql_due, lim, 1, &rows) != 0)
		return -1;
	int rc = 0;
	/* A stopping server delivers no further row of the round: each could wait out a timeout
	 * (the gateway or Redis gone at shutdown), and the rest stay due for the next start. */
	for (size_t i = 0; i < rows->nrows && rc == 0 && !server_stopping(); i++) {
		int64_t id = db_cell_i64(rows, i, 0, 0), attempts = db_cell_i64(rows, i, 5, 0);
		const char *kind = db_cell(rows, i, 1), *target = db_cell(rows, i, 2);
		const char *payload = db_cell(rows, i, 3), *rid = db_cell(rows, i, 4);
		char why[200] = "";
		if (strcmp(kind, "batch") == 0) {
			rc = gather(db, rd, id, attempts, target, payload, rid);
			continue;
		}
		enum outcome o = strcmp(kind, "job") == 0 ? deliver_job(rd->ctx, payload, why, sizeof(why))
							  : deliver_call(rd->ctx, target, payload, rid, why, sizeof(why), NULL, NULL);
		rc = record(db, rd, o, id, attempts, kind, target, rid, why);
	}
	for (size_t k = 0; k < BATCH_GROUPS; k++) {
		if (rc == 0 && !server_stopping())
			rc = flush_group(db, rd, &rd->groups[k]);
		json_object_put(rd->groups[k].items); /* what a failure or a stop left unsent stays due */
		json_object_put(rd->groups[k].rids);
		rd->groups[k] = (struct batch_group){0};
	}
	if (rc == 0)
		rc = mark_sent(db, rd->sent, rd->nsent);
	db_rows_free(rows);
	return rc;
}

int outbox_relay_once(struct ctx *ctx, size_t batch)
{
	struct round *rd = calloc(1, sizeof(*rd));
	if (!rd) {
		ctx->db->err = DB_ERROR;
		snprintf(ctx->db->errstr, sizeof(ctx->db->errstr), "outbox: out of memory");
		return -1;
	}
	rd->ctx = ctx;
	rd->batch = batch ? batch : 1;
	/* A deadlock retry re-reads the due rows; a row delivered in the lost run is delivered again
	 * (at least once: job ids and idempotent receivers make that harmless). */
	int rc = db_tx(ctx->db, relay_tx, rd), handled = rd->handled;
	free(rd);
	return rc != 0 ? -1 : handled;
}

long outbox_purge(struct db_conn *db, int days)
{
	struct db_val p[] = {db_i64(days)};
	struct db_exec_result res;
	if (db_exec(db, sql_purge, p, 1, &res) != 0)
		return -1;
	return (long)res.affected;
}

int outbox_backlog(struct db_conn *db, long long *pending, long long *failed, long long *oldest_s)
{
	struct db_rows *r;
	if (db_query(db, sql_backlog, NULL, 0, &r) != 0)
		return -1;
	*pending = db_cell_i64(r, 0, 0, 0);
	*oldest_s = db_cell_i64(r, 0, 1, 0);
	db_rows_free(r);
	if (db_query(db, sql_failed, NULL, 0, &r) != 0)
		return -1;
	*failed = db_cell_i64(r, 0, 0, 0);
	db_rows_free(r);
	return 0;
}

struct json_object *outbox_batch_items(struct json_object *body, const char *what, struct json_object **rids,
				       struct field_errors *errs)
{
	static const char *const allowed[] = {"items", "request_ids", NULL};
	struct json_object *items;
	size_t before = errs->n;

	*rids = NULL;
	field_only(body, allowed, errs);
	if (!json_object_object_get_ex(body, "items", &items) || !json_object_is_type(items, json_type_array) ||
	    json_object_array_length(items) == 0 || json_object_array_length(items) > OUTBOX_BATCH_MAX) {
		problem_add(errs, "items", "must be a list of 1 to %d %s", OUTBOX_BATCH_MAX, what);
		return NULL;
	}
	size_t n = json_object_array_length(items);
	if (json_object_object_get_ex(body, "request_ids", rids)) {
		if (!json_object_is_type(*rids, json_type_array) || json_object_array_length(*rids) != n) {
			problem_add(errs, "request_ids", "must be a list of as many request ids as items");
			*rids = NULL;
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			struct json_object *rid = json_object_array_get_idx(*rids, i);
			/* Each goes to log lines and outbox rows: the characters of a request id only. */
			size_t len = json_object_is_type(rid, json_type_string) ? (size_t)json_object_get_string_len(rid) : 0;
			const char *s = len ? json_object_get_string(rid) : "";
			if (len < 1 || len > 64 || strspn(s, RID_CHARS) != len) {
				char field[48];
				snprintf(field, sizeof(field), "request_ids[%zu]", i);
				problem_add(errs, field, "must be 1 to 64 of A-Z a-z 0-9 . _ : -");
			}
		}
	}
	return errs->n == before ? items : NULL;
}

bool outbox_batch_item(struct json_object *items, size_t i, const struct field_spec *specs, size_t n, void *dest,
		       const char *what, struct field_errors *errs)
{
	struct json_object *it = json_object_array_get_idx(items, i);
	struct field_errors item_errs = {0};
	char field[48];

	snprintf(field, sizeof(field), "items[%zu]", i);
	if (!json_object_is_type(it, json_type_object)) {
		problem_add(errs, field, "must be an object %s", what);
		return false;
	}
	field_parse(it, specs, n, dest, NULL, NULL, &item_errs);
	for (size_t k = 0; k < item_errs.n; k++)
		problem_add(errs, field, "%s %s", item_errs.items[k].field, item_errs.items[k].message);
	return item_errs.n == 0;
}

const char *outbox_batch_rid(struct json_object *rids, size_t i)
{
	struct json_object *rid = rids ? json_object_array_get_idx(rids, i) : NULL;
	return rid && json_object_is_type(rid, json_type_string) ? json_object_get_string(rid) : "-";
}
