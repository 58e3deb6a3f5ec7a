/* health.c: GET .../health for every service: 200 when its database and Redis answer, 503 otherwise. */
#include "health.h"

#include <json-c/json.h>

#include "db.h"
#include "log.h"
#include "redis.h"
#include "request.h"
#include "response.h"
#include "ctx.h"

void health_get(struct request *req)
{
	struct ctx *ctx = req->ctx;

	if (ctx->db && db_ping(ctx->db) != 0) {
		log_msg(LOG_WARN, req->request_id, "health: database: %s", ctx->db->errstr);
		resp_unavailable(req, "database");
		return;
	}
	if (redis_ping(ctx->redis) != 0) {
		log_msg(LOG_WARN, req->request_id, "health: redis: %s", ctx->redis->errstr);
		resp_unavailable(req, "cache");
		return;
	}
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "status", json_object_new_string("ok"));
	resp_json(req, 200, o);
	json_object_put(o);
}
