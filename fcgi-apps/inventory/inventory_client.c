/* inventory_client.c: the inventory service's typed client: stock levels (carts), reservations (orders). */
#include "inventory_client.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"

int64_t stock_level_available(const struct stock_level *l, size_t n, int64_t id)
{
	for (size_t i = 0; i < n; i++)
		if (l[i].product_id == id)
			return l[i].available;
	return 0;
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
	if (!client_path_ids(path, sizeof(path), "/internal/inventory/levels?ids=", ids, n) ||
	    client_call(c, request_id, "GET", path, NULL, &r) != 0)
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
		if (!client_json_i64(it, "product_id", &l->product_id) || !client_json_i64(it, "available", &l->available)) {
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

bool inventory_reservation_path(char *buf, size_t len, const char *ref, const char *action)
{
	int n = action ? snprintf(buf, len, "/internal/inventory/reservations/%s/%s", ref, action)
		       : snprintf(buf, len, "/internal/inventory/reservations/%s", ref);
	return n > 0 && (size_t)n < len;
}

struct json_object *inventory_finish_item(const char *ref, const char *action)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "order_ref", json_object_new_string(ref));
	json_object_object_add(o, "action", json_object_new_string(action));
	return o;
}

/* The 409's items as shortages; false when the list is malformed. */
static bool read_shorts(struct json_object *problem, struct reserve_short *shorts, size_t *nshort)
{
	struct json_object *items;
	if (!json_object_object_get_ex(problem, "items", &items) || !json_object_is_type(items, json_type_array) ||
	    json_object_array_length(items) == 0 || json_object_array_length(items) > INVENTORY_ITEMS_MAX)
		return false;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		struct reserve_short *s = &shorts[i];
		if (!client_json_i64(it, "product_id", &s->product_id) || !client_json_i64(it, "requested", &s->requested) ||
		    !client_json_i64(it, "available", &s->available))
			return false;
	}
	*nshort = json_object_array_length(items);
	return true;
}

int inventory_client_reserve(struct client *c, const char *request_id, const char *ref,
			     const struct reserve_item *items, size_t n, long ttl, struct reserve_short *shorts,
			     size_t *nshort)
{
	struct json_object *body = json_object_new_object(), *list = json_object_new_array_ext((int)n), *st;
	struct client_reply r = {0};
	int rc = -1;

	*nshort = 0;
	json_object_object_add(body, "order_ref", json_object_new_string(ref));
	json_object_object_add(body, "ttl_seconds", json_object_new_int64(ttl));
	for (size_t i = 0; i < n; i++) {
		struct json_object *it = json_object_new_object();
		json_object_object_add(it, "product_id", json_object_new_int64(items[i].product_id));
		json_object_object_add(it, "quantity", json_object_new_int64(items[i].quantity));
		json_object_array_add(list, it);
	}
	json_object_object_add(body, "items", list);
	if (client_call(c, request_id, "POST", "/internal/inventory/reservations", body, &r) != 0)
		goto out;
	if (r.status == 409 && read_shorts(r.body, shorts, nshort)) {
		rc = 1;
		goto out;
	}
	/* 200 (held by an earlier call) must still be active: a released or expired one holds nothing. */
	if ((r.status == 200 || r.status == 201) && json_object_object_get_ex(r.body, "status", &st) &&
	    json_object_is_type(st, json_type_string) && strcmp(json_object_get_string(st), "active") == 0) {
		rc = 0;
		goto out;
	}
	log_msg(LOG_ERROR, request_id, "inventory service: answer %ld to the reservation %s", r.status, ref);
out:
	client_reply_free(&r);
	json_object_put(body);
	return rc;
}

int inventory_client_release(struct client *c, const char *request_id, const char *ref)
{
	char path[128];
	struct client_reply r;

	if (!inventory_reservation_path(path, sizeof(path), ref, "release"))
		return -1;
	if (client_call(c, request_id, "POST", path, NULL, &r) != 0)
		return -1;
	long status = r.status;
	client_reply_free(&r);
	if (status == 200 || status == 404)
		return 0;
	log_msg(LOG_ERROR, request_id, "inventory service: answer %ld to the release of %s", status, ref);
	return -1;
}
