/* provider.c: the providers built in: `test`, deterministic by card number like the test cards providers publish. */
#include "provider.h"

#include <stdio.h>
#include <string.h>

#include "card.h"

/* The published test numbers and what they do; any other valid number succeeds. */
static const struct {
	const char *number;
	enum provider_result result;
	const char *reason;
} test_cards[] = {
	{"4000000000000002", PROVIDER_DECLINED, "card_declined"},
	{"4000000000009995", PROVIDER_DECLINED, "insufficient_funds"},
	{"4000000000000119", PROVIDER_TEMPORARY, "provider_unavailable"},
};

static void test_charge(const struct card *card, int64_t amount, const char *currency, const char *key,
			struct provider_outcome *out)
{
	(void)amount;
	(void)currency;
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(test_cards) / sizeof(test_cards[0]); i++) {
		if (strcmp(card->number, test_cards[i].number) == 0) {
			out->result = test_cards[i].result;
			snprintf(out->reason, sizeof(out->reason), "%s", test_cards[i].reason);
			return;
		}
	}
	out->result = PROVIDER_SUCCEEDED;
	snprintf(out->ref, sizeof(out->ref), "test_ch_%.40s", key);
}

static void test_refund(const char *charge_ref, int64_t amount, const char *currency, const char *key,
			struct provider_outcome *out)
{
	(void)amount;
	(void)currency;
	memset(out, 0, sizeof(*out));
	if (strncmp(charge_ref, "test_ch_", 8) != 0) {
		out->result = PROVIDER_DECLINED;
		snprintf(out->reason, sizeof(out->reason), "unknown_charge");
		return;
	}
	out->result = PROVIDER_SUCCEEDED;
	snprintf(out->ref, sizeof(out->ref), "test_re_%.40s", key);
}

static const struct payment_provider providers[] = {
	{"test", test_charge, test_refund},
};

const struct payment_provider *provider_find(const char *name)
{
	for (size_t i = 0; i < sizeof(providers) / sizeof(providers[0]); i++)
		if (name && strcmp(providers[i].name, name) == 0)
			return &providers[i];
	return NULL;
}
