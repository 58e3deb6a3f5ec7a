/* test_cart_rules.c: the cart's pure rules: guest token format, quantity merging, line problems, If-Match. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdint.h>
#include <string.h>

#include "rules.h"
#include "token.h"

static void init(void)
{
	cr_assert_geq(sodium_init(), 0);
}

TestSuite(cart_token, .init = init);

Test(cart_token, empty_and_null_are_not_tokens)
{
	cr_assert_not(cart_token_valid(NULL));
	cr_assert_not(cart_token_valid(""));
	cr_assert_not(cart_token_valid("ct_"));
}

Test(cart_token, new_tokens_are_valid_unique_and_long_enough)
{
	char a[CART_TOKEN_LEN + 1], b[CART_TOKEN_LEN + 1];
	cart_token_new(a);
	cart_token_new(b);
	cr_assert_eq(strlen(a), CART_TOKEN_LEN);
	cr_assert_eq(strncmp(a, "ct_", 3), 0);
	cr_assert(cart_token_valid(a), "%s", a);
	cr_assert(cart_token_valid(b), "%s", b);
	cr_assert_str_neq(a, b);
	/* 43 base64 characters carry 258 bits, of which 256 random: well over the 128 asked for. */
	for (size_t i = 3; i < CART_TOKEN_LEN; i++)
		cr_assert(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", a[i]), "%s", a);
}

Test(cart_token, one_short_one_long_wrong_prefix_and_alphabet)
{
	char t[CART_TOKEN_LEN + 2];
	cart_token_new(t);
	char s[CART_TOKEN_LEN + 8];
	memcpy(s, t, CART_TOKEN_LEN - 1);
	s[CART_TOKEN_LEN - 1] = '\0';
	cr_assert_not(cart_token_valid(s), "one short");
	memcpy(s, t, CART_TOKEN_LEN);
	memcpy(s + CART_TOKEN_LEN, "A", 2);
	cr_assert_not(cart_token_valid(s), "one long");
	memcpy(s, t, CART_TOKEN_LEN + 1);
	s[0] = 'C';
	cr_assert_not(cart_token_valid(s), "prefix");
	memcpy(s, t, CART_TOKEN_LEN + 1);
	s[10] = '+';
	cr_assert_not(cart_token_valid(s), "standard base64 character");
	s[10] = '=';
	cr_assert_not(cart_token_valid(s), "padding");
	s[10] = ' ';
	cr_assert_not(cart_token_valid(s), "space");
	s[10] = '\'';
	cr_assert_not(cart_token_valid(s), "quote");
}

Test(cart_token, stray_bits_in_the_last_character_are_refused)
{
	/* 32 bytes leave 2 unused bits in the 43rd character: "A" (000000) has them clear, "B"
	 * (000001) does not, so a token differing only there would be a second spelling. */
	char t[CART_TOKEN_LEN + 1];
	memset(t, 'A', CART_TOKEN_LEN);
	memcpy(t, "ct_", 3);
	t[CART_TOKEN_LEN] = '\0';
	cr_assert(cart_token_valid(t));
	t[CART_TOKEN_LEN - 1] = 'B';
	cr_assert_not(cart_token_valid(t));
}

Test(cart_token, hash_is_hex_stable_and_not_the_token)
{
	char t[CART_TOKEN_LEN + 1], h1[CART_TOKEN_HASH_LEN + 1], h2[CART_TOKEN_HASH_LEN + 1];
	cart_token_new(t);
	cart_token_hash(t, h1);
	cart_token_hash(t, h2);
	cr_assert_str_eq(h1, h2);
	cr_assert_eq(strlen(h1), CART_TOKEN_HASH_LEN);
	cr_assert_eq(strspn(h1, "0123456789abcdef"), CART_TOKEN_HASH_LEN);
	cr_assert_null(strstr(h1, t + 3));
	t[5] = t[5] == 'x' ? 'y' : 'x';
	cart_token_hash(t, h2);
	cr_assert_str_neq(h1, h2);
}

Test(cart_qty, merge_adds_and_caps)
{
	cr_assert_eq(cart_qty_merge(1, 1), 2);
	cr_assert_eq(cart_qty_merge(0, 0), 0);
	cr_assert_eq(cart_qty_merge(50, 49), 99);
	cr_assert_eq(cart_qty_merge(50, 50), 99, "one past the maximum is capped");
	cr_assert_eq(cart_qty_merge(99, 99), 99);
	cr_assert_eq(cart_qty_merge(98, 1), 99);
	cr_assert_eq(cart_qty_merge(INT64_MAX, INT64_MAX), 99, "no overflow");
	cr_assert_eq(cart_qty_merge(1, INT64_MAX), 99);
	cr_assert_eq(cart_qty_merge(-5, 3), 3, "negatives count as 0");
	cr_assert_eq(cart_qty_merge(INT64_MIN, INT64_MIN), 0);
}

