/* repo.c: prepared SQL for categories and products. */
#include "repo.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "validate.h"

#define PRODUCT_COLS                                                                                           \
	"p.id, p.sku, p.name, p.slug, p.description, p.price, p.currency, p.category_id, p.status, p.images, "  \
	"p.attributes, p.rating_avg, p.rating_count, " DB_TS("p.created_at") ", " DB_TS("p.updated_at")

static const char sql_cat_all[] = "SELECT id, name, slug, parent_id, " DB_TS("created_at") ", " DB_TS("updated_at")
				  " FROM categories ORDER BY name, id";
static const char sql_cat_all_lock[] = "SELECT id, name, slug, parent_id, " DB_TS("created_at") ", " DB_TS("updated_at")
				       " FROM categories ORDER BY name, id FOR UPDATE";
/* Inserts nothing when `max` categories exist. The count is a plain read (READ COMMITTED takes
 * no locks for it): concurrent creations are kept apart by the catalogue version's row, which
 * the transaction locks first (repo_category_insert), so each counts what the one before it
 * committed. */
static const char sql_cat_insert[] = "INSERT INTO categories (name, slug, parent_id) SELECT ?, ?, ? FROM DUAL "
				     "WHERE (SELECT COUNT(*) FROM categories) < ?";
static const char sql_cat_update[] = "UPDATE categories SET name = ?, slug = ?, parent_id = ? WHERE id = ?";
static const char sql_cat_delete[] = "DELETE FROM categories WHERE id = ?";

static const char sql_insert[] = "INSERT INTO products (sku, name, slug, description, price, currency, category_id, "
				 "status, images, attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/* Every UPDATE of a product moves cache_version on: the cached copy is keyed by it. */
static const char sql_update[] = "UPDATE products SET sku = ?, name = ?, slug = ?, description = ?, price = ?, "
				 "currency = ?, category_id = ?, status = ?, images = ?, attributes = ?, "
				 "cache_version = cache_version + 1 WHERE id = ?";
static const char sql_get[] = "SELECT " PRODUCT_COLS " FROM products p WHERE p.id = ?";
static const char sql_get_lock[] = "SELECT " PRODUCT_COLS " FROM products p WHERE p.id = ? FOR UPDATE";
static const char sql_by_slug[] = "SELECT " PRODUCT_COLS " FROM products p WHERE p.slug = ?";
static const char sql_archive[] =
	"UPDATE products SET status = 'archived', cache_version = cache_version + 1 WHERE id = ?";
static const char sql_rating[] =
	"UPDATE products SET rating_avg = ?, rating_count = ?, cache_version = cache_version + 1 WHERE id = ?";
static const char sql_version[] = "SELECT cache_version, status = 'active' FROM products WHERE id = ?";
static const char sql_brief[] =
	"SELECT p.id, p.name, p.price, p.currency, p.status, p.sku, JSON_VALUE(p.images, '$[0]') FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED "
	"PATH '$')) AS j JOIN products p ON p.id = j.id ORDER BY p.id";

/* The ids of a category and all its subcategories, as a JSON array (NULL for no such category). */
static const char sql_subtree[] = "WITH RECURSIVE sub (id) AS (SELECT id FROM categories WHERE id = ? UNION ALL "
				  "SELECT c.id FROM categories c JOIN sub ON c.parent_id = sub.id) "
				  "SELECT JSON_ARRAYAGG(id) FROM sub";

/* The filters of GET /products, parameters in list_params() order; "? < 0 OR" and "? = '' OR"
 * fold away at execution (MariaDB optimises a prepared statement with its parameter values
 * each time). The category subtree (ids from sql_subtree, as a JSON_TABLE) and the full-text
 * match each get statements of their own rather than an "OR": behind one, the category could
 * not become a semi-join, and a MATCH even folded away kept the optimiser from every index, so
 * each COUNT scanned the catalogue (ten times slower). */
