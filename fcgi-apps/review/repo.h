/* repo.h: the review service's SQL: reviews, helpful votes, moderation, rating aggregates. */
#ifndef STORE_REVIEW_REPO_H
#define STORE_REVIEW_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"

struct db_conn;
struct db_rows;

/* The columns of every review result set, in this order. */
enum review_col {
	RC_ID, RC_PRODUCT_ID, RC_USER_ID, RC_AUTHOR, RC_RATING, RC_TITLE, RC_BODY, RC_STATUS, RC_HIDDEN_REASON,
	RC_HELPFUL, RC_CREATED_AT, RC_UPDATED_AT, RC_NCOLS
};

/* Reads review `id` into *rows (one row; caller frees with db_rows_free). With `lock`, inside a
 * transaction, the row is locked FOR UPDATE. Returns 0, 1 when there is none (*rows NULL), or -1. */
int repo_review_get(struct db_conn *db, int64_t id, bool lock, struct db_rows **rows);

/* The id of `user_id`'s review of `product_id`. Returns 0 with *id, 1 when there is none, or -1. */
int repo_review_of(struct db_conn *db, int64_t user_id, int64_t product_id, int64_t *id);

/* A new visible review. Returns 0 with *id, or -1 (db->err DB_DUPLICATE when the user already
 * reviewed the product). */
int repo_review_insert(struct db_conn *db, int64_t product_id, int64_t user_id, const char *author, int64_t rating,
		       const char *title, const char *body, int64_t *id);

/* Rewrites the rating, title and body of review `id` (updated_at moves). Returns 0 or -1. */
int repo_review_update(struct db_conn *db, int64_t id, int64_t rating, const char *title, const char *body);

/* Deletes review `id` of `user_id` (its helpful votes go with it). Returns 1 when deleted,
 * 0 when there was none, -1 on error. */
int repo_review_delete(struct db_conn *db, int64_t id, int64_t user_id);

/* Moves review `id` from status `from` to `to` (conditional UPDATE) and writes the moderation
 * history row ("hide"/"unhide", `reason` may be NULL, `actor` the staff member). Returns 1 when
 * changed, 0 when the review was not in `from`, -1 on error. */
int repo_review_moderate(struct db_conn *db, int64_t id, const char *from, const char *to, const char *reason,
			 int64_t actor);

/* Records that `user_id` found review `id` helpful and counts it. Returns 0, 1 when the user
 * already did (nothing changed), or -1. Inside a transaction that locked the review first. */
int repo_helpful_add(struct db_conn *db, int64_t review_id, int64_t user_id);

/* Inside a transaction, before touching any review of `product_id`: creates its aggregate row
 * when missing and locks it (one statement, so two first reviews never deadlock). Changes of
 * one product's reviews are serialised by this lock. Returns 0 or -1. */
int repo_aggregate_lock(struct db_conn *db, int64_t product_id);

/* Inside the same transaction, after the change: recounts the visible reviews of `product_id`
 * (a locking read: the latest committed rows), writes the counts to its aggregate row and into
 * *out. Returns 0 or -1. */
int repo_aggregate_recount(struct db_conn *db, int64_t product_id, struct review_aggregate *out);

/* The stored aggregate of `product_id` (zeros when it has none). Returns 0 or -1. */
int repo_aggregate_get(struct db_conn *db, int64_t product_id, struct review_aggregate *out);

/* Drops the rows of the outbox still pending for `target` ("POST /internal/..."): a newer call
 * about the same thing supersedes them, so a retried old value never lands after a new one.
 * Inside the transaction that adds the new call. Returns 0 or -1. */
int repo_outbox_supersede(struct db_conn *db, const char *target);

/* The visible reviews of `product_id`, rated `rating` (0: any), in `sort` order: *rows (columns
 * as enum review_col) and *total. Returns 0 or -1. */
int repo_reviews_public(struct db_conn *db, int64_t product_id, int64_t rating, enum review_sort sort, int64_t limit,
			int64_t offset, struct db_rows **rows, int64_t *total);

/* Reviews newest first, by author (`user_id` 0: all) and status (NULL: all): *rows and *total.
 * Returns 0 or -1. */
int repo_reviews_list(struct db_conn *db, int64_t user_id, const char *status, int64_t limit, int64_t offset,
		      struct db_rows **rows, int64_t *total);

#endif
