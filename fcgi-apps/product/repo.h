/* repo.h: the product service's SQL (categories and products); reads return JSON ready to send. */
#ifndef STORE_PRODUCT_REPO_H
#define STORE_PRODUCT_REPO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct db_conn;
struct db_rows;
struct json_object;
struct product_cursor;

/* Every column a write sets. category_id 0 is "no category"; images/attributes are JSON text. */
struct product_in {
	const char *sku, *name, *slug, *description, *currency, *status, *images, *attributes;
	int64_t price, category_id;
};

enum product_sort { SORT_CREATED_DESC = 0, SORT_PRICE, SORT_PRICE_DESC, SORT_NAME, SORT_RATING_DESC };

struct product_filter {
	int64_t category_id;        /* 0: any; else this category and its subcategories */
	int64_t min_price, max_price; /* -1: no bound */
	const char *q;              /* NULL or "": no text search */
	const char *status;         /* NULL: any status (staff only) */
	enum product_sort sort;
	int64_t limit, offset;
	const struct product_cursor *after; /* NULL, or a keyset page: the rows after this one (offset 0) */
};

/*
 * Every write below moves the catalogue's version on in the same transaction (its own, or,
 * for the two updates, the caller's: they are called inside db_tx), so that a list or search
 * page cached under an older version is never read once the write has committed.
 * repo_catalog_version reads it (one primary-key read). Returns 0 or -1.
 */
int repo_catalog_version(struct db_conn *db, int64_t *version);

/* All categories: columns id, name, slug, parent_id, created_at, updated_at. 0 or -1.
 * `lock` takes them FOR UPDATE (inside a transaction) so a re-parenting cannot race another. */
int repo_categories_all(struct db_conn *db, bool lock, struct db_rows **out);
/* Creates a category unless `max` exist. Returns 0 with *id set, 1 when full (nothing
 * written), -1 on a database error (db->err: DB_DUPLICATE for a slug, DB_FOREIGN_KEY for
 * a parent that does not exist). */
int repo_category_insert(struct db_conn *db, const char *name, const char *slug, int64_t parent_id, int64_t max,
			 int64_t *id);
/* Returns 0 (also for an unknown id: check existence first) or -1. Inside a transaction. */
int repo_category_update(struct db_conn *db, int64_t id, const char *name, const char *slug, int64_t parent_id);
/* *deleted is 1 or 0; -1 with DB_FOREIGN_KEY while products or children refer to it. */
int repo_category_delete(struct db_conn *db, int64_t id, int *deleted);

int repo_product_insert(struct db_conn *db, const struct product_in *p, int64_t *id);
/* Inside a transaction. */
int repo_product_update(struct db_conn *db, int64_t id, const struct product_in *p);

/*
 * Reads one product as its API object (caller owns *out). `lock` adds FOR UPDATE
 * (inside a transaction). Returns 0, 1 when there is no such product, -1 on error.
 */
int repo_product_get(struct db_conn *db, int64_t id, bool lock, struct json_object **out);

/*
 * The cache version of product `id` (moved on by every change of the product, in the same
 * UPDATE) and whether it is active: one primary-key read. Returns 0 with both set, 1 when
 * there is no such product, -1 on a database error.
 */
int repo_product_version(struct db_conn *db, int64_t id, int64_t *version, bool *active);
int repo_product_by_slug(struct db_conn *db, const char *slug, struct json_object **out);

/* Sets status 'archived'. *found is 1 or 0. */
int repo_product_archive(struct db_conn *db, int64_t id, int *found);

/* One page of products (a new array in *items) and the number matching in *total. When the
 * page is full, *next (when not NULL) is the cursor of the page after it (product_cursor_encode),
 * else "". */
int repo_product_list(struct db_conn *db, const struct product_filter *f, struct json_object **items,
		      int64_t *total, char *next);

/* {id, name, price, currency, status} of each existing id among ids[0..n) (a new array). */
int repo_product_brief(struct db_conn *db, const int64_t *ids, size_t n, struct json_object **items);

/* Sets the rating aggregate. *found is 1 or 0. */
int repo_product_set_rating(struct db_conn *db, int64_t id, double avg, int64_t count, int *found);

#endif
