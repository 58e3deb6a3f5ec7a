/* test_field.c: type-checked, bounded access to JSON request fields (lib/field.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "field.h"
#include "parse.h"
#include "problem.h"

static struct json_object *doc;
static struct field_errors errs;

static void setup(void)
{
	doc = NULL;
	memset(&errs, 0, sizeof(errs));
}

static void teardown(void)
{
	json_object_put(doc);
}

TestSuite(field_only, .init = setup, .fini = teardown);
TestSuite(field_string, .init = setup, .fini = teardown);
TestSuite(field_i64, .init = setup, .fini = teardown);
TestSuite(field_bool, .init = setup, .fini = teardown);
TestSuite(field_is_null, .init = setup, .fini = teardown);

/* Parses `text` the way req_json_body does (strict, UTF-8 checked) into `doc`. */
static struct json_object *parse(const char *text)
{
	struct json_tokener *tok = json_tokener_new();
	cr_assert(not(zero(ptr, tok)));
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	json_object_put(doc);
	doc = json_tokener_parse_ex(tok, text, (int)strlen(text));
	cr_assert(eq(int, json_tokener_get_error(tok), json_tokener_success), "test JSON does not parse: %s", text);
	json_tokener_free(tok);
	cr_assert(json_object_is_type(doc, json_type_object));
	return doc;
}

/* Asserts exactly one error, on `field`, whose message contains `msg`. */
static void one_error(const char *field, const char *msg)
{
	cr_assert(eq(sz, errs.n, 1), "expected one error, got %zu", errs.n);
	cr_assert(eq(str, errs.items[0].field, (char *)field));
	cr_assert(not(zero(ptr, strstr(errs.items[0].message, msg))), "message \"%s\" lacks \"%s\"",
		  errs.items[0].message, msg);
}

static void no_errors(void)
{
	cr_assert(eq(sz, errs.n, 0), "unexpected error on %s: %s", errs.items[0].field, errs.items[0].message);
}

/* --- field_only ------------------------------------------------------------------- */

static const char *const allowed[] = {"email", "password", "name", NULL};

Test(field_only, empty_object_ok)
{
	cr_assert(field_only(parse("{}"), allowed, &errs));
	no_errors();
}

Test(field_only, known_fields_ok)
{
	cr_assert(field_only(parse("{\"email\":\"a@b.c\",\"name\":\"A\"}"), allowed, &errs));
	no_errors();
}

Test(field_only, mass_assignment_rejected)
{
	cr_assert(not(field_only(parse("{\"email\":\"a@b.c\",\"role\":\"admin\"}"), allowed, &errs)));
	one_error("role", "unknown field");
}

Test(field_only, every_unknown_field_named)
{
	cr_assert(not(field_only(parse("{\"a\":1,\"email\":\"x\",\"b\":2,\"c\":3}"), allowed, &errs)));
	cr_assert(eq(sz, errs.n, 3));
	cr_assert(eq(str, errs.items[0].field, "a"));
	cr_assert(eq(str, errs.items[1].field, "b"));
	cr_assert(eq(str, errs.items[2].field, "c"));
}

Test(field_only, names_are_case_sensitive_and_exact)
{
	cr_assert(not(field_only(parse("{\"Email\":1}"), allowed, &errs)));
	cr_assert(not(field_only(parse("{\"email \":1}"), allowed, &errs)));
	cr_assert(not(field_only(parse("{\"\":1}"), allowed, &errs)));
	cr_assert(eq(sz, errs.n, 3));
}

Test(field_only, null_allowed_list_rejects_all)
{
	cr_assert(not(field_only(parse("{\"email\":1}"), NULL, &errs)));
	one_error("email", "unknown field");
	cr_assert(field_only(parse("{}"), NULL, &errs));
}

