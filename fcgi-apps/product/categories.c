/* categories.c: the category tree: read by anyone, changed by staff; no cycles, no orphans. */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catalog.h"
#include "db.h"
#include "field.h"
#include "handlers.h"
#include "log.h"
#include "parse.h"
#include "problem.h"
#include "repo.h"
#include "request.h"
#include "response.h"
#include "ctx.h"
#include "validate.h"

#define CATEGORY_NAME_MAX 100
/* The tree is answered whole (and read whole to check re-parenting): a bound keeps that one
 * answer's size and time bounded. docs/API.md states it. */
#define CATEGORIES_MAX 2000

/* Builds every node (with an empty children list) and links children to parents.
 * Returns the array of nodes indexed like `r`'s rows; nodes[i] is borrowed from the tree. */
static struct json_object **build_nodes(const struct db_rows *r)
{
	struct json_object **nodes = calloc(r->nrows ? r->nrows : 1, sizeof(*nodes));
	if (!nodes)
		return NULL;
	for (size_t i = 0; i < r->nrows; i++) {
		struct json_object *o = json_object_new_object();
		int64_t parent = db_cell_i64(r, i, 3, 0);
		json_object_object_add(o, "id", json_object_new_int64(db_cell_i64(r, i, 0, 0)));
		json_object_object_add(o, "name", json_object_new_string(db_cell(r, i, 1)));
		json_object_object_add(o, "slug", json_object_new_string(db_cell(r, i, 2)));
		json_object_object_add(o, "parent_id", parent ? json_object_new_int64(parent) : NULL);
		json_object_object_add(o, "created_at", json_object_new_string(db_cell(r, i, 4)));
		json_object_object_add(o, "updated_at", json_object_new_string(db_cell(r, i, 5)));
		json_object_object_add(o, "children", json_object_new_array());
		nodes[i] = o;
	}
	return nodes;
}

static size_t find_row(const struct db_rows *r, int64_t id)
{
	for (size_t i = 0; i < r->nrows; i++)
		if (db_cell_i64(r, i, 0, 0) == id)
			return i;
	return (size_t)-1;
}

/* Row of each id by open addressing (at most half full), so that linking n categories is
 * O(n), not n scans of every row. */
struct row_index {
	size_t mask;
	int64_t *ids; /* 0: empty slot (ids start at 1) */
	size_t *rows;
};

static size_t slot_of(const struct row_index *ix, int64_t id)
{
	return (size_t)((uint64_t)id * 0x9E3779B97F4A7C15ULL) & ix->mask;
}

/* Fills `ix` from `r`'s id column. Returns false (ix empty) when out of memory. */
static bool index_build(const struct db_rows *r, struct row_index *ix)
{
	size_t cap = 16;
	while (cap < r->nrows * 2)
		cap *= 2;
	ix->mask = cap - 1;
	ix->ids = calloc(cap, sizeof(*ix->ids));
	ix->rows = calloc(cap, sizeof(*ix->rows));
	if (!ix->ids || !ix->rows) {
		free(ix->ids);
		free(ix->rows);
		ix->ids = NULL;
		ix->rows = NULL;
		return false;
	}
	for (size_t i = 0; i < r->nrows; i++) {
		int64_t id = db_cell_i64(r, i, 0, 0);
		if (id <= 0)
			continue;
		size_t s = slot_of(ix, id);
		while (ix->ids[s] && ix->ids[s] != id)
			s = (s + 1) & ix->mask;
		ix->ids[s] = id;
		ix->rows[s] = i;
	}
	return true;
}

static size_t index_find(const struct row_index *ix, int64_t id)
{
	if (id <= 0)
		return (size_t)-1;
	for (size_t s = slot_of(ix, id); ix->ids[s]; s = (s + 1) & ix->mask)
		if (ix->ids[s] == id)
			return ix->rows[s];
	return (size_t)-1;
}

static void index_free(struct row_index *ix)
{
	free(ix->ids);
	free(ix->rows);
}

/* Links each node under its parent; returns the roots (a new array), or NULL when out of
 * memory (then the nodes are released). Takes the nodes' references. */
static struct json_object *link_tree(const struct db_rows *r, struct json_object **nodes)
{
	struct row_index ix;
	if (!index_build(r, &ix)) {
		for (size_t i = 0; i < r->nrows; i++)
			json_object_put(nodes[i]);
		return NULL;
	}
	struct json_object *roots = json_object_new_array();
	for (size_t i = 0; i < r->nrows; i++) {
		size_t p = index_find(&ix, db_cell_i64(r, i, 3, 0));
		if (p == (size_t)-1)
			json_object_array_add(roots, nodes[i]);
		else
			json_object_array_add(json_object_object_get(nodes[p], "children"), nodes[i]);
	}
	index_free(&ix);
	return roots;
}

