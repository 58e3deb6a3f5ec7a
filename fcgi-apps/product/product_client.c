/* product_client.c: GET /internal/product/products?ids= as typed briefs. */
#include "product_client.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"

bool product_brief_active(const struct product_brief *b)
{
	return strcmp(b->status, "active") == 0;
}

const struct product_brief *product_brief_find(const struct product_brief *b, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (b[i].id == id)
			return &b[i];
	return NULL;
}

/* Copies a string member into dst; false when it is missing, not a string or too long. */
int product_client_briefs(struct client *c, const char *request_id, const int64_t *ids, size_t n,
			  struct product_brief *out, size_t *found)
{
	char path[64 + 21 * PRODUCT_BRIEF_MAX];
	struct client_reply r;
	int rc = -1;

	*found = 0;
	if (n == 0)
		return 0;
	if (n > PRODUCT_BRIEF_MAX)
		return -1;
	if (!client_path_ids(path, sizeof(path), "/internal/product/products?ids=", ids, n) ||
	    client_call(c, request_id, "GET", path, NULL, &r) != 0)
		return -1;
	struct json_object *items = NULL;
	if (r.status != 200 || !json_object_object_get_ex(r.body, "items", &items) ||
	    !json_object_is_type(items, json_type_array) || json_object_array_length(items) > n) {
		log_msg(LOG_ERROR, request_id, "product service: unexpected answer %ld to a brief read", r.status);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		struct product_brief *b = &out[*found];
		if (!client_json_i64(it, "id", &b->id) || !client_json_i64(it, "price", &b->price) ||
		    !client_json_str(it, "name", b->name, sizeof(b->name), false) ||
		    !client_json_str(it, "sku", b->sku, sizeof(b->sku), false) ||
		    !client_json_str(it, "image", b->image, sizeof(b->image), true) ||
		    !client_json_str(it, "currency", b->currency, sizeof(b->currency), false) ||
		    !client_json_str(it, "status", b->status, sizeof(b->status), false)) {
			log_msg(LOG_ERROR, request_id, "product service: malformed brief at index %zu", i);
			*found = 0;
			goto out;
		}
		(*found)++;
	}
	rc = 0;
out:
	client_reply_free(&r);
	return rc;
}