Test(field_only, many_unknown_fields_bounded)
{
	char text[1024] = "{";
	for (int i = 0; i < 40; i++)
		sprintf(text + strlen(text), "%s\"f%d\":%d", i ? "," : "", i, i);
	strcat(text, "}");
	cr_assert(not(field_only(parse(text), allowed, &errs)));
	cr_assert(eq(sz, errs.n, PROBLEM_MAX_ERRORS));
}

Test(field_only, long_field_name_truncated_in_error)
{
	char text[400] = "{\"";
	memset(text + 2, 'k', 300);
	strcpy(text + 302, "\":1}");
	cr_assert(not(field_only(parse(text), allowed, &errs)));
	cr_assert(eq(sz, errs.n, 1));
	cr_assert(eq(sz, strlen(errs.items[0].field), sizeof(errs.items[0].field) - 1));
}

/* --- field_string ------------------------------------------------------------------ */

static const char *sout;

static enum field_result str_field(const char *text, size_t min, size_t max, bool multiline)
{
	sout = "untouched";
	return field_string(parse(text), "s", true, min, max, multiline, &sout, &errs);
}

static void str_invalid(const char *text, size_t min, size_t max, bool multiline, const char *msg)
{
	cr_assert(eq(int, str_field(text, min, max, multiline), FIELD_INVALID), "accepted %s", text);
	cr_assert(eq(str, (char *)sout, "untouched"), "*out set on failure");
	one_error("s", msg);
}

Test(field_string, ok_value_borrowed_from_object)
{
	cr_assert(eq(int, str_field("{\"s\":\"hello\"}", 1, 10, false), FIELD_OK));
	cr_assert(eq(str, (char *)sout, "hello"));
	struct json_object *v = NULL;
	json_object_object_get_ex(doc, "s", &v);
	cr_assert(eq(ptr, (void *)sout, (void *)json_object_get_string(v)));
	no_errors();
}

Test(field_string, absent_optional_no_error)
{
	sout = "untouched";
	cr_assert(eq(int, field_string(parse("{}"), "s", false, 1, 10, false, &sout, &errs), FIELD_ABSENT));
	cr_assert(eq(str, (char *)sout, "untouched"));
	no_errors();
}

Test(field_string, absent_required_error)
{
	sout = "untouched";
	cr_assert(eq(int, field_string(parse("{}"), "s", true, 1, 10, false, &sout, &errs), FIELD_ABSENT));
	one_error("s", "is required");
}

Test(field_string, null_invalid_even_when_optional)
{
	sout = "untouched";
	cr_assert(eq(int, field_string(parse("{\"s\":null}"), "s", false, 0, 10, false, &sout, &errs), FIELD_INVALID));
	one_error("s", "must be a string");
}

Test(field_string, wrong_types_invalid)
{
	str_invalid("{\"s\":1}", 0, 10, false, "must be a string");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":true}", 0, 10, false, "must be a string");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":[\"a\"]}", 0, 10, false, "must be a string");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":{\"a\":\"b\"}}", 0, 10, false, "must be a string");
}

Test(field_string, empty_string)
{
	cr_assert(eq(int, str_field("{\"s\":\"\"}", 0, 10, false), FIELD_OK));
	cr_assert(eq(str, (char *)sout, ""));
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"\"}", 1, 10, false, "must be 1 to 10 characters long");
}

Test(field_string, length_exact_max_and_one_past)
{
	cr_assert(eq(int, str_field("{\"s\":\"abcde\"}", 1, 5, false), FIELD_OK));
	str_invalid("{\"s\":\"abcdef\"}", 1, 5, false, "must be 1 to 5 characters long");
}

