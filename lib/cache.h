/* cache.h: versioned cache-aside in Redis: a racing reader can never re-cache a value a writer replaced. */
#ifndef STORE_CACHE_H
#define STORE_CACHE_H

#include <stddef.h>

struct redis_conn;

#define CACHE_VER_MAX 24

enum cache_result {
	CACHE_HIT = 0,  /* value: a malloc copy the caller frees */
	CACHE_MISS = 1, /* `ver` holds the version to pass to cache_put */
	CACHE_DOWN = -1 /* Redis unreachable: read from the database and do not put */
};

/*
 * Reads `key` and its version key (`key` + ":v") in one round trip. On CACHE_HIT sets
 * *value and *len; on CACHE_MISS fills `ver` for cache_put.
 */
enum cache_result cache_get(struct redis_conn *r, const char *key, char **value, size_t *len,
			    char ver[CACHE_VER_MAX]);

/*
 * Stores `value` under `key` for `ttl` seconds, but only if the version is still
 * `ver` (a Lua check-and-set): if a writer invalidated meanwhile, nothing is stored.
 * Returns 0 (stored or skipped) or -1 (Redis unreachable).
 */
int cache_put(struct redis_conn *r, const char *key, const char *ver, const char *value, size_t len, long ttl);

/* Bumps the version and deletes `key`. Returns 0, or -1 when Redis is unreachable. */
int cache_invalidate(struct redis_conn *r, const char *key);

#endif
