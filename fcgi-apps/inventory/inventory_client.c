/* inventory_client.c: GET /internal/inventory/levels?ids= as typed stock levels. */
#include "inventory_client.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "log.h"

int64_t stock_level_available(const struct stock_level *l, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].product_id == id)
			return l[i].available;
	return 0;
}

static bool get_i64(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

int inventory_client_levels(struct client *c, const char *request_id, const int64_t *ids, size_t n,
			    struct stock_level *out, size_t *found)
{
	char path[64 + 21 * INVENTORY_LEVELS_MAX];
	struct client_reply r;
	int rc = -1;

	*found = 0;
	if (n == 0)
		return 0;
	if (n > INVENTORY_LEVELS_MAX)
		return -1;
	size_t o = (size_t)snprintf(path, sizeof(path), "/internal/inventory/levels?ids=");
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(path + o, sizeof(path) - o, "%s%lld", i ? "," : "", (long long)ids[i]);
	if (client_call(c, request_id, "GET", path, NULL, &r) != 0)
		return -1;
	struct json_object *items = NULL;
	if (r.status != 200 || !json_object_object_get_ex(r.body, "items", &items) ||
	    !json_object_is_type(items, json_type_array) || json_object_array_length(items) > n) {
		log_msg(LOG_ERROR, request_id, "inventory service: unexpected answer %ld to a levels read", r.status);
		goto out;
	}
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		struct stock_level *l = &out[*found];
		if (!get_i64(it, "product_id", &l->product_id) || !get_i64(it, "available", &l->available)) {
			log_msg(LOG_ERROR, request_id, "inventory service: malformed level at index %zu", i);
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
