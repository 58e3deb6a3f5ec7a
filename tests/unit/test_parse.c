/* test_parse.c: checked integer, percent-decoding, UTF-8 and id-list parsers (lib/parse.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <stdint.h>
#include <string.h>

#include "parse.h"

#define SENTINEL ((int64_t)0x5a5a5a5a)

/* Asserts that parse_i64(s, min, max) fails and leaves the output untouched. */
static void reject_i64(const char *s, int64_t min, int64_t max)
{
	int64_t v = SENTINEL;
	cr_assert(not(parse_i64(s, min, max, &v)), "parse_i64(\"%s\") accepted: %lld", s ? s : "(null)",
		  (long long)v);
	cr_assert(eq(i64, v, SENTINEL), "parse_i64(\"%s\") changed *out on failure", s ? s : "(null)");
}

static int64_t accept_i64(const char *s, int64_t min, int64_t max)
{
	int64_t v = SENTINEL;
	cr_assert(parse_i64(s, min, max, &v), "parse_i64(\"%s\") rejected", s);
	return v;
}

/* --- parse_i64: edge cases ------------------------------------------------ */

Test(parse_i64, empty_and_null_rejected)
{
	reject_i64("", INT64_MIN, INT64_MAX);
	reject_i64(NULL, INT64_MIN, INT64_MAX);
}

Test(parse_i64, lone_minus_rejected)
{
	reject_i64("-", INT64_MIN, INT64_MAX);
}

Test(parse_i64, plus_sign_rejected)
{
	reject_i64("+1", INT64_MIN, INT64_MAX);
	reject_i64("+", INT64_MIN, INT64_MAX);
}

Test(parse_i64, spaces_rejected)
{
	reject_i64(" 1", INT64_MIN, INT64_MAX);
	reject_i64("1 ", INT64_MIN, INT64_MAX);
	reject_i64("\t1", INT64_MIN, INT64_MAX);
	reject_i64("1\n", INT64_MIN, INT64_MAX);
	reject_i64("- 1", INT64_MIN, INT64_MAX);
}

Test(parse_i64, leading_zeros_rejected)
{
	reject_i64("007", INT64_MIN, INT64_MAX);
	reject_i64("00", INT64_MIN, INT64_MAX);
	reject_i64("-01", INT64_MIN, INT64_MAX);
	cr_assert(eq(i64, accept_i64("0", INT64_MIN, INT64_MAX), 0));
}

Test(parse_i64, trailing_junk_rejected)
{
	reject_i64("12abc", INT64_MIN, INT64_MAX);
	reject_i64("abc", INT64_MIN, INT64_MAX);
	reject_i64("1.0", INT64_MIN, INT64_MAX);
	reject_i64("1e3", INT64_MIN, INT64_MAX);
	reject_i64("0x10", INT64_MIN, INT64_MAX);
	reject_i64("1,2", INT64_MIN, INT64_MAX);
	reject_i64("--1", INT64_MIN, INT64_MAX);
}

Test(parse_i64, int64_max_exact)
{
	cr_assert(eq(i64, accept_i64("9223372036854775807", INT64_MIN, INT64_MAX), INT64_MAX));
}

Test(parse_i64, int64_max_plus_one_rejected)
{
	reject_i64("9223372036854775808", INT64_MIN, INT64_MAX);
	reject_i64("18446744073709551615", INT64_MIN, INT64_MAX);
	reject_i64("18446744073709551616", INT64_MIN, INT64_MAX);
	reject_i64("99999999999999999999", INT64_MIN, INT64_MAX);
	reject_i64("100000000000000000000000000000", INT64_MIN, INT64_MAX);
}

Test(parse_i64, int64_min_exact)
{
	cr_assert(eq(i64, accept_i64("-9223372036854775808", INT64_MIN, INT64_MAX), INT64_MIN));
}

Test(parse_i64, int64_min_minus_one_rejected)
{
	reject_i64("-9223372036854775809", INT64_MIN, INT64_MAX);
	reject_i64("-99999999999999999999", INT64_MIN, INT64_MAX);
}

Test(parse_i64, bounds_inclusive)
{
	cr_assert(eq(i64, accept_i64("1", 1, 100), 1));
	cr_assert(eq(i64, accept_i64("100", 1, 100), 100));
	reject_i64("0", 1, 100);
	reject_i64("101", 1, 100);
	cr_assert(eq(i64, accept_i64("-5", -5, 5), -5));
	reject_i64("-6", -5, 5);
}

