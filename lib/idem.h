/* idem.h: Idempotency-Key handling for creating POSTs (orders, payments): replay, mismatch, in flight. */
#ifndef STORE_IDEM_H
#define STORE_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct request;

#define IDEM_KEY_MAX 255
#define IDEM_LEASE_S 60   /* a request still "running" after this long is taken to have died */
#define IDEM_KEEP_HOURS 24 /* how long a key is kept (idem_purge): replays within it get the answer */

/* One claimed key, as idem_begin() leaves it. */
struct idem {
	int64_t caller;
	int64_t attempt; /* 1 for a new key; n + 1 when this run took over attempt n, which died */
	char key[IDEM_KEY_MAX + 1];
	unsigned char hash[32];
};

/*
 * Reads the Idempotency-Key header (1..255 visible ASCII characters) and claims it for
 * `caller` with the hash of `scope` and `what` (`len` bytes: what a retry must repeat to be
 * the same request, usually req->body; a payment passes its body without the card's secrets,
 * so that no hash of a card number is stored), for `lease` seconds (IDEM_LEASE_S unless the
 * service configures it). Returns true when the handler should go on: a new key (attempt 1),
 * or one whose earlier run died without answering (its lease ran out): id->attempt is then
 * one more than the attempt it takes over, so that whatever that run left behind under its
 * attempt's name can be undone first. The handler must then end with idem_finish() or
 * idem_release().
 * Returns false when the answer is already written:
 *   400 idempotency_key_required (no header) or bad_idempotency_key (malformed),
 *   the stored answer (same status, body, media type and Location) for a replay of the same
 *   request, with Idempotent-Replayed: true,
 *   422 idempotency_mismatch for the same key with another body,
 *   409 idempotency_in_flight (Retry-After: 1) while the first request still runs,
 *   503 when the database is down.
 */
bool idem_begin(struct request *req, struct db_conn *db, int64_t caller, const char *scope, const char *what,
		size_t len, long lease, struct idem *id);

/*
 * Stores the answer (`status`, JSON `body`: a problem document when status >= 400, optional
 * `location`) so that replays get it, provided this run still holds the key (may run inside
 * the transaction that does the work, so that both commit together). Returns 0 (stored), 1
 * (nothing stored: the key was taken over by a retry after this run's lease ran out) or -1
 * (db->err set; the key stays claimed until its lease runs out).
 */
int idem_finish(struct db_conn *db, const struct idem *id, int status, const char *body, const char *location);

/* Forgets the claim, if this run still holds it (after a failure that left nothing behind,
 * e.g. a 503 before any change), so that a retry with the same key starts afresh. */
void idem_release(struct db_conn *db, const struct idem *id);

/* Ends this run's lease now, if it still holds the key, without forgetting its attempt: a retry
 * with the same key takes over at once as the next attempt. For a failure after which what the
 * run did under its attempt's name cannot be done again under it (a reservation made and
 * released), where idem_release would have the retry start again as the same attempt. */
void idem_let_go(struct db_conn *db, const struct idem *id);

/* Deletes keys older than `hours` that are done or whose run died (at most 1000 a call).
 * Returns the count or -1. */
long idem_purge(struct db_conn *db, int hours);

/* The request's Idempotency-Key, or NULL with the 400 written (idempotency_key_required when
 * absent, bad_idempotency_key when malformed): for a handler that judges the header before the
 * body and claims the key (idem_begin, which checks the same) after. Borrowed from `req`. */
const char *idem_key_header(struct request *req);

/* true when `s` is a valid key: 1..IDEM_KEY_MAX printable ASCII characters (0x21..0x7e). */
bool idem_key_valid(const char *s);

#endif
