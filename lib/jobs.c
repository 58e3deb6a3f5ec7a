/* jobs.c: building, validating and enqueuing e-mail jobs on the Redis stream. */
#include "jobs.h"

#include <json-c/json.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "redis.h"

const char *const jobs_types[] = {"welcome",	   "password_changed", "order_placed",	   "order_paid",
				  "order_shipped",  "order_cancelled",	"order_refunded",   "payment_failed",
				  "payment_refunded", "refund_issued",	"low_stock",	    NULL};

bool jobs_type_valid(const char *type)
{
	for (const char *const *t = jobs_types; type && *t; t++)
		if (strcmp(*t, type) == 0)
			return true;
	return false;
}

static bool recipient_valid(const char *r)
{
	size_t n = r ? strlen(r) : 0;
	const char *at = r ? strchr(r, '@') : NULL;

	if (n < 3 || n > 254 || !at || at == r || !at[1] || strchr(at + 1, '@'))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)r[i] <= ' ' || r[i] == '<' || r[i] == '>' || r[i] == ',' || r[i] == 0x7f)
			return false; /* header injection and address lists stop here */
	return true;
}

static bool data_valid(struct json_object *data, char *why, size_t whylen)
{
	if (!json_object_is_type(data, json_type_object)) {
		snprintf(why, whylen, "data must be an object");
		return false;
	}
	json_object_object_foreach(data, key, val)
	{
		if (!json_object_is_type(val, json_type_string) && !json_object_is_type(val, json_type_int)) {
			snprintf(why, whylen, "data.%.60s must be a string or an integer", key);
			return false;
		}
	}
	return true;
}

static const char *str_member(struct json_object *o, const char *key)
{
	struct json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool jobs_valid(struct json_object *job, char *why, size_t whylen)
{
	struct json_object *v, *data;
	const char *s;

	if (!json_object_is_type(job, json_type_object)) {
		snprintf(why, whylen, "job is not a JSON object");
		return false;
	}
	if (!json_object_object_get_ex(job, "v", &v) || !json_object_is_type(v, json_type_int) ||
	    json_object_get_int(v) != JOBS_VERSION) {
		snprintf(why, whylen, "unsupported job version");
		return false;
	}
	s = str_member(job, "id");
	/* Hex only: the id goes into a Message-ID header and a Redis key. */
	if (!s || strlen(s) != JOBS_ID_LEN || strspn(s, "0123456789abcdef") != JOBS_ID_LEN) {
		snprintf(why, whylen, "missing or malformed id");
		return false;
	}
	if (!jobs_type_valid(str_member(job, "type"))) {
		snprintf(why, whylen, "unknown job type");
		return false;
	}
	if (!recipient_valid(str_member(job, "recipient"))) {
		snprintf(why, whylen, "missing or invalid recipient");
		return false;
	}
	if (!str_member(job, "request_id") || !str_member(job, "created_at")) {
		snprintf(why, whylen, "missing request_id or created_at");
		return false;
	}
	if (!json_object_object_get_ex(job, "data", &data))
		data = NULL;
	return data_valid(data, why, whylen);
}

struct json_object *jobs_build(const char *type, const char *recipient, struct json_object *data,
			       const char *request_id)
{
	unsigned char raw[JOBS_ID_LEN / 2];
	char id[JOBS_ID_LEN + 1], ts[32], why[128];
	struct tm tm;
	time_t now = time(NULL);

	if (!jobs_type_valid(type) || !recipient_valid(recipient) || !data_valid(data, why, sizeof(why)) ||
	    !request_id || strlen(request_id) > 64)
		return NULL;
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

	struct json_object *copy = NULL;
	if (json_object_deep_copy(data, &copy, NULL) != 0)
		return NULL;
	struct json_object *job = json_object_new_object();
	json_object_object_add(job, "v", json_object_new_int(JOBS_VERSION));
	json_object_object_add(job, "id", json_object_new_string(id));
	json_object_object_add(job, "type", json_object_new_string(type));
	json_object_object_add(job, "recipient", json_object_new_string(recipient));
	json_object_object_add(job, "data", copy);
	json_object_object_add(job, "request_id", json_object_new_string(request_id));
	json_object_object_add(job, "created_at", json_object_new_string(ts));
	return job;
}

int jobs_add_doc(struct redis_conn *r, const char *stream, const char *doc)
{
	/* MAXLEN ~ keeps a worker outage from filling Redis; a million jobs is far past any backlog we expect. */
	redisReply *rep = redis_cmd(r, "XADD %s MAXLEN ~ 1000000 * job %s", stream, doc);
	int rc = rep && rep->type == REDIS_REPLY_STRING ? 0 : -1;
	if (rep)
		freeReplyObject(rep);
	return rc;
}