Test(field_string, length_counts_code_points_not_bytes)
{
	/* Five characters, ten bytes: fits max 5. */
	cr_assert(eq(int, str_field("{\"s\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}", 1, 5, false), FIELD_OK));
	/* One emoji is one character (four bytes). */
	cr_assert(eq(int, str_field("{\"s\":\"\xf0\x9f\x98\x80\"}", 1, 1, false), FIELD_OK));
	/* Escaped form counts the same: \u20ac is one character. */
	cr_assert(eq(int, str_field("{\"s\":\"\\u20ac\\u20ac\"}", 2, 2, false), FIELD_OK));
	no_errors();
	str_invalid("{\"s\":\"\xc3\xa9\xc3\xa9\xc3\xa9\"}", 1, 2, false, "must be 1 to 2 characters long");
}

Test(field_string, min_equals_max_message)
{
	str_invalid("{\"s\":\"ab\"}", 3, 3, false, "must be 3 characters long");
}

Test(field_string, nul_via_escape_invalid)
{
	str_invalid("{\"s\":\"a\\u0000b\"}", 0, 10, false, "without NUL");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"\\u0000\"}", 0, 10, true, "without NUL");
}

Test(field_string, control_chars_invalid)
{
	str_invalid("{\"s\":\"a\\u0001\"}", 0, 10, false, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"\\u001b[31m\"}", 0, 10, true, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"\\u007f\"}", 0, 10, true, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"\\u001f\"}", 0, 10, true, "control characters");
}

Test(field_string, single_line_rejects_newline_cr_tab)
{
	str_invalid("{\"s\":\"a\\nb\"}", 0, 10, false, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"a\\rb\"}", 0, 10, false, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"a\\tb\"}", 0, 10, false, "control characters");
}

Test(field_string, multiline_allows_newline_cr_tab)
{
	cr_assert(eq(int, str_field("{\"s\":\"line 1\\r\\nline\\t2\\n\"}", 0, 100, true), FIELD_OK));
	cr_assert(eq(str, (char *)sout, "line 1\r\nline\t2\n"));
	no_errors();
}

Test(field_string, c1_controls_refused_like_c0)
{
	/* U+0080..U+009F (C1: NEL, CSI, ...) are controls too, escaped or raw, even in multi-line text. */
	str_invalid("{\"s\":\"a\\u0085b\"}", 0, 10, false, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"\\u0080\"}", 0, 10, true, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"\xc2\x9b" "31m\"}", 0, 10, true, "control characters");
	memset(&errs, 0, sizeof(errs));
	str_invalid("{\"s\":\"x\\u009f\"}", 0, 10, false, "control characters");
}

Test(field_string, printable_neighbours_of_c1_kept)
{
	/* U+007E, U+00A0 (the first printable after C1), U+00C2 itself and U+2028 are text. */
	cr_assert(eq(int, str_field("{\"s\":\"~\\u00a0\\u00c2\\u2028\"}", 0, 10, false), FIELD_OK));
	no_errors();
}

Test(field_string, invalid_utf8_in_object_invalid)
{
	/* Built directly: the parser would refuse these, the getter must too. */
	static const char *const bad[] = {"\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x82", "\xff"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_object_put(doc);
		doc = json_object_new_object();
		json_object_object_add(doc, "s", json_object_new_string(bad[i]));
		memset(&errs, 0, sizeof(errs));
		sout = "untouched";
		cr_assert(eq(int, field_string(doc, "s", true, 0, 10, false, &sout, &errs), FIELD_INVALID), "case %zu", i);
		one_error("s", "valid UTF-8");
	}
}

Test(field_string, escaped_surrogates)
{
	/* A proper pair is one character. */
	cr_assert(eq(int, str_field("{\"s\":\"\\ud83d\\ude00\"}", 1, 1, false), FIELD_OK));
	cr_assert(eq(str, (char *)sout, "\xf0\x9f\x98\x80"));
	/* A lone surrogate never comes out as invalid UTF-8. */
	enum field_result r = str_field("{\"s\":\"\\udc00\"}", 0, 10, false);
	if (r == FIELD_OK)
		cr_assert(parse_utf8_valid(sout, strlen(sout)));
	else
		cr_assert(eq(int, r, FIELD_INVALID));
}

