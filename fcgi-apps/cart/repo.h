/* repo.h: the cart service's SQL: carts found by owner, their lines, versions, guest expiry. */
#ifndef STORE_CART_REPO_H
#define STORE_CART_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rules.h"
#include "token.h"

struct db_conn;
struct db_rows;

/* Whose cart: a signed-in user (user_id > 0), else the guest token's hash. */
struct cart_owner {
	int64_t user_id;
	char token_hash[CART_TOKEN_HASH_LEN + 1];
};

struct cart_line {
	int64_t product_id, quantity, added_price, line_version;
};

/* A cart as stored: oldest line first. */
struct cart {
	int64_t id, user_id, version;
	char currency[4]; /* "" while empty */
	char updated_at[32];
	bool stale_seen;  /* seen_at is more than a day old: a read should refresh it */
	size_t n;
	struct cart_line lines[CART_LINES_MAX];
};

/*
 * Reads the owner's cart with its lines into *out; a guest cart idle for CART_GUEST_IDLE_DAYS
 * counts as gone even before the sweeper removes it. `lock`: FOR UPDATE (the cart row and its
 * lines), inside a transaction. Returns 0, 1 when there is none (*out then zeroed), or -1.
 */
int repo_cart_read(struct db_conn *db, const struct cart_owner *o, bool lock, struct cart *out);

/* Gives user `uid` an empty cart unless it has one. Returns 0 or -1. */
int repo_cart_ensure_user(struct db_conn *db, int64_t uid);

/* Creates an empty guest cart stored under `token_hash`. Returns 0 with *id, or -1 (DB_DUPLICATE
 * when the hash exists, which 256 random bits make a bug rather than bad luck). */
int repo_cart_create_guest(struct db_conn *db, const char *token_hash, int64_t *id);

/* Marks cart `id` as seen now (keeps an idle guest cart alive). Returns 0 or -1. */
int repo_cart_touch(struct db_conn *db, int64_t id);

/* After a change: version + 1, updated_at and seen_at now, currency `currency` (NULL: the cart
 * is empty now). Returns 0 or -1. */
int repo_cart_bump(struct db_conn *db, int64_t id, const char *currency);

/* Deletes cart `id` and (by cascade) its lines. Returns 0 or -1. */
int repo_cart_delete(struct db_conn *db, int64_t id);

/* Sets line `pid` of cart `id` (insert or replace). Returns 0 or -1. */
int repo_line_set(struct db_conn *db, int64_t id, const struct cart_line *l);

/* Deletes line `pid` of cart `id`; *deleted 1 or 0. Returns 0 or -1. */
int repo_line_delete(struct db_conn *db, int64_t id, int64_t pid, int *deleted);

/* Deletes every line of cart `id` set at `version` or before; *deleted is how many. Returns 0 or -1. */
int repo_lines_delete_upto(struct db_conn *db, int64_t id, int64_t version, uint64_t *deleted);

/*
 * A batch of clears (internal.c), four statements whatever its size:
 * repo_clears_lock locks the carts of `users` (a JSON array of user ids, in id order so that two
 * batches lock alike) and reads (k, cart id, version) for each that has one, k the user's 1-based
 * position; repo_clears_lines reads (cart id, line_version) of every line of the carts in `carts`
 * (a JSON array of cart ids); repo_clears_delete deletes, per [cart id, version] of `json`, the
 * lines set at that version or before (*deleted: how many in all); repo_clears_bump moves each
 * [cart id, lines kept] of `json` to its next version, now as its change time, with no currency
 * when it keeps no line. Each returns 0 or -1.
 */
int repo_clears_lock(struct db_conn *db, const char *users, struct db_rows **out);
int repo_clears_lines(struct db_conn *db, const char *carts, struct db_rows **out);
int repo_clears_delete(struct db_conn *db, const char *json, uint64_t *deleted);
int repo_clears_bump(struct db_conn *db, const char *json);

/* Up to `limit` guest carts idle past the expiry, locked, skipping ones locked elsewhere: id. */
int repo_guests_expired(struct db_conn *db, int64_t limit, struct db_rows **out);

#endif
