/* fuzz_order.c: libFuzzer target for the order service's parsers of outside input: address, list time bounds, Idempotency-Key (lib/idem). */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "idem.h"
#include "jsonstrict.h"
#include "problem.h"
#include "rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), when[20], ref[ORDER_REF_MAX + 1];
	const char *why;
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	order_time_parse(s, when);
	if (idem_key_valid(s))
		order_ref_make(1, s, 1, ref);
	free(s);
	if (!json_strict_valid((const char *)data, size, 16, &why))
		return 0;
	struct json_tokener *tok = json_tokener_new_ex(17);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (o && json_object_is_type(o, json_type_object)) {
		struct order_address a;
		struct field_errors errs = {0};
		order_address_parse(o, &a, &errs);
	}
	json_object_put(o);
	return 0;
}
