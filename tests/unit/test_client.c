/* test_client.c: reading another service's answer (lib/client.c's helpers for the typed clients). */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "client.h"

Test(client_json, integers_only_when_they_are_integers)
{
	struct json_object *o = json_tokener_parse("{\"a\":7,\"b\":\"7\",\"c\":7.5,\"d\":null}");
	int64_t v = -1;
	cr_assert(client_json_i64(o, "a", &v));
	cr_assert_eq(v, 7);
	v = -1;
	cr_assert(!client_json_i64(o, "b", &v), "a string is not an integer");
	cr_assert(!client_json_i64(o, "c", &v), "nor is a decimal");
	cr_assert(!client_json_i64(o, "d", &v));
	cr_assert(!client_json_i64(o, "missing", &v));
	cr_assert(!client_json_i64(NULL, "a", &v));
	cr_assert_eq(v, -1, "a refused member leaves the output alone");
	json_object_put(o);
}

Test(client_json, strings_bounded_and_optional)
{
	struct json_object *o = json_tokener_parse("{\"s\":\"abcd\",\"n\":null,\"i\":4}");
	char buf[5];
	cr_assert(client_json_str(o, "s", buf, sizeof(buf), false));
	cr_assert_str_eq(buf, "abcd");
	cr_assert(!client_json_str(o, "s", buf, 4, false), "too long for the buffer");
	cr_assert(client_json_str(o, "n", buf, sizeof(buf), true));
	cr_assert_str_eq(buf, "");
	cr_assert(!client_json_str(o, "n", buf, sizeof(buf), false));
	cr_assert(!client_json_str(o, "missing", buf, sizeof(buf), false));
	cr_assert(!client_json_str(o, "i", buf, sizeof(buf), true), "another type is never optional");
	json_object_put(o);
}

Test(client_path, ids_listed_or_refused_when_too_long)
{
	const int64_t ids[] = {1, 22, 333};
	char buf[32];
	cr_assert(client_path_ids(buf, sizeof(buf), "/x?ids=", ids, 3));
	cr_assert_str_eq(buf, "/x?ids=1,22,333");
	cr_assert(!client_path_ids(buf, 14, "/x?ids=", ids, 3), "14 bytes cannot hold 15 and the NUL");
	cr_assert(client_path_ids(buf, 16, "/x?ids=", ids, 3), "16 bytes can");
}
