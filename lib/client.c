/* client.c: service-to-service HTTP through the internal listener, with one kept-alive libcurl handle. */
#include "client.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"

#define CLIENT_MAX_REPLY (4u << 20)
#define CLIENT_URL_MAX 4096

struct client {
	const struct store_config *cfg;
	const char *caller;
	CURL *curl;
	long connects;
	/* The answer being read. */
	char *buf;
	size_t len, cap;
	bool too_big;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct client *c = arg;
	size_t n = size * nmemb;
	if (c->len + n > CLIENT_MAX_REPLY) {
		c->too_big = true;
		return 0; /* refuse absurd answers rather than grow without bound */
	}
	if (c->len + n + 1 > c->cap) {
		size_t ncap = c->cap ? c->cap : 4096;
		while (ncap < c->len + n + 1)
			ncap *= 2;
		char *p = realloc(c->buf, ncap);
		if (!p)
			return 0;
		c->buf = p;
		c->cap = ncap;
	}
	memcpy(c->buf + c->len, data, n);
	c->len += n;
	c->buf[c->len] = '\0';
	return n;
}

struct client *client_new(const struct store_config *cfg, const char *caller)
{
	struct client *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = cfg;
	c->caller = caller ? caller : "unknown";
	return c;
}

void client_free(struct client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c->buf);
	free(c);
}

long client_connects(const struct client *c)
{
	return c ? c->connects : 0;
}

void client_reply_free(struct client_reply *r)
{
	if (!r)
		return;
	json_object_put(r->body);
	r->body = NULL;
	r->status = 0;
}

/* Appends a header line; false when the list could not grow (the old list is kept in *h). */
static bool add_header(struct curl_slist **h, const char *line)
{
	struct curl_slist *n = curl_slist_append(*h, line);
	if (!n)
		return false;
	*h = n;
	return true;
}

int client_call(struct client *c, const char *request_id, const char *method, const char *path,
		struct json_object *body, struct client_reply *out)
{
	struct curl_slist *h = NULL;
	char url[CLIENT_URL_MAX], rid[128], who[96];
	const char *json = NULL;
	int rc = -1;
	long connects = 0;

	out->status = 0;
	out->body = NULL;
	if (!c->curl) {
		c->curl = curl_easy_init();
		if (!c->curl) {
			log_msg(LOG_WARN, request_id, "internal %s %s: cannot create a curl handle", method, path);
			return -1;
		}
	}
	int w = snprintf(url, sizeof(url), "%s%s", c->cfg->internal_url, path);
	if (w < 0 || (size_t)w >= sizeof(url)) {
		log_msg(LOG_ERROR, request_id, "internal %s: the path (%zu bytes) does not fit the URL", method,
			strlen(path));
		return -1;
	}
	snprintf(rid, sizeof(rid), "X-Request-Id: %.64s", request_id ? request_id : "-");
	snprintf(who, sizeof(who), "X-Store-Caller: %.64s", c->caller);
	if (body && !(json = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN)))
		goto out;
	if (!add_header(&h, rid) || !add_header(&h, who) || !add_header(&h, "Accept: application/json") ||
	    !add_header(&h, "Expect:") || (json && !add_header(&h, "Content-Type: application/json"))) {
		log_msg(LOG_WARN, request_id, "internal %s %s: out of memory for headers", method, path);
		goto out;
	}
	CURL *e = c->curl;
	c->len = 0;
	c->too_big = false;
	curl_easy_reset(e); /* keeps the connection cache, forgets the last call's options */
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	if (json) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, json);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(json));
	} else if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else {
		/* A bodiless POST still says Content-Length: 0. */
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L);
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, c);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Internal calls go straight to the gateway's internal listener, never through a proxy
	 * named in the environment (and libcurl then skips reading it on every call). */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	CURLcode cr = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &connects);
	c->connects += connects;
	if (cr != CURLE_OK) {
		log_msg(LOG_WARN, request_id, "internal %s %s: %s%s", method, path, curl_easy_strerror(cr),
			c->too_big ? " (answer too large)" : "");
		goto out;
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &out->status);
	if (out->status >= 500 || out->status < 100) {
		log_msg(LOG_WARN, request_id, "internal %s %s: answered %ld", method, path, out->status);
		goto out;
	}
	if (c->len)
		out->body = json_tokener_parse(c->buf);
	rc = 0;
out:
	curl_slist_free_all(h);
	return rc;
}

bool client_json_i64(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*out = json_object_get_int64(v);
	return true;
}

bool client_json_str(struct json_object *o, const char *key, char *dst, size_t cap, bool optional)
{
	struct json_object *v;
	dst[0] = '\0';
	if (!o || !json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return optional;
	if (!json_object_is_type(v, json_type_string) || (size_t)json_object_get_string_len(v) >= cap)
		return false;
	memcpy(dst, json_object_get_string(v), (size_t)json_object_get_string_len(v) + 1);
	return true;
}

bool client_path_ids(char *buf, size_t len, const char *prefix, const int64_t *ids, size_t n)
{
	int w = snprintf(buf, len, "%s", prefix);
	size_t o = w < 0 ? len : (size_t)w;
	for (size_t i = 0; i < n && o < len; i++) {
		w = snprintf(buf + o, len - o, "%s%lld", i ? "," : "", (long long)ids[i]);
		o = w < 0 ? len : o + (size_t)w;
	}
	return o < len;
}
