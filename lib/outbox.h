/* outbox.h: the transactional outbox: jobs and internal calls written with the change that causes them, relayed by a thread. */
#ifndef STORE_OUTBOX_H
#define STORE_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

struct db_conn;
struct ctx;
struct json_object;
struct field_errors;

/*
 * Inside the caller's transaction (db_tx): queues the e-mail job `type` for `recipient` with
 * `data` (borrowed; see jobs_build for what it may hold). The job document, with its id, is
 * built now, so a redelivery carries the same id. Returns 0; -1 with db->err set on a database
 * error, or DB_ERROR when the job is invalid (a programming error, logged).
 */
int outbox_add_job(struct db_conn *db, const char *type, const char *recipient, struct json_object *data,
		   const char *request_id);

/*
 * Rows for the outbox written together with one INSERT (a transition that queues an e-mail and
 * a call pays one statement, not two). Start from {0}; add rows with outbox_rows_job and
 * outbox_rows_call, then write them with outbox_rows_write, or drop them with outbox_rows_clear.
 */
#define OUTBOX_ROWS_MAX 4
#define OUTBOX_TARGET_MAX 300
struct outbox_rows {
	size_t n;
	struct outbox_row {
		const char *kind; /* "job", "call" or "batch" (static) */
		char target[OUTBOX_TARGET_MAX + 1]; /* the job type, or "METHOD /path" */
		char *payload; /* JSON text, "" for a call without body (malloc'd, owned by the rows) */
		char request_id[65];
	} row[OUTBOX_ROWS_MAX];
};

/* Adds the job outbox_add_job would queue (its document, with its id, is built now) to `rows`.
 * Returns 0, or -1 with db->err DB_ERROR (an invalid job, more than OUTBOX_ROWS_MAX rows, out of
 * memory: `rows` keeps what it held). */
int outbox_rows_job(struct db_conn *db, struct outbox_rows *rows, const char *type, const char *recipient,
		    struct json_object *data, const char *request_id);

/* Adds the call outbox_add_call would queue to `rows`. Returns 0, or -1 as outbox_rows_job. */
int outbox_rows_call(struct db_conn *db, struct outbox_rows *rows, const char *method, const char *path,
		     struct json_object *body, const char *request_id);

/*
 * Adds one item of a batch call to `rows`: the relay gathers the due items of a round that share
 * `path` (under the internal listener) and POSTs them in one call, {"items":[item, ...],
 * "request_ids":["...", ...]} (each item's request id, in the same order), at most
 * OUTBOX_BATCH_MAX items a call, after the round's other rows: batch items keep no order among
 * themselves or with other rows. The receiver answers 2xx once it has judged every item; the
 * answer may judge each one, {"items":[{"status":N, "code":"..."}, ...]} in the call's order
 * (outbox_item_status): an item with a 4xx status is given up (logged with its code, and left
 * `failed` for the sender to find, as a refused call is), with 5xx it is retried on its own, and
 * an item without a status is done; an answer whose "items" are not one per item sent is not
 * trusted (every item is retried). 4xx to the whole call gives every item up (logged), except
 * 404 and 405, which mean a receiver that does not have the route yet, and 408 and 429 (retried,
 * as 5xx or no answer are). Receivers give their batch route a body cap of its own. Receivers must be idempotent per item. `item` is borrowed. Returns 0, or -1 as
 * outbox_rows_job.
 */
#define OUTBOX_BATCH_MAX 64
int outbox_rows_batch(struct db_conn *db, struct outbox_rows *rows, const char *path, struct json_object *item,
		      const char *request_id);

/* The status a batch call's 2xx answer `reply` gives item `i` of the `n` sent: items[i].status
 * when the answer has an "items" array of n entries and that entry an integer status in
 * 100..599; else 0 (the item is done). outbox_item_code: that entry's "code" string, or NULL.
 * Both borrow from `reply`. */
int outbox_item_status(struct json_object *reply, size_t n, size_t i);
const char *outbox_item_code(struct json_object *reply, size_t i);

/* For a receiver: judges its answer's entry `item` for one item, with the `status` (200, 4xx
 * given up, 5xx sent again) and an optional `code` the two readers above read. */
void outbox_item_judge(struct json_object *item, int status, const char *code);

/* For a receiver: judges `item` 422 "invalid_item" with `errs` (what outbox_batch_item found in
 * that item) as its "errors", and logs it under the item's request id `rid`. One item a receiver
 * cannot read is refused on its own: the others of the call are still done. */
void outbox_item_invalid(struct json_object *item, const char *rid, const struct field_errors *errs);

/*
 * For a receiver of batch calls: checks the envelope of `body`, {"items":[...], "request_ids":
 * [...]} (only those members; 1..OUTBOX_BATCH_MAX items; request_ids optional, as many strings
 * of 1 to 64 characters as items), adding field errors (`what` describes an item, e.g.
 * "{user_id, version}"). Returns the items array (borrowed) and sets *rids (NULL when absent),
 * or NULL when the envelope is wrong. The items themselves are the receiver's to check.
 */
struct json_object *outbox_batch_items(struct json_object *body, const char *what, struct json_object **rids,
				       struct field_errors *errs);

/* Parses item `i` of `items` (from outbox_batch_items) by specs[0..n) into `dest` (field_parse),
 * the errors named "items[i]" (`what` describes an item). Returns true when it is valid. */
struct field_spec;
bool outbox_batch_item(struct json_object *items, size_t i, const struct field_spec *specs, size_t n, void *dest,
		       const char *what, struct field_errors *errs);

/* The request id of item `i` of a batch (`rids` from outbox_batch_items), or "-". */
const char *outbox_batch_rid(struct json_object *rids, size_t i);

/* Inside the caller's transaction: writes every row of `rows` with one INSERT, in the order
 * they were added (the relay delivers them in that order). `rows` is emptied either way.
 * Returns 0 (also for no rows), or -1 with db->err set. */
int outbox_rows_write(struct db_conn *db, struct outbox_rows *rows);

/* Drops the rows not written (frees their payloads); `rows` is empty afterwards. */
void outbox_rows_clear(struct outbox_rows *rows);

/*
 * Inside the caller's transaction: queues the internal call `method` `path` (under the
 * internal listener, e.g. "/internal/order/orders/7/paid") with an optional JSON `body`
 * (borrowed). The relay sends it until the other side answers below 500: 2xx marks it sent,
 * 4xx marks it failed (logged: the receiver refused it for good). Receivers must be idempotent.
 * Returns 0, or -1 with db->err set.
 */
int outbox_add_call(struct db_conn *db, const char *method, const char *path, struct json_object *body,
		    const char *request_id);

/*
 * One relay round with the thread's context: locks up to `batch` due rows (FOR UPDATE SKIP
 * LOCKED, so several instances never deliver the same row at once), delivers each, records
 * the outcome (sent, failed, or a retry after a backoff doubling from 1 s to 5 minutes).
 * Returns the number of rows handled, or -1 when the database failed (db->err set).
 */
int outbox_relay_once(struct ctx *ctx, size_t batch);

/* Deletes rows delivered or failed more than `days` ago (at most 1000 per call). Returns the
 * number deleted or -1. */
long outbox_purge(struct db_conn *db, int days);

/* For metrics: rows waiting to be relayed, rows given up on, and the age in seconds of the
 * oldest waiting row (0: none). Returns 0, or -1 on a database error. */
int outbox_backlog(struct db_conn *db, long long *pending, long long *failed, long long *oldest_s);

#endif