/* --- field_i64 --------------------------------------------------------------------- */

static int64_t iout;

static enum field_result i64_field(const char *text, int64_t min, int64_t max)
{
	iout = 4242;
	return field_i64(parse(text), "n", true, min, max, &iout, &errs);
}

static void i64_invalid(const char *text, int64_t min, int64_t max, const char *msg)
{
	memset(&errs, 0, sizeof(errs));
	cr_assert(eq(int, i64_field(text, min, max), FIELD_INVALID), "accepted %s as %lld", text, (long long)iout);
	cr_assert(eq(i64, iout, 4242), "*out set on failure");
	one_error("n", msg);
}

Test(field_i64, ok)
{
	cr_assert(eq(int, i64_field("{\"n\":42}", 0, 100), FIELD_OK));
	cr_assert(eq(i64, iout, 42));
	cr_assert(eq(int, i64_field("{\"n\":-7}", -10, 0), FIELD_OK));
	cr_assert(eq(i64, iout, -7));
	cr_assert(eq(int, i64_field("{\"n\":-0}", 0, 0), FIELD_OK));
	cr_assert(eq(i64, iout, 0));
	no_errors();
}

Test(field_i64, absent_and_required)
{
	iout = 4242;
	cr_assert(eq(int, field_i64(parse("{}"), "n", false, 0, 1, &iout, &errs), FIELD_ABSENT));
	no_errors();
	cr_assert(eq(int, field_i64(parse("{}"), "n", true, 0, 1, &iout, &errs), FIELD_ABSENT));
	one_error("n", "is required");
	cr_assert(eq(i64, iout, 4242));
}

Test(field_i64, null_rejected)
{
	i64_invalid("{\"n\":null}", 0, 10, "must be an integer");
	memset(&errs, 0, sizeof(errs));
	iout = 4242;
	cr_assert(eq(int, field_i64(parse("{\"n\":null}"), "n", false, 0, 1, &iout, &errs), FIELD_INVALID));
}

Test(field_i64, floats_rejected)
{
	i64_invalid("{\"n\":1.0}", 0, 10, "must be an integer");
	i64_invalid("{\"n\":1e3}", 0, 10000, "must be an integer");
	i64_invalid("{\"n\":1E3}", 0, 10000, "must be an integer");
	i64_invalid("{\"n\":1.5}", 0, 10, "must be an integer");
	i64_invalid("{\"n\":-0.0}", -10, 10, "must be an integer");
}

Test(field_i64, strings_rejected)
{
	i64_invalid("{\"n\":\"1\"}", 0, 10, "must be an integer");
	i64_invalid("{\"n\":\"\"}", 0, 10, "must be an integer");
}

Test(field_i64, other_types_rejected)
{
	i64_invalid("{\"n\":true}", 0, 10, "must be an integer");
	i64_invalid("{\"n\":[1]}", 0, 10, "must be an integer");
	i64_invalid("{\"n\":{}}", 0, 10, "must be an integer");
}

Test(field_i64, bounds_exact_and_one_past)
{
	cr_assert(eq(int, i64_field("{\"n\":1}", 1, 100), FIELD_OK));
	cr_assert(eq(int, i64_field("{\"n\":100}", 1, 100), FIELD_OK));
	i64_invalid("{\"n\":0}", 1, 100, "must be an integer from 1 to 100");
	i64_invalid("{\"n\":101}", 1, 100, "must be an integer from 1 to 100");
}

Test(field_i64, int64_max_exact)
{
	cr_assert(eq(int, i64_field("{\"n\":9223372036854775807}", 0, INT64_MAX), FIELD_OK));
	cr_assert(eq(i64, iout, INT64_MAX));
}

Test(field_i64, two_to_the_63_rejected)
{
	/* json-c keeps it as a uint64 and get_int64 saturates it to INT64_MAX. */
	i64_invalid("{\"n\":9223372036854775808}", 0, INT64_MAX, "must be an integer from");
	i64_invalid("{\"n\":18446744073709551615}", 0, INT64_MAX, "must be an integer from");
}

