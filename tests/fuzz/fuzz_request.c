/* fuzz_request.c: libFuzzer target for the request line: URI, query string, router matching. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parse.h"
#include "request.h"
#include "router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *uri;

static const char *param(void *h, const char *name)
{
	(void)h;
	if (strcmp(name, "REQUEST_URI") == 0)
		return uri;
	if (strcmp(name, "REQUEST_METHOD") == 0)
		return "GET";
	return NULL;
}

static int rd(void *h, char *buf, int len)
{
	(void)h, (void)buf, (void)len;
	return 0;
}

static int wr(void *h, const char *buf, int len)
{
	(void)h, (void)buf;
	return len;
}

static void handler(struct request *req)
{
	int64_t id;
	req_path_id(req, "id", &id);
	req_path_param(req, "slug");
}

static const struct route routes[] = {
	{"GET", "/api/v1/products/{id}", handler, ROLE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/products/by-slug/{slug}", handler, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/products/{id}/rating", handler, ROLE_PUBLIC, 0, NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 2);
	s[0] = '/';
	memcpy(s + 1, data, size);
	s[size + 1] = '\0';
	uri = s;
	struct request_io io = {param, rd, wr, NULL};
	struct request req;
	if (request_init(&req, &io, NULL) == 0) {
		int64_t v;
		req_query(&req, "limit");
		req_query_i64(&req, "limit", 1, 100, 20, &v, NULL);
		router_dispatch(routes, sizeof(routes) / sizeof(routes[0]), NULL, &req);
	}
	request_cleanup(&req);
	char out[64];
	parse_percent_decode((const char *)data, size, out, sizeof(out), true);
	parse_utf8_valid((const char *)data, size);
	int64_t ids[8];
	parse_id_list(s + 1, INT64_MAX, ids, 8);
	free(s);
	return 0;
}
