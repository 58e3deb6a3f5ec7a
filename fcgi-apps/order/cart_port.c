/* cart_port.c: the cart service's internal routes as the order service uses them (see cart_port.h for the contract). */
#include "cart_port.h"

#include <json-c/json.h>
#include <stdio.h>

#include "client.h"
#include "log.h"

#define CART_QTY_MAX 1000000

static bool get_i64(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *out)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	int64_t x = json_object_get_int64(v);
	if (x < min || x > max)
		return false;
	*out = x;
	return true;
}

int cart_port_read(struct client *c, const char *request_id, int64_t user_id, struct cart *out)
{
	char path[64];
	struct client_reply r;
	struct json_object *items;
	int rc = -1;

	out->n = 0;
	out->version = 0;
	snprintf(path, sizeof(path), "/internal/cart/users/%lld", (long long)user_id);
	if (client_call(c, request_id, "GET", path, NULL, &r) != 0)
		return -1;
	if (r.status == 404) { /* no cart at all: an empty one */
		rc = 0;
		goto out;
	}
	if (r.status != 200 || !get_i64(r.body, "version", 0, INT64_MAX, &out->version) ||
	    !json_object_object_get_ex(r.body, "items", &items) || !json_object_is_type(items, json_type_array) ||
	    json_object_array_length(items) > CART_LINES_MAX)
		goto bad;
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);
		struct cart_line *l = &out->lines[i];
		if (!get_i64(it, "product_id", 1, INT64_MAX, &l->product_id) ||
		    !get_i64(it, "quantity", 1, CART_QTY_MAX, &l->quantity))
			goto bad;
	}
	out->n = json_object_array_length(items);
	rc = 0;
	goto out;
bad:
	out->n = 0;
	log_msg(LOG_ERROR, request_id, "cart service: unexpected answer %ld to a cart read", r.status);
out:
	client_reply_free(&r);
	return rc;
}

struct json_object *cart_port_clear_item(int64_t user_id, int64_t version)
{
	struct json_object *item = json_object_new_object();
	json_object_object_add(item, "user_id", json_object_new_int64(user_id));
	json_object_object_add(item, "version", json_object_new_int64(version));
	return item;
}