Test(field_i64, huge_integers_rejected)
{
	i64_invalid("{\"n\":18446744073709551616}", 0, INT64_MAX, "must be an integer from");
	i64_invalid("{\"n\":1000000000000000000000000000000}", 0, INT64_MAX, "must be an integer from");
	i64_invalid("{\"n\":1000000000000000000000000000000}", INT64_MIN, INT64_MAX, "must be an integer from");
}

Test(field_i64, near_int64_min_exact)
{
	cr_assert(eq(int, i64_field("{\"n\":-9223372036854775807}", -INT64_MAX, 0), FIELD_OK));
	cr_assert(eq(i64, iout, -INT64_MAX));
}

/* Was accepted as INT64_MIN: json-c clamps every integer below INT64_MIN to INT64_MIN,
 * so -1e30 passed a full-range check as -9223372036854775808. */
Test(field_i64, below_int64_min_not_clamped)
{
	i64_invalid("{\"n\":-9223372036854775809}", INT64_MIN, INT64_MAX, "must be an integer from");
	i64_invalid("{\"n\":-1000000000000000000000000000000}", INT64_MIN, INT64_MAX, "must be an integer from");
	i64_invalid("{\"n\":-1000000000000000000000000000000}", INT64_MIN, 0, "must be an integer from");
}

Test(field_i64, int64_min_itself_rejected)
{
	/* Indistinguishable from a clamped underflow, so the contract rules it out. */
	i64_invalid("{\"n\":-9223372036854775808}", INT64_MIN, INT64_MAX, "must be an integer from");
}

Test(field_i64, huge_negative_rejected_by_ordinary_bounds)
{
	i64_invalid("{\"n\":-1000000000000000000000000000000}", 0, 100, "must be an integer from 0 to 100");
	i64_invalid("{\"n\":-9223372036854775808}", -100, 100, "must be an integer from -100 to 100");
}

/* --- field_bool --------------------------------------------------------------------- */

Test(field_bool, true_and_false)
{
	bool b = false;
	cr_assert(eq(int, field_bool(parse("{\"b\":true}"), "b", true, &b, &errs), FIELD_OK));
	cr_assert(b);
	cr_assert(eq(int, field_bool(parse("{\"b\":false}"), "b", true, &b, &errs), FIELD_OK));
	cr_assert(not(b));
	no_errors();
}

Test(field_bool, absent)
{
	bool b = true;
	cr_assert(eq(int, field_bool(parse("{}"), "b", false, &b, &errs), FIELD_ABSENT));
	no_errors();
	cr_assert(eq(int, field_bool(parse("{}"), "b", true, &b, &errs), FIELD_ABSENT));
	one_error("b", "is required");
	cr_assert(b, "*out changed");
}

Test(field_bool, wrong_types_rejected)
{
	static const char *const bad[] = {"{\"b\":\"true\"}", "{\"b\":1}", "{\"b\":0}", "{\"b\":null}",
					  "{\"b\":[]}",        "{\"b\":\"\"}", "{\"b\":1.0}"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		bool b = true;
		memset(&errs, 0, sizeof(errs));
		cr_assert(eq(int, field_bool(parse(bad[i]), "b", false, &b, &errs), FIELD_INVALID), "accepted %s", bad[i]);
		cr_assert(b, "*out changed for %s", bad[i]);
		one_error("b", "must be true or false");
	}
}

/* --- field_is_null ----------------------------------------------------------------- */

Test(field_is_null, only_explicit_null)
{
	parse("{\"a\":null,\"b\":0,\"c\":\"\",\"d\":false}");
	cr_assert(field_is_null(doc, "a"));
	cr_assert(not(field_is_null(doc, "b")));
	cr_assert(not(field_is_null(doc, "c")));
	cr_assert(not(field_is_null(doc, "d")));
	cr_assert(not(field_is_null(doc, "missing")));
}

