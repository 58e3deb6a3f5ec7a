/* order_port.c: GET /internal/order/orders/{id} as a typed brief. */
#include "order_port.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "log.h"

int order_port_get(struct client *c, const char *request_id, int64_t id, struct order_brief *out)
{
	char path[64];
	struct client_reply r;
	int rc = -1;

	snprintf(path, sizeof(path), "/internal/order/orders/%lld", (long long)id);
	if (client_call(c, request_id, "GET", path, NULL, &r) != 0)
		return -1;
	if (r.status == 404) {
		rc = 1;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if (r.status != 200 || !client_json_i64(r.body, "id", &out->id) || !client_json_i64(r.body, "user_id", &out->user_id) ||
	    !client_json_i64(r.body, "total", &out->total) || !client_json_str(r.body, "currency", out->currency, sizeof(out->currency), false) ||
	    !client_json_str(r.body, "status", out->status, sizeof(out->status), false)) {
		log_msg(LOG_ERROR, request_id, "order service: unexpected answer %ld to an order read", r.status);
		goto out;
	}
	rc = 0;
out:
	client_reply_free(&r);
	return rc;
}
