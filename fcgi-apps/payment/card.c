/* card.c: what the payment service checks of a card before it is charged. */
#include "card.h"

#include <string.h>

#include "problem.h"

bool card_luhn_ok(const char *d)
{
	size_t n = strlen(d);
	int sum = 0;
	if (n < CARD_DIGITS_MIN || n > CARD_DIGITS_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		int v = d[n - 1 - i] - '0';
		if (v < 0 || v > 9)
			return false;
		if (i % 2 == 1) {
			v *= 2;
			if (v > 9)
				v -= 9;
		}
		sum += v;
	}
	return sum % 10 == 0;
}

static bool prefix_in(const char *d, int len, long lo, long hi)
{
	long v = 0;
	for (int i = 0; i < len; i++) {
		if (!d[i])
			return false;
		v = v * 10 + (d[i] - '0');
	}
	return v >= lo && v <= hi;
}

const char *card_brand(const char *d)
{
	if (d[0] == '4')
		return "visa";
	if (prefix_in(d, 2, 51, 55) || prefix_in(d, 4, 2221, 2720))
		return "mastercard";
	if (prefix_in(d, 2, 34, 34) || prefix_in(d, 2, 37, 37))
		return "amex";
	if (prefix_in(d, 4, 6011, 6011) || prefix_in(d, 2, 65, 65))
		return "discover";
	return "unknown";
}

bool card_check(struct card *c, const char *number, long exp_month, long exp_year, const char *cvc, int now_year,
		int now_month, struct field_errors *errs)
{
	size_t before = errs->n, n = 0;
	bool digits_ok = true;

	memset(c, 0, sizeof(*c));
	/* Digits, with single spaces between groups as printed on the card. */
	for (const char *p = number; *p && digits_ok; p++) {
		if (*p >= '0' && *p <= '9') {
			if (n == CARD_DIGITS_MAX)
				digits_ok = false;
			else
				c->number[n++] = *p;
		} else if (!(*p == ' ' && p != number && p[1] && p[1] != ' ')) {
			digits_ok = false;
		}
	}
	c->number[n] = '\0';
	if (!digits_ok || n < CARD_DIGITS_MIN)
		problem_add(errs, "card.number", "must be %d to %d digits", CARD_DIGITS_MIN, CARD_DIGITS_MAX);
	else if (!card_luhn_ok(c->number))
		problem_add(errs, "card.number", "is not a valid card number");
	else {
		strcpy(c->brand, card_brand(c->number));
		memcpy(c->last4, c->number + n - 4, 5);
	}
	c->exp_month = (int)exp_month;
	c->exp_year = (int)exp_year;
	if (exp_month < 1 || exp_month > 12)
		problem_add(errs, "card.exp_month", "must be 1 to 12");
	else if (exp_year < now_year || (exp_year == now_year && exp_month < now_month))
		problem_add(errs, "card.exp_year", "the card has expired");
	else if (exp_year > now_year + 20)
		problem_add(errs, "card.exp_year", "is too far in the future");
	size_t cl = strlen(cvc);
	if (cl < 3 || cl > 4 || strspn(cvc, "0123456789") != cl)
		problem_add(errs, "card.cvc", "must be 3 or 4 digits");
	else
		memcpy(c->cvc, cvc, cl + 1);
	if (errs->n != before) {
		card_wipe(c);
		return false;
	}
	return true;
}

void card_wipe(struct card *c)
{
	explicit_bzero(c->number, sizeof(c->number));
	explicit_bzero(c->cvc, sizeof(c->cvc));
}
