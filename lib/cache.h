/* cache.h: cache-aside in Redis for values keyed by a version the database keeps (never invalidated, only superseded). */
#ifndef STORE_CACHE_H
#define STORE_CACHE_H

#include <stddef.h>

struct redis_conn;

enum cache_result {
	CACHE_HIT = 0,  /* value: a malloc copy the caller frees */
	CACHE_MISS = 1, /* not cached: read from the database, then cache_put */
	CACHE_DOWN = -1 /* Redis unreachable: read from the database and do not put */
};

/*
 * The key should name the version of the value (e.g. "product:7:v12", the version moved on
 * by the same UPDATE that changes the row): a change then needs no delete that could fail,
 * and a copy of an older version is never read again (it expires). On CACHE_HIT sets *value
 * (caller frees) and *len; otherwise leaves *value NULL.
 */
enum cache_result cache_get(struct redis_conn *r, const char *key, char **value, size_t *len);

/* Stores `value` under `key` for `ttl` seconds. Returns 0, or -1 (Redis unreachable). */
int cache_put(struct redis_conn *r, const char *key, const char *value, size_t len, long ttl);

#endif