#define FILTERS "(? < 0 OR p.price >= ?) AND (? < 0 OR p.price <= ?) AND (? = '' OR p.status = ?)"
#define IN_CATEGORY                                                                                            \
	" p.category_id IN (SELECT j.id FROM JSON_TABLE(?, '$[*]' COLUMNS (id BIGINT UNSIGNED PATH '$')) AS j) AND "
#define MATCHING " AND MATCH (p.name, p.description) AGAINST (? IN NATURAL LANGUAGE MODE)"
/* Beyond PRODUCT_COLS, what a keyset cursor needs of the last row: created_at in full. */
#define CURSOR_COLS ", DATE_FORMAT(p.created_at, '%Y-%m-%d %H:%i:%s.%f')"
#define COL_CREATED_FULL 15
#define LIST_SQL(where, match, order)                                                                          \
	"SELECT " PRODUCT_COLS CURSOR_COLS " FROM products p WHERE " where FILTERS match " ORDER BY " order       \
	" LIMIT ? OFFSET ?"
/* A keyset page: the rows after the cursor's (its values, then the id, in the sort's order). */
#define SEEK_SQL(where, match, seek, order)                                                                    \
	"SELECT " PRODUCT_COLS CURSOR_COLS " FROM products p WHERE " where FILTERS match " AND (" seek           \
	") ORDER BY " order " LIMIT ?"
#define ORDER_CREATED_DESC "p.created_at DESC, p.id DESC"
#define ORDER_PRICE "p.price, p.id"
#define ORDER_PRICE_DESC "p.price DESC, p.id DESC"
#define ORDER_NAME "p.name, p.id"
#define ORDER_RATING_DESC "p.rating_avg DESC, p.rating_count DESC, p.id DESC"
#define SEEK_CREATED_DESC "p.created_at < ? OR (p.created_at = ? AND p.id < ?)"
#define SEEK_PRICE "p.price > ? OR (p.price = ? AND p.id > ?)"
#define SEEK_PRICE_DESC "p.price < ? OR (p.price = ? AND p.id < ?)"
#define SEEK_NAME "p.name > ? OR (p.name = ? AND p.id > ?)"
#define SEEK_RATING_DESC                                                                                       \
	"p.rating_avg < ? OR (p.rating_avg = ? AND (p.rating_count < ? OR (p.rating_count = ? AND p.id < ?)))"
#define LIST_SORTS(where, match)                                                                               \
	{                                                                                                      \
		[SORT_CREATED_DESC] = LIST_SQL(where, match, ORDER_CREATED_DESC),                              \
		[SORT_PRICE] = LIST_SQL(where, match, ORDER_PRICE),                                            \
		[SORT_PRICE_DESC] = LIST_SQL(where, match, ORDER_PRICE_DESC),                                  \
		[SORT_NAME] = LIST_SQL(where, match, ORDER_NAME),                                              \
		[SORT_RATING_DESC] = LIST_SQL(where, match, ORDER_RATING_DESC),                                \
	}
#define SEEK_SORTS(where, match)                                                                               \
	{                                                                                                      \
		[SORT_CREATED_DESC] = SEEK_SQL(where, match, SEEK_CREATED_DESC, ORDER_CREATED_DESC),           \
		[SORT_PRICE] = SEEK_SQL(where, match, SEEK_PRICE, ORDER_PRICE),                                \
		[SORT_PRICE_DESC] = SEEK_SQL(where, match, SEEK_PRICE_DESC, ORDER_PRICE_DESC),                 \
		[SORT_NAME] = SEEK_SQL(where, match, SEEK_NAME, ORDER_NAME),                                   \
		[SORT_RATING_DESC] = SEEK_SQL(where, match, SEEK_RATING_DESC, ORDER_RATING_DESC),              \
	}
#define COUNT_SQL(where, match) "SELECT COUNT(*) FROM products p WHERE " where FILTERS match

/* [keyset page?][in a category subtree?][full-text search?]: the subtree's JSON comes first, the
 * words after the filters, the cursor's values after them. */
