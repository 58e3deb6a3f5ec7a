/* catalog.h: the catalogue version list and search pages are cached under, held in Redis as a lease on MariaDB's. */
#ifndef STORE_PRODUCT_CATALOG_H
#define STORE_PRODUCT_CATALOG_H

#include <stddef.h>
#include <stdint.h>

struct ctx;

/*
 * MariaDB keeps the catalogue's version (sql/product/003), moved on in the transaction of
 * every product or category write. Readers take it from Redis instead, where it is a lease:
 * the key `catalog:version` holds a version MariaDB had at a time `from` (Redis's own clock)
 * and expires at from + CATALOG_LEASE_MS. A page is stored under its list key (product_list_key)
 * with the version it was computed under; it is served only while that is the leased version,
 * so a cached page is one Redis call (MGET of the lease and the page) and no MariaDB read.
 *
 * Never stale: a writer, once committed, publishes the new version (catalog_publish) before it
 * answers. A lease only ever moves to a higher version, and one made from a MariaDB read that
 * preceded a commit expires within CATALOG_LEASE_MS of that commit; so a writer that cannot
 * publish (Redis down or stalled) waits that long before answering, and no reader can then
 * find a version older than its change, whatever Redis comes back with. A missing or expired
 * lease is always safe: the reader takes the version from MariaDB and makes a new one.
 */
#define CATALOG_LEASE_MS 1000
/* What a writer that could not publish waits beyond the lease: Redis's clock may run a little
 * apart from ours while the lease lasts. */
#define CATALOG_LEASE_MARGIN_MS 100

enum catalog_page_result {
	CATALOG_HIT,     /* *page (caller frees) and *len set */
	CATALOG_MISS,    /* *version set: compute the page, then catalog_page_put */
	CATALOG_DOWN,    /* Redis unreachable: compute the page, cache nothing */
	CATALOG_DB_ERROR /* the lease had ended and MariaDB's version could not be read (db->err set) */
};

/* The page of list key `key` if it was computed under the leased version; renews the lease
 * from MariaDB when there is none. */
enum catalog_page_result catalog_page(struct ctx *ctx, const char *key, int64_t *version, char **page,
				      size_t *len);

/* Stores a page computed once `version` (from catalog_page) was current, for `ttl` seconds.
 * Returns 0, or -1 (Redis unreachable). */
int catalog_page_put(struct ctx *ctx, const char *key, int64_t version, const char *page, size_t len, long ttl);

/* After any catalogue write (committed or not) and before its answer: leases MariaDB's version
 * now, or, if that cannot be done, waits until no lease from before the write can be left. */
void catalog_publish(struct ctx *ctx, const char *request_id);

#endif
