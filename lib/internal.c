/* internal.c: service-to-service HTTP over the internal listener, with libcurl. */
#include "internal.h"

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define INTERNAL_MAX_REPLY (4u << 20)

struct reply {
	char *p;
	size_t len;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct reply *b = arg;
	size_t n = size * nmemb;
	if (b->len + n > INTERNAL_MAX_REPLY)
		return 0; /* refuse absurd answers rather than grow without bound */
	char *p = realloc(b->p, b->len + n + 1);
	if (!p)
		return 0;
	memcpy(p + b->len, data, n);
	b->p = p;
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

long internal_call(const struct store_config *cfg, const char *method, const char *path, const char *body,
		   const char *request_id, struct json_object **out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct reply b = {0};
	char url[2048], rid[128];
	long status = -1;

	*out = NULL;
	if (!c)
		return -1;
	snprintf(url, sizeof(url), "%s%s", cfg->internal_url, path);
	snprintf(rid, sizeof(rid), "X-Request-Id: %s", request_id ? request_id : "-");
	h = curl_slist_append(h, rid);
	h = curl_slist_append(h, "Accept: application/json");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		if (b.p)
			*out = json_tokener_parse(b.p);
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(b.p);
	return status;
}
