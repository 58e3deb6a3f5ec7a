/* test_payment_card.c: card checks (fcgi-apps/payment/card.c) and the test provider (provider.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "card.h"
#include "problem.h"
#include "provider.h"

static struct field_errors errs;
static struct card c;

static void setup(void)
{
	memset(&errs, 0, sizeof(errs));
	memset(&c, 0, sizeof(c));
}

TestSuite(card, .init = setup);
TestSuite(provider, .init = setup);

Test(card, luhn)
{
	cr_assert(card_luhn_ok("4242424242424242"));
	cr_assert(card_luhn_ok("4000000000000002"));
	cr_assert(card_luhn_ok("378282246310005"));  /* amex, 15 digits */
	cr_assert(!card_luhn_ok("4242424242424241")); /* last digit off by one */
	cr_assert(!card_luhn_ok("42424242424"));      /* 11 digits: too short */
	cr_assert(!card_luhn_ok("42424242424242424242")); /* 20 digits */
	cr_assert(!card_luhn_ok("4242x24242424242"));
	cr_assert(!card_luhn_ok(""));
}

Test(card, brands)
{
	cr_assert_str_eq(card_brand("4242424242424242"), "visa");
	cr_assert_str_eq(card_brand("5555555555554444"), "mastercard");
	cr_assert_str_eq(card_brand("2223003122003222"), "mastercard");
	cr_assert_str_eq(card_brand("378282246310005"), "amex");
	cr_assert_str_eq(card_brand("6011111111111117"), "discover");
	cr_assert_str_eq(card_brand("9999999999999995"), "unknown");
}

Test(card, good_card_keeps_brand_last4_and_digits_only)
{
	cr_assert(card_check(&c, "4242 4242 4242 4242", 12, 2030, "123", 2026, 12, &errs));
	cr_assert_eq(errs.n, 0);
	cr_assert_str_eq(c.number, "4242424242424242");
	cr_assert_str_eq(c.brand, "visa");
	cr_assert_str_eq(c.last4, "4242");
	cr_assert_str_eq(c.cvc, "123");
}

Test(card, expiry_through_the_end_of_the_month)
{
	cr_assert(card_check(&c, "4242424242424242", 12, 2026, "123", 2026, 12, &errs), "this month is still valid");
	cr_assert(!card_check(&c, "4242424242424242", 11, 2026, "123", 2026, 12, &errs));
	cr_assert_str_eq(errs.items[0].field, "card.exp_year");
	cr_assert(!card_check(&c, "4242424242424242", 1, 2025, "123", 2026, 12, &errs));
	cr_assert(!card_check(&c, "4242424242424242", 13, 2030, "123", 2026, 12, &errs));
	cr_assert(!card_check(&c, "4242424242424242", 0, 2030, "123", 2026, 12, &errs));
}

Test(card, bad_numbers_and_cvcs_refused_and_wiped)
{
	cr_assert(!card_check(&c, "4242424242424241", 12, 2030, "123", 2026, 12, &errs));
	cr_assert_str_eq(errs.items[0].field, "card.number");
	cr_assert_eq(c.number[0], '\0', "a refused card is wiped");
	const char *bad_numbers[] = {"", " 4242424242424242", "4242  4242424242424242", "4242-4242-4242-4242",
				     "4242424242424242 ", "424242424242424242424", "abcd", "４２４２"};
	for (size_t i = 0; i < sizeof(bad_numbers) / sizeof(bad_numbers[0]); i++) {
		setup();
		cr_assert(!card_check(&c, bad_numbers[i], 12, 2030, "123", 2026, 12, &errs), "%s", bad_numbers[i]);
	}
	const char *bad_cvcs[] = {"", "12", "12345", "12a", " 123", "-12"};
	for (size_t i = 0; i < sizeof(bad_cvcs) / sizeof(bad_cvcs[0]); i++) {
		setup();
		cr_assert(!card_check(&c, "4242424242424242", 12, 2030, bad_cvcs[i], 2026, 12, &errs), "%s", bad_cvcs[i]);
		cr_assert_str_eq(errs.items[0].field, "card.cvc");
	}
	setup();
	cr_assert(card_check(&c, "378282246310005", 12, 2030, "1234", 2026, 12, &errs), "4-digit CVC");
}

Test(card, wipe_clears_the_secrets)
{
	cr_assert(card_check(&c, "4242424242424242", 12, 2030, "123", 2026, 12, &errs));
	card_wipe(&c);
	for (size_t i = 0; i < sizeof(c.number); i++)
		cr_assert_eq(c.number[i], 0);
	for (size_t i = 0; i < sizeof(c.cvc); i++)
		cr_assert_eq(c.cvc[i], 0);
	cr_assert_str_eq(c.last4, "4242", "what may be kept stays");
}

static enum provider_result charge(const char *number, char *reason, size_t len)
{
	const struct payment_provider *p = provider_find("test");
	struct provider_outcome out;
	cr_assert(card_check(&c, number, 12, 2030, "123", 2026, 12, &errs), "%s", number);
	p->charge(&c, 1299, "EUR", "pay_1", &out);
	snprintf(reason, len, "%s", out.reason);
	return out.result;
}

Test(provider, test_cards_are_deterministic)
{
	char reason[48];
	cr_assert_eq(charge("4242424242424242", reason, sizeof(reason)), PROVIDER_SUCCEEDED);
	cr_assert_eq(charge("4000000000000002", reason, sizeof(reason)), PROVIDER_DECLINED);
	cr_assert_str_eq(reason, "card_declined");
	cr_assert_eq(charge("4000000000009995", reason, sizeof(reason)), PROVIDER_DECLINED);
	cr_assert_str_eq(reason, "insufficient_funds");
	cr_assert_eq(charge("4000000000000119", reason, sizeof(reason)), PROVIDER_TEMPORARY);
	cr_assert_eq(charge("5555555555554444", reason, sizeof(reason)), PROVIDER_SUCCEEDED, "any other valid number");
}

Test(provider, charges_and_refunds_are_keyed)
{
	const struct payment_provider *p = provider_find("test");
	struct provider_outcome a, b;
	cr_assert_not_null(p);
	cr_assert_null(provider_find("stripe"));
	cr_assert_null(provider_find(NULL));
	cr_assert(card_check(&c, "4242424242424242", 12, 2030, "123", 2026, 12, &errs));
	p->charge(&c, 100, "EUR", "pay_7", &a);
	p->charge(&c, 100, "EUR", "pay_7", &b);
	cr_assert_str_eq(a.ref, b.ref, "the same key is the same charge");
	p->refund(a.ref, 50, "EUR", "ref_3", &b);
	cr_assert_eq(b.result, PROVIDER_SUCCEEDED);
	p->refund("not-ours", 50, "EUR", "ref_4", &b);
	cr_assert_eq(b.result, PROVIDER_DECLINED);
}
