/* fuzz_body.c: libFuzzer target for the request body path: strict JSON gate, json-c, field access. */
#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "field.h"
#include "jsonstrict.h"
#include "problem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why;
	if (!json_strict_valid((const char *)data, size, 16, &why))
		return 0;
	struct json_tokener *tok = json_tokener_new_ex(17);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *o = json_tokener_parse_ex(tok, (const char *)data, (int)size);
	json_tokener_free(tok);
	if (o && json_object_is_type(o, json_type_object)) {
		static const char *const allowed[] = {"a", "b", NULL};
		struct field_errors errs = {0};
		const char *s;
		int64_t i;
		bool b;
		double d;
		field_only(o, allowed, &errs);
		field_string(o, "a", false, 1, 100, true, &s, &errs);
		field_i64(o, "b", false, INT64_MIN + 1, INT64_MAX, &i, &errs);
		field_bool(o, "a", false, &b, &errs);
		field_number(o, "b", false, -1e300, 1e300, &d, &errs);
	}
	json_object_put(o);
	return 0;
}
