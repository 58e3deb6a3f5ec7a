/* order_port.c: GET /internal/order/users/{user_id}/delivered/{product_id} as yes / no / unavailable. */
#include "order_port.h"

#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "log.h"

enum order_delivered order_port_delivered(struct client *c, const char *request_id, int64_t user_id,
					  int64_t product_id)
{
	char path[96];
	struct client_reply r;
	struct json_object *v;
	int64_t uid = 0, pid = 0;
	enum order_delivered rc = ORDER_DELIVERED_UNAVAILABLE;

	snprintf(path, sizeof(path), "/internal/order/users/%lld/delivered/%lld", (long long)user_id,
		 (long long)product_id);
	if (client_call(c, request_id, "GET", path, NULL, &r) != 0)
		return ORDER_DELIVERED_UNAVAILABLE;
	if (r.status != 200 || !client_json_i64(r.body, "user_id", &uid) || !client_json_i64(r.body, "product_id", &pid) ||
	    uid != user_id || pid != product_id || !json_object_object_get_ex(r.body, "delivered", &v) ||
	    !json_object_is_type(v, json_type_boolean)) {
		log_msg(LOG_ERROR, request_id, "order service: unexpected answer %ld to a delivered check", r.status);
		goto out;
	}
	rc = json_object_get_boolean(v) ? ORDER_DELIVERED_YES : ORDER_DELIVERED_NO;
out:
	client_reply_free(&r);
	return rc;
}
