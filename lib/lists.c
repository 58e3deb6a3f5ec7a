/* lists.c: pagination parameters and the list envelope shared by every collection route. */
#include "lists.h"

#include <json-c/json.h>

#include "request.h"

bool list_params_parse(const struct request *req, struct list_params *lp, struct field_errors *errs)
{
	bool ok = req_query_i64(req, "limit", 1, LIST_LIMIT_MAX, LIST_LIMIT_DEFAULT, &lp->limit, errs);
	ok = req_query_i64(req, "offset", 0, LIST_OFFSET_MAX, 0, &lp->offset, errs) && ok;
	return ok;
}

struct json_object *list_envelope(struct json_object *items, int64_t total, const struct list_params *lp)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "items", items);
	json_object_object_add(o, "total", json_object_new_int64(total));
	json_object_object_add(o, "limit", json_object_new_int64(lp->limit));
	json_object_object_add(o, "offset", json_object_new_int64(lp->offset));
	return o;
}