/* --- field_number ------------------------------------------------------------------- */

TestSuite(field_number, .init = setup, .fini = teardown);

static double dout;

static enum field_result num_field(const char *text, double min, double max)
{
	dout = 4242.0;
	return field_number(parse(text), "x", true, min, max, &dout, &errs);
}

static void num_invalid(const char *text, double min, double max, const char *msg)
{
	memset(&errs, 0, sizeof(errs));
	cr_assert(eq(int, num_field(text, min, max), FIELD_INVALID), "accepted %s as %g", text, dout);
	cr_assert(eq(dbl, dout, 4242.0), "*out set on failure");
	one_error("x", msg);
}

Test(field_number, integers_and_decimals)
{
	cr_assert(eq(int, num_field("{\"x\":4}", 0, 5), FIELD_OK));
	cr_assert(eq(dbl, dout, 4.0));
	cr_assert(eq(int, num_field("{\"x\":4.25}", 0, 5), FIELD_OK));
	cr_assert(eq(dbl, dout, 4.25));
	cr_assert(eq(int, num_field("{\"x\":-1.5e1}", -20, 0), FIELD_OK));
	cr_assert(eq(dbl, dout, -15.0));
	no_errors();
}

Test(field_number, bounds_inclusive)
{
	cr_assert(eq(int, num_field("{\"x\":0}", 0, 5), FIELD_OK));
	cr_assert(eq(int, num_field("{\"x\":5.0}", 0, 5), FIELD_OK));
	num_invalid("{\"x\":5.0001}", 0, 5, "must be a number from 0 to 5");
	num_invalid("{\"x\":-0.0001}", 0, 5, "must be a number from 0 to 5");
}

Test(field_number, absent_null_and_wrong_types)
{
	dout = 4242.0;
	cr_assert(eq(int, field_number(parse("{}"), "x", false, 0, 5, &dout, &errs), FIELD_ABSENT));
	no_errors();
	num_invalid("{\"x\":null}", 0, 5, "must be a number");
	num_invalid("{\"x\":\"4\"}", 0, 5, "must be a number");
	num_invalid("{\"x\":true}", 0, 5, "must be a number");
	num_invalid("{\"x\":[4]}", 0, 5, "must be a number");
}

Test(field_number, non_finite_rejected)
{
	/* json-c reads these even in strict mode. */
	num_invalid("{\"x\":NaN}", -1e308, 1e308, "must be a number from");
	num_invalid("{\"x\":Infinity}", -1e308, 1e308, "must be a number from");
	num_invalid("{\"x\":-Infinity}", -1e308, 1e308, "must be a number from");
	num_invalid("{\"x\":1e400}", -1e308, 1e308, "must be a number from");
	num_invalid("{\"x\":-1e400}", -1e308, 1e308, "must be a number from");
}

/* Was accepted as 1.8e19 (or -9.2e18): json-c clamps integers beyond the 64-bit range,
 * so the value handed back was not the number the client sent. */
Test(field_number, huge_integer_not_clamped)
{
	num_invalid("{\"x\":1000000000000000000000000000000}", -1e300, 1e300, "must be a number from");
	num_invalid("{\"x\":-1000000000000000000000000000000}", -1e300, 1e300, "must be a number from");
}

Test(field_number, huge_decimal_kept)
{
	/* Written as a decimal it is a double, parsed exactly enough. */
	cr_assert(eq(int, num_field("{\"x\":1e30}", -1e300, 1e300), FIELD_OK));
	cr_assert(eq(dbl, dout, 1e30));
}

/* --- field_parse: a body by a table ------------------------------------------------------ */

struct address_in {
	const char *name, *note;
	int64_t qty;
	double score;
	bool gift;
	struct json_object *card, *tags;
};

