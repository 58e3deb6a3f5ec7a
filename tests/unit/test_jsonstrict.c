/* test_jsonstrict.c: the strict RFC 8259 gate in front of json-c. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "jsonstrict.h"

static bool ok(const char *s)
{
	const char *why;
	return json_strict_valid(s, strlen(s), 16, &why);
}

Test(jsonstrict, accepts_rfc_8259)
{
	const char *good[] = {"{}", " {} \n", "[]", "0", "-0", "1.5e-3", "-12E+2", "\"x\"", "true", "false", "null",
			      "{\"a\":[1,2,{\"b\":null}],\"c\":\"\\u00e9\\n\\\"\"}", "{\"a\":1,\"A\":2}",
			      "{\"\":1}", "[[],[{}]]", "\"\\u0000\"", "\"\\ud83d\\ude00\"", "{\"\\ud83d\\ude00\":1,\"x\":2}", NULL};
	for (size_t i = 0; good[i]; i++)
		cr_assert(ok(good[i]), "refused %s", good[i]);
}

Test(jsonstrict, refuses_what_json_c_would_take)
{
	const char *bad[] = {"{'a':1}", "{a:1}", "NaN", "Infinity", "-Infinity", "5.", ".5", "01", "+1", "1e", "1e+",
			     "{\"a\":1,}", "[1,]", "{\"a\":1,\"a\":2}", "{\"a\\u0000b\":1}", "\"\\x41\"",
			     "\"a\tb\"", "{\"name\":1,\"na\\u006de\":2}", "{\"\\u00e9\":1,\"\xc3\xa9\":2}", "\"\\ud83d\"",
			     "\"\\ude00\\ud83d\"", "\"\\ud83dx\"", "\"\\ud83d\\u0041\"", "{} {}", "{}x", "", "   ", "[", "{\"a\"}", "{\"a\":}", "tru", "nul", "\"abc",
			     "\"\\u12\"", "/* c */ {}", NULL};
	for (size_t i = 0; bad[i]; i++)
		cr_assert(!ok(bad[i]), "accepted %s", bad[i]);
}

Test(jsonstrict, depth_limit_counts_containers)
{
	char deep[64] = "", closing[64] = "";
	for (int i = 0; i < 16; i++) {
		strcat(deep, "[");
		strcat(closing, "]");
	}
	char s[160];
	snprintf(s, sizeof(s), "%s1%s", deep, closing);
	cr_assert(ok(s), "16 levels holding a value");
	snprintf(s, sizeof(s), "[%s1%s]", deep, closing);
	const char *why;
	cr_assert_eq(json_strict_check(s, strlen(s), 16, &why), JSON_STRICT_TOO_DEEP);
	cr_assert_str_eq(why, "the body is nested too deeply");
}

Test(jsonstrict, length_is_respected_not_nul)
{
	const char s[] = "{\"a\":1}garbage";
	const char *why;
	cr_assert(json_strict_valid(s, 7, 16, &why));
	cr_assert(!json_strict_valid(s, sizeof(s) - 1, 16, &why));
	cr_assert_not_null(why);
}

Test(jsonstrict, error_codes)
{
	const char *why;
	cr_assert_eq(json_strict_check("{\"a\":1,\"a\":2}", 13, 16, &why), JSON_STRICT_DUPLICATE_KEY);
	cr_assert_eq(json_strict_check("{\"a\":1}x", 8, 16, &why), JSON_STRICT_SYNTAX);
	cr_assert_eq(json_strict_check("\"\\ud800\"", 8, 16, &why), JSON_STRICT_BAD_STRING);
	cr_assert_eq(json_strict_check("{}", 2, 16, &why), JSON_STRICT_OK);
	cr_assert_null(why);
}
