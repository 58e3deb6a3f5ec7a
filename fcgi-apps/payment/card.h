/* card.h: card checks (Luhn, expiry, CVC), brand and last four digits; the number never leaves memory. */
#ifndef STORE_PAYMENT_CARD_H
#define STORE_PAYMENT_CARD_H

#include <stdbool.h>
#include <stddef.h>

struct field_errors;

#define CARD_DIGITS_MIN 12
#define CARD_DIGITS_MAX 19

/* A card as the request gave it, checked. `number` holds digits only. */
struct card {
	char number[CARD_DIGITS_MAX + 1];
	char cvc[5];
	int exp_month, exp_year;
	char brand[16]; /* "visa", "mastercard", "amex", "discover" or "unknown" */
	char last4[5];
};

/* true when `digits` (digits only) passes the Luhn check. */
bool card_luhn_ok(const char *digits);

/* The brand of a number by its prefix; a static string. */
const char *card_brand(const char *digits);

/*
 * Fills `c` from the request's values: `number` (digits, spaces allowed between groups),
 * `exp_month`/`exp_year` (the card is valid through the end of that month, compared with
 * `now_year`/`now_month` in UTC), `cvc` (3 or 4 digits). Adds a field error for each
 * that is wrong ("card.number", "card.exp_month", "card.cvc"...). Returns true when all pass.
 */
bool card_check(struct card *c, const char *number, long exp_month, long exp_year, const char *cvc, int now_year,
		int now_month, struct field_errors *errs);

/* Overwrites the card's secrets (number and CVC) in memory. */
void card_wipe(struct card *c);

#endif