void categories_list(struct request *req)
{
	struct db_rows *r;

	/* No query parameters: the route table declares none, and the router refuses any. */
	if (repo_categories_all(req->ctx->db, false, &r) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	struct json_object **nodes = build_nodes(r);
	struct json_object *items = nodes ? link_tree(r, nodes) : NULL;
	if (!items) {
		resp_problem(req, 500, "internal", "The category tree could not be built.");
	} else {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "items", items);
		json_object_object_add(o, "total", json_object_new_int64((int64_t)r->nrows));
		resp_json(req, 200, o);
		json_object_put(o);
	}
	free(nodes);
	db_rows_free(r);
}

void categories_get(struct request *req)
{
	struct db_rows *r;
	int64_t id;
	size_t row;

	if (!req_path_id(req, "id", &id)) {
		resp_problem(req, 404, "not_found", "No such category.");
		return;
	}
	if (repo_categories_all(req->ctx->db, false, &r) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	row = find_row(r, id);
	struct json_object **nodes = row == (size_t)-1 ? NULL : build_nodes(r);
	if (!nodes) {
		resp_problem(req, 404, "not_found", "No such category.");
		db_rows_free(r);
		return;
	}
	struct json_object *node = json_object_get(nodes[row]);
	json_object_put(link_tree(r, nodes));
	resp_json(req, 200, node);
	json_object_put(node);
	free(nodes);
	db_rows_free(r);
}

/* Name, slug and parent_id of a create or patch body; `slug` gets the derived slug when needed. */
struct cat_in {
	const char *name, *slug;
	char derived[SLUG_MAX + 1];
	int64_t parent_id; /* 0: root */
	bool has_name, has_slug, has_parent;
};

static bool parse_category(struct json_object *body, bool create, struct cat_in *in, struct field_errors *errs)
{
	static const char *const allowed[] = {"name", "slug", "parent_id", NULL};

	field_only(body, allowed, errs);
	in->has_name = field_string(body, "name", create, 1, CATEGORY_NAME_MAX, false, &in->name, errs) == FIELD_OK;
	in->has_slug = field_string(body, "slug", false, 1, SLUG_MAX, false, &in->slug, errs) == FIELD_OK;
	if (in->has_slug && !slug_valid(in->slug, SLUG_MAX))
		problem_add(errs, "slug", "must be lower-case letters, digits and single inner hyphens");
	in->has_parent = json_object_object_get_ex(body, "parent_id", NULL);
	if (in->has_parent && !field_is_null(body, "parent_id"))
		field_i64(body, "parent_id", false, 1, ID_MAX, &in->parent_id, errs);
	if (!create && !in->has_name && !in->has_slug && !in->has_parent && !errs->n)
		problem_add(errs, "", "give name, slug or parent_id");
	/* Derived on creation only: renaming keeps the slug, so links keep working (as for products). */
	if (create && in->has_name && !in->has_slug) {
		if (slugify(in->name, in->derived, SLUG_MAX))
			in->slug = in->derived;
		else
			problem_add(errs, "slug", "is required: the name has no letters or digits to derive it from");
	}
	return errs->n == 0;
}

static void answer_write_error(struct request *req)
{
	struct db_conn *db = req->ctx->db;
	struct field_errors errs = {0};

	if (db->err == DB_DUPLICATE) {
		resp_problem(req, 409, "slug_taken", "Another category already has this slug.");
	} else if (db->err == DB_FOREIGN_KEY) {
		problem_add(&errs, "parent_id", "no such category");
		resp_invalid(req, &errs);
	} else {
		resp_db_error(req, db);
	}
}

/* Answers the category `id` (after a write) from a fresh read. */
static void answer_category(struct request *req, int status, int64_t id)
{
	struct db_rows *r;
	if (repo_categories_all(req->ctx->db, false, &r) != 0) {
		resp_db_error(req, req->ctx->db);
		return;
	}
	size_t row = find_row(r, id);
	struct json_object **nodes = row == (size_t)-1 ? NULL : build_nodes(r);
	if (!nodes) {
		resp_problem(req, 404, "not_found", "No such category.");
	} else {
		struct json_object *node = json_object_get(nodes[row]);
		json_object_put(link_tree(r, nodes));
		resp_json(req, status, node);
		json_object_put(node);
	}
	free(nodes);
	db_rows_free(r);
}

void categories_create(struct request *req)
{
	struct json_object *body = req_json_body(req, 0);
	struct field_errors errs = {0};
	struct cat_in in = {0};
	int64_t id;

	if (!body)
		return;
	if (!parse_category(body, true, &in, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	int rc = repo_category_insert(req->ctx->db, in.name, in.slug, in.parent_id, CATEGORIES_MAX, &id);
	catalog_publish(req->ctx, req->request_id); /* before any answer: catalog.h */
	if (rc < 0) {
		answer_write_error(req);
		return;
	}
	if (rc == 1) {
		resp_problemf(req, 409, "too_many_categories", "The catalogue already has the maximum of %d categories.",
			      CATEGORIES_MAX);
		return;
	}
	char location[64];
	snprintf(location, sizeof(location), "/api/v1/categories/%lld", (long long)id);
	resp_header(req, "Location", location);
	answer_category(req, 201, id);
}

struct cat_patch {
	int64_t id;
	struct cat_in *in;
};

/* Inside a transaction with every category locked: applies a patch unless it would make a cycle.
 * Returns 0, -1 (database), 404 or 409 (a cycle). */
static int patch_tx(struct db_conn *db, void *arg)
{
	struct cat_patch *cp = arg;
	struct db_rows *r;
	int rc = -1;

	if (repo_categories_all(db, true, &r) != 0)
		return -1;
	size_t row = find_row(r, cp->id);
	if (row == (size_t)-1) {
		rc = 404;
		goto out;
	}
	int64_t parent = cp->in->has_parent ? cp->in->parent_id : db_cell_i64(r, row, 3, 0);
	struct row_index ix;
	if (!index_build(r, &ix)) {
		db->err = DB_ERROR;
		snprintf(db->errstr, sizeof(db->errstr), "out of memory indexing categories");
		goto out;
	}
	/* Walk up from the new parent: meeting the category itself means a cycle. */
	for (int64_t at = parent, steps = 0; at && steps <= (int64_t)r->nrows; steps++) {
		if (at == cp->id) {
			index_free(&ix);
			rc = 409;
			goto out;
		}
		size_t k = index_find(&ix, at);
		at = k == (size_t)-1 ? 0 : db_cell_i64(r, k, 3, 0);
	}
	index_free(&ix);
	const char *name = cp->in->has_name ? cp->in->name : db_cell(r, row, 1);
	const char *slug = cp->in->slug ? cp->in->slug : db_cell(r, row, 2);
	rc = repo_category_update(db, cp->id, name, slug, parent);
out:
	db_rows_free(r);
	return rc;
}

void categories_patch(struct request *req)
{
	struct json_object *body;
	struct field_errors errs = {0};
	struct cat_in in = {0};
	struct cat_patch cp = {.in = &in};

	if (!req_path_id(req, "id", &cp.id)) {
		resp_problem(req, 404, "not_found", "No such category.");
		return;
	}
	if (!(body = req_json_body(req, 0)))
		return;
	if (!parse_category(body, false, &in, &errs)) {
		resp_invalid(req, &errs);
		return;
	}
	int rc = db_tx(req->ctx->db, patch_tx, &cp);
	catalog_publish(req->ctx, req->request_id); /* before any answer: catalog.h */
	if (rc != 0) {
		if (rc == 404)
			resp_problem(req, 404, "not_found", "No such category.");
		else if (rc == 409)
			resp_problem(req, 409, "category_cycle", "A category cannot be placed under itself or its own subcategory.");
		else
			answer_write_error(req);
		return;
	}
	answer_category(req, 200, cp.id);
}

void categories_delete(struct request *req)
{
	int64_t id;
	int deleted = 0;

	if (!req_path_id(req, "id", &id)) {
		resp_problem(req, 404, "not_found", "No such category.");
		return;
	}
	int rc = repo_category_delete(req->ctx->db, id, &deleted);
	catalog_publish(req->ctx, req->request_id); /* before any answer: catalog.h */
	if (rc != 0) {
		if (req->ctx->db->err == DB_FOREIGN_KEY)
			resp_problem(req, 409, "category_in_use", "The category still has products or subcategories.");
		else
			resp_db_error(req, req->ctx->db);
		return;
	}
	if (!deleted) {
		resp_problem(req, 404, "not_found", "No such category.");
		return;
	}
	resp_empty(req, 204);
}