Test(parse_i64, minus_rejected_when_min_not_negative)
{
	reject_i64("-1", 0, 100);
	reject_i64("-0", 0, 100);
}

Test(parse_i64, negative_in_negative_range)
{
	cr_assert(eq(i64, accept_i64("-42", INT64_MIN, 0), -42));
}

Test(parse_i64_n, stops_at_len_not_nul)
{
	int64_t v = SENTINEL;
	cr_assert(parse_i64_n("12345", 2, 0, 100, &v));
	cr_assert(eq(i64, v, 12));
	cr_assert(parse_i64_n("7,8", 1, 0, 100, &v));
	cr_assert(eq(i64, v, 7));
}

Test(parse_i64_n, zero_length_and_embedded_nul_rejected)
{
	int64_t v = SENTINEL;
	cr_assert(not(parse_i64_n("1", 0, 0, 100, &v)));
	cr_assert(not(parse_i64_n("1\0", 2, 0, 100, &v)));
	cr_assert(not(parse_i64_n("\0" "1", 2, 0, 100, &v)));
	cr_assert(not(parse_i64_n(NULL, 3, 0, 100, &v)));
	cr_assert(eq(i64, v, SENTINEL));
}

Test(parse_i64_n, over_twenty_bytes_rejected)
{
	int64_t v = SENTINEL;
	/* 21 bytes even though the value would fit after the leading zeros. */
	cr_assert(not(parse_i64_n("000000000000000000001", 21, 0, INT64_MAX, &v)));
	cr_assert(eq(i64, v, SENTINEL));
}

/* --- parse_percent_decode ---------------------------------------------------- */

static long decode(const char *src, char *dst, size_t dstlen, bool plus)
{
	return parse_percent_decode(src, strlen(src), dst, dstlen, plus);
}

Test(percent_decode, empty_input_gives_empty_string)
{
	char dst[4] = "xxx";
	cr_assert(eq(long, decode("", dst, sizeof(dst), false), 0));
	cr_assert(eq(str, dst, ""));
}

Test(percent_decode, lone_percent_rejected)
{
	char dst[16];
	cr_assert(eq(long, decode("%", dst, sizeof(dst), false), -1));
	cr_assert(eq(long, decode("a%", dst, sizeof(dst), false), -1));
}

Test(percent_decode, truncated_escape_rejected)
{
	char dst[16];
	cr_assert(eq(long, decode("%4", dst, sizeof(dst), false), -1));
	cr_assert(eq(long, decode("ab%4", dst, sizeof(dst), false), -1));
}

Test(percent_decode, non_hex_escape_rejected)
{
	char dst[16];
	cr_assert(eq(long, decode("%zz", dst, sizeof(dst), false), -1));
	cr_assert(eq(long, decode("%4g", dst, sizeof(dst), false), -1));
	cr_assert(eq(long, decode("%g4", dst, sizeof(dst), false), -1));
	cr_assert(eq(long, decode("%-1", dst, sizeof(dst), false), -1));
	cr_assert(eq(long, decode("% 41", dst, sizeof(dst), false), -1));
}

Test(percent_decode, encoded_nul_rejected)
{
	char dst[16];
	cr_assert(eq(long, decode("%00", dst, sizeof(dst), false), -1));
	cr_assert(eq(long, decode("a%00b", dst, sizeof(dst), true), -1));
}

Test(percent_decode, raw_nul_in_input_rejected)
{
	char dst[16];
	cr_assert(eq(long, parse_percent_decode("a\0b", 3, dst, sizeof(dst), false), -1));
}

Test(percent_decode, valid_escapes_both_cases)
{
	char dst[16];
	cr_assert(eq(long, decode("%41%62%2f%2F", dst, sizeof(dst), false), 4));
	cr_assert(eq(str, dst, "Ab//"));
	cr_assert(eq(long, decode("%e2%82%ac", dst, sizeof(dst), false), 3));
	cr_assert(eq(str, dst, "\xe2\x82\xac"));
}

Test(percent_decode, escape_decodes_to_percent_only_once)
{
	char dst[16];
	cr_assert(eq(long, decode("%2541", dst, sizeof(dst), false), 3));
	cr_assert(eq(str, dst, "%41"));
}