Test(cart_problem, worst_first)
{
	cr_assert_eq(cart_line_problem(true, 10, 2, 500, 500), CART_LINE_OK);
	cr_assert_eq(cart_line_problem(true, 2, 2, 500, 500), CART_LINE_OK, "exactly enough");
	cr_assert_eq(cart_line_problem(true, 1, 2, 500, 500), CART_LINE_INSUFFICIENT_STOCK);
	cr_assert_eq(cart_line_problem(true, 0, 1, 500, 500), CART_LINE_INSUFFICIENT_STOCK);
	cr_assert_eq(cart_line_problem(true, 10, 2, 450, 500), CART_LINE_PRICE_CHANGED);
	cr_assert_eq(cart_line_problem(true, 10, 2, 550, 500), CART_LINE_PRICE_CHANGED);
	cr_assert_eq(cart_line_problem(true, 0, 2, 450, 500), CART_LINE_INSUFFICIENT_STOCK, "stock beats price");
	cr_assert_eq(cart_line_problem(false, 10, 2, 500, 500), CART_LINE_UNAVAILABLE);
	cr_assert_eq(cart_line_problem(false, 0, 2, 1, 500), CART_LINE_UNAVAILABLE, "unavailable beats all");
}

Test(cart_problem, names)
{
	cr_assert_null(cart_problem_name(CART_LINE_OK));
	cr_assert_str_eq(cart_problem_name(CART_LINE_PRICE_CHANGED), "price_changed");
	cr_assert_str_eq(cart_problem_name(CART_LINE_INSUFFICIENT_STOCK), "insufficient_stock");
	cr_assert_str_eq(cart_problem_name(CART_LINE_UNAVAILABLE), "unavailable");
	cr_assert_null(cart_problem_name((enum cart_problem)42));
}

Test(cart_if_match, absent_star_and_lists)
{
	cr_assert_eq(cart_if_match(NULL, 3), IF_MATCH_ABSENT);
	cr_assert_eq(cart_if_match("*", 3), IF_MATCH_OK);
	cr_assert_eq(cart_if_match(" * ", 0), IF_MATCH_OK);
	cr_assert_eq(cart_if_match("\"3\"", 3), IF_MATCH_OK);
	cr_assert_eq(cart_if_match("\"0\"", 0), IF_MATCH_OK);
	cr_assert_eq(cart_if_match("\"2\", \"3\"", 3), IF_MATCH_OK);
	cr_assert_eq(cart_if_match("\"2\",\"4\"", 3), IF_MATCH_FAILED);
	cr_assert_eq(cart_if_match(", \"3\" ,", 3), IF_MATCH_OK, "empty list elements");
	cr_assert_eq(cart_if_match("\"9223372036854775807\"", INT64_MAX), IF_MATCH_OK);
}

Test(cart_if_match, strong_comparison_and_odd_tags_fail)
{
	cr_assert_eq(cart_if_match("W/\"3\"", 3), IF_MATCH_FAILED, "a weak tag never matches");
	cr_assert_eq(cart_if_match("\"03\"", 3), IF_MATCH_FAILED, "another spelling is another tag");
	cr_assert_eq(cart_if_match("\"\"", 0), IF_MATCH_FAILED);
	cr_assert_eq(cart_if_match("\"-1\"", -1), IF_MATCH_FAILED);
	cr_assert_eq(cart_if_match("\"abc\"", 3), IF_MATCH_FAILED);
	cr_assert_eq(cart_if_match("\"9223372036854775808\"", 0), IF_MATCH_FAILED, "overflow");
	cr_assert_eq(cart_if_match("\"99999999999999999999999\"", 0), IF_MATCH_FAILED);
}

Test(cart_if_match, malformed)
{
	cr_assert_eq(cart_if_match("", 3), IF_MATCH_MALFORMED);
	cr_assert_eq(cart_if_match(" , ", 3), IF_MATCH_MALFORMED);
	cr_assert_eq(cart_if_match("3", 3), IF_MATCH_MALFORMED, "unquoted");
	cr_assert_eq(cart_if_match("\"3", 3), IF_MATCH_MALFORMED, "unterminated");
	cr_assert_eq(cart_if_match("\"3\"x", 3), IF_MATCH_MALFORMED, "junk after a tag");
	cr_assert_eq(cart_if_match("\"3 4\"", 3), IF_MATCH_MALFORMED, "space inside");
	cr_assert_eq(cart_if_match("*, \"3\"", 3), IF_MATCH_MALFORMED, "star in a list");
	cr_assert_eq(cart_if_match("\"3\", *", 3), IF_MATCH_MALFORMED);
	cr_assert_eq(cart_if_match("w/\"3\"", 3), IF_MATCH_MALFORMED, "W/ is case-sensitive");
	cr_assert_eq(cart_if_match("\"\x01\"", 3), IF_MATCH_MALFORMED, "control character");
}