static const char *const sql_list[2][2][2][5] = {
	{{LIST_SORTS("", ""), LIST_SORTS("", MATCHING)},
	 {LIST_SORTS(IN_CATEGORY, ""), LIST_SORTS(IN_CATEGORY, MATCHING)}},
	{{SEEK_SORTS("", ""), SEEK_SORTS("", MATCHING)},
	 {SEEK_SORTS(IN_CATEGORY, ""), SEEK_SORTS(IN_CATEGORY, MATCHING)}},
};
static const char *const sql_count[2][2] = {
	{COUNT_SQL("", ""), COUNT_SQL("", MATCHING)},
	{COUNT_SQL(IN_CATEGORY, ""), COUNT_SQL(IN_CATEGORY, MATCHING)},
};

/* The catalogue's version (sql/product/003_catalog_version.sql): list and search pages are
 * cached under it (products.c), and every write below moves it on in its own transaction. */
static const char sql_catalog_version[] = "SELECT version FROM catalog_version WHERE id = 1";
static const char sql_catalog_bump[] = "UPDATE catalog_version SET version = version + 1 WHERE id = 1";
static const char sql_catalog_lock[] = "SELECT version FROM catalog_version WHERE id = 1 FOR UPDATE";

struct catalog_write {
	const char *sql;
	const struct db_val *p;
	size_t n;
	bool lock_first; /* the write reads the catalogue to decide (a count): one such write at a time */
	struct db_exec_result res; /* out: rewritten by every run */
};

static int catalog_write_tx(struct db_conn *db, void *arg)
{
	struct catalog_write *w = arg;
	struct db_rows *r;
	if (w->lock_first) {
		if (db_query(db, sql_catalog_lock, NULL, 0, &r) != 0)
			return -1;
		db_rows_free(r);
	}
	if (db_exec(db, w->sql, w->p, w->n, &w->res) != 0)
		return -1;
	return w->res.affected > 0 ? db_exec(db, sql_catalog_bump, NULL, 0, NULL) : 0;
}

/* One write of the catalogue and, when it changed a row, the move of the catalogue version,
 * in one transaction: once the write has committed, no reader can find a page cached under
 * the version before it. Returns 0 with res filled, or -1 (db->err set). */
static int catalog_exec_as(struct db_conn *db, bool lock_first, const char *sql, const struct db_val *p, size_t n,
			   struct db_exec_result *res)
{
	struct catalog_write w = {sql, p, n, lock_first, {0}};
	if (db_tx(db, catalog_write_tx, &w) != 0)
		return -1;
	if (res)
		*res = w.res;
	return 0;
}

static int catalog_exec(struct db_conn *db, const char *sql, const struct db_val *p, size_t n,
			struct db_exec_result *res)
{
	return catalog_exec_as(db, false, sql, p, n, res);
}

/* As catalog_exec for a write inside a transaction the caller runs (a patch). */
static int catalog_exec_in_tx(struct db_conn *db, const char *sql, const struct db_val *p, size_t n)
{
	if (db_exec(db, sql, p, n, NULL) != 0)
		return -1;
	return db_exec(db, sql_catalog_bump, NULL, 0, NULL);
}

int repo_catalog_version(struct db_conn *db, int64_t *version)
{
	struct db_rows *r;
	if (db_query(db, sql_catalog_version, NULL, 0, &r) != 0)
		return -1;
	int rc = r->nrows ? 0 : -1;
	if (r->nrows)
		*version = db_cell_i64(r, 0, 0, 0);
	else {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "catalog_version has no row (migration 003)");
	}
	db_rows_free(r);
	return rc;
}

static struct db_val opt_id(int64_t id)
{
	return id > 0 ? db_i64(id) : db_null();
}

int repo_categories_all(struct db_conn *db, bool lock, struct db_rows **out)
{
	return db_query(db, lock ? sql_cat_all_lock : sql_cat_all, NULL, 0, out);
}

