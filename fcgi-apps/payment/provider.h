/* provider.h: the payment provider interface (charge, refund) and the built-in deterministic `test` provider. */
#ifndef STORE_PAYMENT_PROVIDER_H
#define STORE_PAYMENT_PROVIDER_H

#include <stdint.h>

struct card;

enum provider_result {
	PROVIDER_SUCCEEDED = 0,
	PROVIDER_DECLINED,  /* a final refusal; `reason` says why ("card_declined", "insufficient_funds") */
	PROVIDER_TEMPORARY, /* the provider could not answer: nothing was charged, a new attempt may work */
};

/* What a provider says. */
struct provider_outcome {
	enum provider_result result;
	char reason[48]; /* for DECLINED and TEMPORARY */
	char ref[64];    /* the provider's id of the charge or refund, for SUCCEEDED */
};

/* A provider: each call is idempotent by `key` (the payment's or the refund's own id), so a
 * retried call never charges or refunds twice. `card` is borrowed and never kept. */
struct payment_provider {
	const char *name;
	void (*charge)(const struct card *card, int64_t amount, const char *currency, const char *key,
		       struct provider_outcome *out);
	void (*refund)(const char *charge_ref, int64_t amount, const char *currency, const char *key,
		       struct provider_outcome *out);
};

/* The provider named `name` ("test"), or NULL. */
const struct payment_provider *provider_find(const char *name);

#endif
