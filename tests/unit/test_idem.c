/* test_idem.c: the Idempotency-Key header as lib/idem.c judges it, before any claim. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "fake_io.h"
#include "idem.h"
#include "request.h"

Test(idem_key, bounds_and_characters)
{
	char key[IDEM_KEY_MAX + 2];
	cr_assert_not(idem_key_valid(NULL));
	cr_assert_not(idem_key_valid(""));
	cr_assert(idem_key_valid("a"));
	cr_assert(idem_key_valid("3f0c8f6e-1c1d-4b6e-9a63-0d7d4b4b0c2e"));
	memset(key, 'k', IDEM_KEY_MAX);
	key[IDEM_KEY_MAX] = '\0';
	cr_assert(idem_key_valid(key), "255 characters");
	key[IDEM_KEY_MAX] = 'k';
	key[IDEM_KEY_MAX + 1] = '\0';
	cr_assert_not(idem_key_valid(key), "256 characters");
	cr_assert_not(idem_key_valid("with space"));
	cr_assert_not(idem_key_valid("tab\there"));
	cr_assert_not(idem_key_valid("caf\xc3\xa9"));
	cr_assert_not(idem_key_valid("del\x7f"));
}

/* idem_key_header on a request with HTTP_IDEMPOTENCY_KEY `key` (NULL: none): a copy of the key
 * it returns (or NULL), and in *status/code what it wrote (0 and "" when nothing). */
static const char *header_of(const char *key, int *status, char code[64])
{
	static struct fake_io f;
	static struct request req;
	static char copy[IDEM_KEY_MAX + 1];
	struct fake_resp resp = {0};
	const char *got;

	fake_io_init(&f);
	fake_io_param(&f, "REQUEST_ID", "req-7");
	if (key)
		fake_io_param(&f, "HTTP_IDEMPOTENCY_KEY", key);
	cr_assert(eq(int, fake_request(&f, &req, "POST", "/api/v1/orders"), 0));
	got = idem_key_header(&req);
	if (got)
		got = strcpy(copy, got);
	*status = 0;
	code[0] = '\0';
	if (f.out_len) {
		cr_assert(fake_resp_parse(&f, &resp));
		*status = resp.status;
		cr_assert(eq(str, (char *)fake_resp_header(&resp, "Content-Type"), "application/problem+json"));
		snprintf(code, 64, "%s", json_object_get_string(json_object_object_get(resp.json, "code")));
		fake_resp_free(&resp);
	}
	request_cleanup(&req);
	fake_io_free(&f);
	return got;
}

Test(idem_key, header_absent_or_malformed_is_400_and_nothing_is_claimed)
{
	int status;
	char code[64];
	cr_assert_null(header_of(NULL, &status, code));
	cr_assert(eq(int, status, 400));
	cr_assert(eq(str, code, "idempotency_key_required"));
	cr_assert_null(header_of("with space", &status, code));
	cr_assert(eq(int, status, 400));
	cr_assert(eq(str, code, "bad_idempotency_key"));
}

Test(idem_key, a_valid_header_is_returned_and_nothing_written)
{
	int status;
	char code[64];
	const char *k = header_of("order-1", &status, code);
	cr_assert_not_null(k);
	cr_assert(eq(str, (char *)k, "order-1"));
	cr_assert(eq(int, status, 0));
	cr_assert(eq(str, code, ""));
}