int repo_category_insert(struct db_conn *db, const char *name, const char *slug, int64_t parent_id, int64_t max,
			 int64_t *id)
{
	struct db_val p[] = {db_str(name), db_str(slug), opt_id(parent_id), db_i64(max)};
	struct db_exec_result res;
	if (catalog_exec_as(db, true, sql_cat_insert, p, 4, &res) != 0)
		return -1;
	if (res.affected == 0)
		return 1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int repo_category_update(struct db_conn *db, int64_t id, const char *name, const char *slug, int64_t parent_id)
{
	struct db_val p[] = {db_str(name), db_str(slug), opt_id(parent_id), db_i64(id)};
	return catalog_exec_in_tx(db, sql_cat_update, p, 4);
}

/* A catalogue write whose only result is whether it found its row (*found 1 or 0). */
static int exec_found(struct db_conn *db, const char *sql, const struct db_val *p, size_t n, int *found)
{
	struct db_exec_result res;
	*found = 0;
	if (catalog_exec(db, sql, p, n, &res) != 0)
		return -1;
	*found = res.affected > 0;
	return 0;
}

int repo_category_delete(struct db_conn *db, int64_t id, int *deleted)
{
	struct db_val p[] = {db_i64(id)};
	return exec_found(db, sql_cat_delete, p, 1, deleted);
}

static void product_params(const struct product_in *in, struct db_val *p)
{
	p[0] = db_str(in->sku);
	p[1] = db_str(in->name);
	p[2] = db_str(in->slug);
	p[3] = db_str(in->description);
	p[4] = db_i64(in->price);
	p[5] = db_str(in->currency);
	p[6] = opt_id(in->category_id);
	p[7] = db_str(in->status);
	p[8] = db_str(in->images);
	p[9] = db_str(in->attributes);
}

int repo_product_insert(struct db_conn *db, const struct product_in *in, int64_t *id)
{
	struct db_val p[10];
	struct db_exec_result res;
	product_params(in, p);
	if (catalog_exec(db, sql_insert, p, 10, &res) != 0)
		return -1;
	*id = (int64_t)res.insert_id;
	return 0;
}

int repo_product_update(struct db_conn *db, int64_t id, const struct product_in *in)
{
	struct db_val p[11];
	product_params(in, p);
	p[10] = db_i64(id);
	return catalog_exec_in_tx(db, sql_update, p, 11);
}

/* A JSON column parsed back into a value; `fallback` when the text is somehow not JSON. */
static struct json_object *json_cell(const char *s, json_type want)
{
	struct json_object *o = s ? json_tokener_parse(s) : NULL;
	if (!o || !json_object_is_type(o, want)) {
		json_object_put(o);
		return want == json_type_array ? json_object_new_array() : json_object_new_object();
	}
	return o;
}

static struct json_object *product_json(const struct db_rows *r, size_t i)
{
	struct json_object *o = json_object_new_object();
	int64_t cat = db_cell_i64(r, i, 7, 0);

	json_object_object_add(o, "id", json_object_new_int64(db_cell_i64(r, i, 0, 0)));
	json_object_object_add(o, "sku", json_object_new_string(db_cell(r, i, 1)));
	json_object_object_add(o, "name", json_object_new_string(db_cell(r, i, 2)));
	json_object_object_add(o, "slug", json_object_new_string(db_cell(r, i, 3)));
	json_object_object_add(o, "description", json_object_new_string(db_cell(r, i, 4)));
	json_object_object_add(o, "price", json_object_new_int64(db_cell_i64(r, i, 5, 0)));
	json_object_object_add(o, "currency", json_object_new_string(db_cell(r, i, 6)));
	json_object_object_add(o, "category_id", cat ? json_object_new_int64(cat) : NULL);
	json_object_object_add(o, "status", json_object_new_string(db_cell(r, i, 8)));
	json_object_object_add(o, "images", json_cell(db_cell(r, i, 9), json_type_array));
	json_object_object_add(o, "attributes", json_cell(db_cell(r, i, 10), json_type_object));
	/* DECIMAL(3,2) text kept exact: "4.25" is sent as the JSON number 4.25. */
	const char *avg = db_cell(r, i, 11);
	json_object_object_add(o, "rating_avg", json_object_new_double_s(avg ? atof(avg) : 0, avg ? avg : "0"));
	json_object_object_add(o, "rating_count", json_object_new_int64(db_cell_i64(r, i, 12, 0)));
	json_object_object_add(o, "created_at", json_object_new_string(db_cell(r, i, 13)));
	json_object_object_add(o, "updated_at", json_object_new_string(db_cell(r, i, 14)));
	return o;
}

static int get_one(struct db_conn *db, const char *sql, struct db_val key, struct json_object **out)
{
	struct db_rows *r;
	*out = NULL;
	if (db_query(db, sql, &key, 1, &r) != 0)
		return -1;
	int rc = r->nrows ? 0 : 1;
	if (r->nrows)
		*out = product_json(r, 0);
	db_rows_free(r);
	return rc;
}

int repo_product_get(struct db_conn *db, int64_t id, bool lock, struct json_object **out)
{
	return get_one(db, lock ? sql_get_lock : sql_get, db_i64(id), out);
}

int repo_product_by_slug(struct db_conn *db, const char *slug, struct json_object **out)
{
	return get_one(db, sql_by_slug, db_str(slug), out);
}

int repo_product_archive(struct db_conn *db, int64_t id, int *found)
{
	struct db_val p[] = {db_i64(id)};
	return exec_found(db, sql_archive, p, 1, found);
}

/* Fills the parameters in statement order: the category subtree (when `cats`), the six of
 * FILTERS, the search words (when any). Returns how many it filled. */
static size_t list_params(const struct product_filter *f, const char *cats, struct db_val *p)
{
	const char *status = f->status ? f->status : "";
	size_t n = 0;
	if (cats)
		p[n++] = db_str(cats);
	p[n++] = db_i64(f->min_price);
	p[n++] = db_i64(f->min_price);
	p[n++] = db_i64(f->max_price);
	p[n++] = db_i64(f->max_price);
	p[n++] = db_str(status);
	p[n++] = db_str(status);
	if (f->q && *f->q)
		p[n++] = db_str(f->q);
	return n;
}

/* The cursor's values in SEEK_<sort>'s order. Returns how many it filled. */
static size_t seek_params(const struct product_cursor *c, struct db_val *p)
{
	switch (c->sort) {
	case SORT_PRICE:
	case SORT_PRICE_DESC:
		p[0] = db_i64(c->num), p[1] = db_i64(c->num), p[2] = db_i64(c->id);
		return 3;
	case SORT_RATING_DESC:
		p[0] = db_str(c->text), p[1] = db_str(c->text);
		p[2] = db_i64(c->num), p[3] = db_i64(c->num), p[4] = db_i64(c->id);
		return 5;
	default: /* name, created_at */
		p[0] = db_str(c->text), p[1] = db_str(c->text), p[2] = db_i64(c->id);
		return 3;
	}
}

/* The cursor after the last row of a page, into next[CURSOR_MAX + 1]. */
static bool last_row_cursor(const struct db_rows *r, enum product_sort sort, char *next)
{
	size_t last = r->nrows - 1;
	struct product_cursor c = {.sort = (int)sort, .id = db_cell_i64(r, last, 0, 0)};
	const char *text = NULL;
	switch (sort) {
	case SORT_PRICE:
	case SORT_PRICE_DESC:
		c.num = db_cell_i64(r, last, 5, 0);
		break;
	case SORT_NAME:
		text = db_cell(r, last, 2);
		break;
	case SORT_CREATED_DESC:
		text = db_cell(r, last, COL_CREATED_FULL);
		break;
	case SORT_RATING_DESC:
		text = db_cell(r, last, 11);
		c.num = db_cell_i64(r, last, 12, 0);
		break;
	}
	if (text)
		snprintf(c.text, sizeof(c.text), "%s", text);
	return product_cursor_encode(&c, next);
}

int repo_product_list(struct db_conn *db, const struct product_filter *f, struct json_object **items,
		      int64_t *total, char *next)
{
	struct db_val p[16];
	struct db_rows *r;
	char *cats = NULL;
	int rc = -1;

	*items = NULL;
	if (f->category_id) {
		struct db_val c[] = {db_i64(f->category_id)};
		if (db_query(db, sql_subtree, c, 1, &r) != 0)
			return -1;
		const char *json = db_cell(r, 0, 0);
		cats = strdup(json ? json : "[]"); /* an unknown category has no products */
		db_rows_free(r);
		if (!cats)
			return -1;
	}
	size_t n = list_params(f, cats, p);
	bool words = f->q && *f->q, seek = f->after != NULL;
	if (db_query(db, sql_count[cats != NULL][words], p, n, &r) != 0)
		goto out;
	*total = db_cell_i64(r, 0, 0, 0);
	db_rows_free(r);
	if (seek)
		n += seek_params(f->after, p + n);
	p[n++] = db_i64(f->limit);
	if (!seek)
		p[n++] = db_i64(f->offset);
	if (db_query(db, sql_list[seek][cats != NULL][words][f->sort], p, n, &r) != 0)
		goto out;
	*items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++)
		json_object_array_add(*items, product_json(r, i));
	if (next) {
		next[0] = '\0';
		if (r->nrows > 0 && (int64_t)r->nrows == f->limit && !last_row_cursor(r, f->sort, next)) {
			db->err = DB_ERROR;
			snprintf(db->errstr, sizeof(db->errstr), "the next page's cursor does not fit");
			db_rows_free(r);
			json_object_put(*items);
			*items = NULL;
			goto out;
		}
	}
	db_rows_free(r);
	rc = 0;
out:
	free(cats);
	return rc;
}

