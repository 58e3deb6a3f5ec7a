/* user_client.c: GET /internal/user/users/{id} as a typed brief. */
#include "user_client.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "ctx.h"
#include "log.h"
#include "request.h"
#include "session.h"

int user_client_get(struct client *c, const char *request_id, int64_t id, struct user_brief *out)
{
	char path[64];
	struct client_reply r;
	struct json_object *v;
	int rc = -1;

	snprintf(path, sizeof(path), "/internal/user/users/%lld", (long long)id);
	if (client_call(c, request_id, "GET", path, NULL, &r) != 0)
		return -1;
	if (r.status == 404) {
		rc = 1;
		goto out;
	}
	memset(out, 0, sizeof(*out));
	if (r.status != 200 || !json_object_object_get_ex(r.body, "id", &v) || !json_object_is_type(v, json_type_int) ||
	    !client_json_str(r.body, "email", out->email, sizeof(out->email), false) ||
	    !client_json_str(r.body, "name", out->name, sizeof(out->name), false)) {
		log_msg(LOG_ERROR, request_id, "user service: unexpected answer %ld to a user read", r.status);
		goto out;
	}
	out->id = json_object_get_int64(json_object_object_get(r.body, "id"));
	rc = 0;
out:
	client_reply_free(&r);
	return rc;
}

int user_client_caller(struct request *req, struct user_brief *out)
{
	_Static_assert(sizeof(req->contact.email) == sizeof(out->email) && sizeof(req->contact.name) == sizeof(out->name),
		       "a session's contact fits a user brief");
	if (req->has_contact) { /* read with the session by auth_require */
		out->id = req->user_id;
		memcpy(out->email, req->contact.email, sizeof(out->email));
		memcpy(out->name, req->contact.name, sizeof(out->name));
		return 0;
	}
	return user_client_get(req->ctx->client, req->request_id, req->user_id, out);
}
