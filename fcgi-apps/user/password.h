/* password.h: argon2id hashing with at most one hash per core at a time. */
#ifndef STORE_USER_PASSWORD_H
#define STORE_USER_PASSWORD_H

#include <stdbool.h>
#include <sodium.h>

struct user_settings;

#define PASSWORD_HASH_MAX crypto_pwhash_STRBYTES

enum pw_result {
	PW_OK = 0,
	PW_MISMATCH, /* verify: wrong password */
	PW_BUSY,     /* too many hashes running or waiting: answer 503 with Retry-After */
	PW_ERROR,    /* out of memory or a library failure */
};

/*
 * How many hashes may hold a request thread at once (running or queued) in a service of
 * `threads` request threads on `cores` cores: at most two per core, and never so many that
 * fewer than a quarter of the request threads (at least one) stay free for other routes.
 * With a single request thread, 1. Always at least 1.
 */
long password_admit_max(long threads, long cores);

/*
 * Sets the cost from cfg (argon2id, opslimit, memlimit) and starts up to `cores` hashing
 * threads at a lower priority (nice +10, logged once when the system refuses it; started
 * once per process). password_admit_max(threads, cores) hashes run or wait at once; the
 * rest are refused (PW_BUSY) so a login storm leaves request threads and CPU for other
 * routes. Computes the dummy hash used for unknown accounts. Returns 0 or -1.
 */
int password_init(const struct user_settings *cfg, long cores, long threads);

/* Hashes `pw` into `out`. */
enum pw_result password_hash(const char *pw, char out[PASSWORD_HASH_MAX]);

/* Verifies `pw` against `hash`; with `hash` NULL, against a dummy hash (always
 * PW_MISMATCH) so an unknown account costs the same time as a known one. */
enum pw_result password_verify(const char *hash, const char *pw);

/* true if `hash` was made with other parameters than the configured ones. */
bool password_needs_rehash(const char *hash);

#endif