int repo_product_brief(struct db_conn *db, const int64_t *ids, size_t n, struct json_object **items)
{
	char list[24 * 100 + 4];
	struct db_rows *r;

	*items = NULL;
	if (!db_json_ids(ids, n, list, sizeof(list)))
		return -1;
	struct db_val p[] = {db_str(list)};
	if (db_query(db, sql_brief, p, 1, &r) != 0)
		return -1;
	*items = json_object_new_array_ext((int)r->nrows);
	for (size_t i = 0; i < r->nrows; i++) {
		struct json_object *o2 = json_object_new_object();
		json_object_object_add(o2, "id", json_object_new_int64(db_cell_i64(r, i, 0, 0)));
		json_object_object_add(o2, "name", json_object_new_string(db_cell(r, i, 1)));
		json_object_object_add(o2, "price", json_object_new_int64(db_cell_i64(r, i, 2, 0)));
		json_object_object_add(o2, "currency", json_object_new_string(db_cell(r, i, 3)));
		json_object_object_add(o2, "status", json_object_new_string(db_cell(r, i, 4)));
		json_object_object_add(o2, "sku", json_object_new_string(db_cell(r, i, 5)));
		const char *img = db_cell(r, i, 6);
		json_object_object_add(o2, "image", img ? json_object_new_string(img) : NULL);
		json_object_array_add(*items, o2);
	}
	db_rows_free(r);
	return 0;
}

int repo_product_version(struct db_conn *db, int64_t id, int64_t *version, bool *active)
{
	struct db_val key = db_i64(id);
	struct db_rows *r;

	if (db_query(db, sql_version, &key, 1, &r) != 0)
		return -1;
	int rc = r->nrows ? 0 : 1;
	if (r->nrows) {
		*version = db_cell_i64(r, 0, 0, 0);
		*active = db_cell_i64(r, 0, 1, 0) != 0;
	}
	db_rows_free(r);
	return rc;
}

int repo_product_set_rating(struct db_conn *db, int64_t id, double avg, int64_t count, int *found)
{
	char s[16];
	snprintf(s, sizeof(s), "%.2f", avg);
	struct db_val p[] = {db_str(s), db_i64(count), db_i64(id)};
	return exec_found(db, sql_rating, p, 3, found);
}