Test(percent_decode, plus_is_space_only_when_asked)
{
	char dst[16];
	cr_assert(eq(long, decode("a+b", dst, sizeof(dst), true), 3));
	cr_assert(eq(str, dst, "a b"));
	cr_assert(eq(long, decode("a+b", dst, sizeof(dst), false), 3));
	cr_assert(eq(str, dst, "a+b"));
	/* An encoded plus stays a plus even in a query string. */
	cr_assert(eq(long, decode("%2B", dst, sizeof(dst), true), 1));
	cr_assert(eq(str, dst, "+"));
}

Test(percent_decode, exact_fit_and_one_past)
{
	/* dstlen is the whole buffer including the terminating NUL. */
	char dst[5];
	memset(dst, 'Z', sizeof(dst));
	cr_assert(eq(long, parse_percent_decode("abcd", 4, dst, 5, false), 4));
	cr_assert(eq(str, dst, "abcd"));

	char guard[8];
	memset(guard, 'Z', sizeof(guard));
	cr_assert(eq(long, parse_percent_decode("abcd", 4, guard, 4, false), -1));
	cr_assert(eq(chr, guard[4], 'Z'), "wrote past dstlen");
	cr_assert(eq(long, parse_percent_decode("%41%41%41%41", 12, guard, 4, false), -1));
	cr_assert(eq(chr, guard[4], 'Z'), "wrote past dstlen");
}

Test(percent_decode, zero_dstlen_rejected)
{
	char dst[1] = {'Z'};
	cr_assert(eq(long, parse_percent_decode("", 0, dst, 0, false), -1));
	cr_assert(eq(chr, dst[0], 'Z'));
}

Test(percent_decode, respects_len_not_nul)
{
	char dst[16];
	cr_assert(eq(long, parse_percent_decode("abc%41", 3, dst, sizeof(dst), false), 3));
	cr_assert(eq(str, dst, "abc"));
	/* An escape cut by len is truncated, not read past len. */
	cr_assert(eq(long, parse_percent_decode("%41", 2, dst, sizeof(dst), false), -1));
}

/* --- parse_utf8_valid / parse_utf8_len --------------------------------------- */

#define VALID(lit) parse_utf8_valid(lit, sizeof(lit) - 1)

Test(utf8, empty_and_ascii_valid)
{
	cr_assert(parse_utf8_valid("", 0));
	cr_assert(VALID("hello, world"));
	cr_assert(VALID("\x7f"));
}

