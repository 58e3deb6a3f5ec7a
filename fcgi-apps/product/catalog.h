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
 * and expires at from + CATALOG_LEASE_MS, so a page is one Redis call and no MariaDB read.
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
#define CATALOG_HASH_MAX 33 /* 32 hex digits and the NUL */

enum catalog_page_result {
	CATALOG_HIT,     /* *page (caller frees), *len and *version set */
	CATALOG_MISS,    /* *version set: compute the page and cache it under product_list_key */
	CATALOG_UNKNOWN, /* no lease: *lease_from set; read MariaDB's version, then catalog_lease */
	CATALOG_DOWN     /* Redis unreachable: compute the page, cache nothing */
};

/* One Redis call: the leased version and the page of `hash` (product_list_hash) under it. */
enum catalog_page_result catalog_page(struct ctx *ctx, const char *hash, int64_t *version, char **page,
				      size_t *len, long long *lease_from);

/* Leases `version`, read from MariaDB after Redis's time was `from` (ms), unless Redis holds a
 * newer one. Returns 0 when Redis now holds `version` or a newer one, -1 otherwise. */
int catalog_lease(struct ctx *ctx, int64_t version, long long from);

/* After any catalogue write (committed or not) and before its answer: leases MariaDB's version
 * now, or, if that cannot be done, waits until no lease from before the write can be left. */
void catalog_publish(struct ctx *ctx, const char *request_id);

#endif
