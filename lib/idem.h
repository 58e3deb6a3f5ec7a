/* idem.h: Idempotency-Key handling for creating POSTs (orders, payments): replay, mismatch, in flight. */
#ifndef STORE_IDEM_H
#define STORE_IDEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct request;

#define IDEM_KEY_MAX 255
#define IDEM_LEASE_S 60 /* a request still "running" after this long is taken to have died */

/* One claimed key, as idem_begin() leaves it. */
struct idem {
	int64_t caller;
	char key[IDEM_KEY_MAX + 1];
	unsigned char hash[32];
};

/*
 * Reads the Idempotency-Key header (1..255 visible ASCII characters) and claims it for
 * `caller` with the hash of `scope` and `what` (`len` bytes: what a retry must repeat to be
 * the same request, usually req->body; a payment passes its body without the card's secrets,
 * so that no hash of a card number is stored). Returns true when the handler
 * should go on (a new key, or one whose earlier run died without answering: its lease ran
 * out); it must then end with idem_finish() or idem_release().
 * Returns false when the answer is already written:
 *   400 idempotency_key_required (no header) or bad_idempotency_key (malformed),
 *   the stored answer (same status, body and Location) for a replay of the same request,
 *   422 idempotency_mismatch for the same key with another body,
 *   409 idempotency_in_flight while the first request still runs,
 *   503 when the database is down.
 */
bool idem_begin(struct request *req, struct db_conn *db, int64_t caller, const char *scope, const char *what,
		size_t len, struct idem *id);

/* Stores the answer (`status`, JSON `body`, optional `location`) so that replays get it.
 * Returns 0 or -1 (db->err set; the key stays claimed until its lease runs out). */
int idem_finish(struct db_conn *db, const struct idem *id, int status, const char *body, const char *location);

/* Forgets the claim (after a failure that left nothing behind, e.g. a 503 before any
 * change), so that a retry with the same key starts afresh. */
void idem_release(struct db_conn *db, const struct idem *id);

/* Deletes finished keys older than `hours` (at most 1000 a call). Returns the count or -1. */
long idem_purge(struct db_conn *db, int hours);

/* true when `s` is a valid key: 1..IDEM_KEY_MAX printable ASCII characters (0x21..0x7e). */
bool idem_key_valid(const char *s);

#endif