Test(utf8, well_formed_multibyte_valid)
{
	cr_assert(VALID("\xc2\x80"));         /* U+0080, smallest 2-byte */
	cr_assert(VALID("\xdf\xbf"));         /* U+07FF */
	cr_assert(VALID("\xe0\xa0\x80"));     /* U+0800, smallest 3-byte */
	cr_assert(VALID("\xed\x9f\xbf"));     /* U+D7FF, just below the surrogates */
	cr_assert(VALID("\xee\x80\x80"));     /* U+E000, just above them */
	cr_assert(VALID("\xef\xbf\xbf"));     /* U+FFFF */
	cr_assert(VALID("\xf0\x90\x80\x80")); /* U+10000, smallest 4-byte */
	cr_assert(VALID("\xf4\x8f\xbf\xbf")); /* U+10FFFF, the largest */
	cr_assert(VALID("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
}

Test(utf8, overlong_rejected)
{
	cr_assert(not(VALID("\xc0\x80")));         /* NUL in two bytes */
	cr_assert(not(VALID("\xc1\xbf")));
	cr_assert(not(VALID("\xe0\x80\x80")));     /* NUL in three bytes */
	cr_assert(not(VALID("\xe0\x9f\xbf")));     /* U+07FF in three bytes */
	cr_assert(not(VALID("\xf0\x80\x80\x80"))); /* NUL in four bytes */
	cr_assert(not(VALID("\xf0\x8f\xbf\xbf"))); /* U+FFFF in four bytes */
	cr_assert(not(VALID("\xc0\xaf")));         /* the classic overlong '/' */
}

Test(utf8, surrogates_rejected)
{
	cr_assert(not(VALID("\xed\xa0\x80"))); /* U+D800 */
	cr_assert(not(VALID("\xed\xbf\xbf"))); /* U+DFFF */
	cr_assert(not(VALID("\xed\xa0\xbd\xed\xb8\x80"))); /* CESU-8 pair */
}

Test(utf8, above_u10ffff_rejected)
{
	cr_assert(not(VALID("\xf4\x90\x80\x80"))); /* U+110000 */
	cr_assert(not(VALID("\xf5\x80\x80\x80")));
	cr_assert(not(VALID("\xf7\xbf\xbf\xbf")));
	cr_assert(not(VALID("\xf8\x88\x80\x80\x80"))); /* old 5-byte form */
	cr_assert(not(VALID("\xfc\x84\x80\x80\x80\x80")));
}

Test(utf8, invalid_bytes_rejected)
{
	cr_assert(not(VALID("\xff")));
	cr_assert(not(VALID("\xfe")));
	cr_assert(not(VALID("\x80")));     /* lone continuation */
	cr_assert(not(VALID("a\xbf" "b")));
}

Test(utf8, truncated_sequences_rejected)
{
	cr_assert(not(VALID("\xc3")));
	cr_assert(not(VALID("\xe2\x82")));
	cr_assert(not(VALID("\xf0\x9f\x98")));
	cr_assert(not(VALID("abc\xf0")));
	/* A complete sequence cut by len. */
	cr_assert(not(parse_utf8_valid("\xe2\x82\xac", 2)));
	/* A lead byte followed by a non-continuation. */
	cr_assert(not(VALID("\xc3" "A")));
	cr_assert(not(VALID("\xe2\x82" "A")));
}

Test(utf8, nul_byte_is_valid_utf8)
{
	/* NUL is a valid code point; callers that forbid it check separately. */
	cr_assert(parse_utf8_valid("a\0b", 3));
}

Test(utf8, len_counts_code_points)
{
	cr_assert(eq(sz, parse_utf8_len("", 0), 0));
	cr_assert(eq(sz, parse_utf8_len("abc", 3), 3));
	cr_assert(eq(sz, parse_utf8_len("caf\xc3\xa9", 5), 4));
	cr_assert(eq(sz, parse_utf8_len("\xe2\x82\xac\xf0\x9f\x98\x80", 7), 2));
}

/* --- parse_id_list ------------------------------------------------------------ */

Test(id_list, three_ids)
{
	int64_t ids[8] = {0};
	cr_assert(eq(long, parse_id_list("1,2,3", INT64_MAX, ids, 8), 3));
	cr_assert(eq(i64, ids[0], 1));
	cr_assert(eq(i64, ids[1], 2));
	cr_assert(eq(i64, ids[2], 3));
}

Test(id_list, single_id)
{
	int64_t ids[1] = {0};
	cr_assert(eq(long, parse_id_list("9223372036854775807", INT64_MAX, ids, 1), 1));
	cr_assert(eq(i64, ids[0], INT64_MAX));
}

Test(id_list, empty_and_null_rejected)
{
	int64_t ids[4];
	cr_assert(eq(long, parse_id_list("", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list(NULL, INT64_MAX, ids, 4), -1));
}

Test(id_list, empty_items_rejected)
{
	int64_t ids[4];
	cr_assert(eq(long, parse_id_list(",", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("1,,2", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("1,", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list(",1", INT64_MAX, ids, 4), -1));
}

Test(id_list, zero_and_negative_rejected)
{
	int64_t ids[4];
	cr_assert(eq(long, parse_id_list("0", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("-1", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("1,-1", INT64_MAX, ids, 4), -1));
}

Test(id_list, junk_rejected)
{
	int64_t ids[4];
	cr_assert(eq(long, parse_id_list("1, 2", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("1;2", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("01", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("1a", INT64_MAX, ids, 4), -1));
	cr_assert(eq(long, parse_id_list("9223372036854775808", INT64_MAX, ids, 4), -1));
}

Test(id_list, above_max_rejected)
{
	int64_t ids[4];
	cr_assert(eq(long, parse_id_list("1,100", 100, ids, 4), 2));
	cr_assert(eq(long, parse_id_list("1,101", 100, ids, 4), -1));
}

Test(id_list, cap_exact_and_one_over)
{
	int64_t ids[4] = {0};
	cr_assert(eq(long, parse_id_list("1,2,3", INT64_MAX, ids, 3), 3));
	cr_assert(eq(long, parse_id_list("1,2,3,4", INT64_MAX, ids, 3), -1));
	cr_assert(eq(i64, ids[3], 0), "wrote past cap");
	cr_assert(eq(long, parse_id_list("1", INT64_MAX, ids, 0), -1));
}