static const struct field_spec address_specs[] = {
	{"name", FIELD_T_STRING, true, 1, 10, offsetof(struct address_in, name), false},
	{"note", FIELD_T_TEXT, false, 0, 20, offsetof(struct address_in, note), true},
	{"qty", FIELD_T_I64, true, 1, 99, offsetof(struct address_in, qty), false},
	{"score", FIELD_T_NUMBER, false, 0, 5, offsetof(struct address_in, score), false},
	{"gift", FIELD_T_BOOL, false, 0, 0, offsetof(struct address_in, gift), false},
	{"card", FIELD_T_OBJECT, false, 1, 3, offsetof(struct address_in, card), false},
	{"tags", FIELD_T_ARRAY, false, 0, 2, offsetof(struct address_in, tags), false},
};
#define NSPECS (sizeof(address_specs) / sizeof(address_specs[0]))

TestSuite(field_parse, .init = setup, .fini = teardown);

Test(field_parse, fills_every_type_and_present_bits)
{
	struct address_in in = {0};
	uint64_t present = 0, nulls = 0;
	parse("{\"name\":\"Ada\",\"note\":\"a\\nb\",\"qty\":3,\"score\":4.5,\"gift\":true,\"card\":{\"a\":1},\"tags\":[1]}");
	cr_assert(field_parse(doc, address_specs, NSPECS, &in, &present, &nulls, &errs));
	cr_assert(eq(sz, errs.n, 0));
	cr_assert(eq(str, (char *)in.name, "Ada"));
	cr_assert(eq(str, (char *)in.note, "a\nb"));
	cr_assert(eq(i64, in.qty, 3));
	cr_assert(in.score == 4.5);
	cr_assert(in.gift);
	cr_assert(not(zero(ptr, in.card)));
	cr_assert(eq(sz, json_object_array_length(in.tags), 1));
	cr_assert(eq(u64, present, (UINT64_C(1) << NSPECS) - 1));
	cr_assert(eq(u64, nulls, 0));
}

Test(field_parse, missing_unknown_wrong_type_and_bounds_each_reported)
{
	struct address_in in = {0};
	parse("{\"qty\":100,\"role\":\"admin\",\"score\":\"5\",\"card\":[],\"tags\":[1,2,3]}");
	cr_assert(not(field_parse(doc, address_specs, NSPECS, &in, NULL, NULL, &errs)));
	/* role unknown, name required, qty out of range, score wrong type, card not an object, tags too long */
	cr_assert(eq(sz, errs.n, 6));
	cr_assert(eq(i64, in.qty, 0), "a refused value is never written");
	cr_assert(eq(str, errs.items[0].field, "role"));
}

Test(field_parse, null_only_where_nullable)
{
	struct address_in in = {.note = "kept"};
	uint64_t present = 0, nulls = 0;
	parse("{\"name\":\"Ada\",\"qty\":1,\"note\":null}");
	cr_assert(field_parse(doc, address_specs, NSPECS, &in, &present, &nulls, &errs));
	cr_assert(eq(u64, nulls, UINT64_C(1) << 1));
	cr_assert(eq(u64, present & (UINT64_C(1) << 1), UINT64_C(1) << 1));
	cr_assert(eq(str, (char *)in.note, "kept"));
	parse("{\"name\":null,\"qty\":1}");
	cr_assert(not(field_parse(doc, address_specs, NSPECS, &in, NULL, NULL, &errs)));
}

Test(field_parse, control_characters_and_length_in_code_points)
{
	struct address_in in = {0};
	parse("{\"name\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\",\"qty\":1}");
	cr_assert(field_parse(doc, address_specs, NSPECS, &in, NULL, NULL, &errs), "10 code points, 20 bytes fit");
	parse("{\"name\":\"a\\u0007\",\"qty\":1}");
	cr_assert(not(field_parse(doc, address_specs, NSPECS, &in, NULL, NULL, &errs)));
}
