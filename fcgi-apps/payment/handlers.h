/* handlers.h: the payment service's routes and background loop. */
#ifndef STORE_PAYMENT_HANDLERS_H
#define STORE_PAYMENT_HANDLERS_H

struct request;
struct ctx;
struct payment_provider;

/* The payment service's own settings: filled once at start, read-only afterwards. */
struct payment_settings {
	char *provider; /* STORE_PAYMENT_PROVIDER, default "test" */
};
extern struct payment_settings payment_settings;

/* The provider named by the settings (set by main before serving). */
extern const struct payment_provider *payment_provider;

void payments_create(struct request *req);
void payments_list(struct request *req);
void payments_get(struct request *req);
void refunds_create(struct request *req);
void internal_refund_order(struct request *req);

/* Background: payments interrupted mid-charge, refunds interrupted mid-call, payments whose
 * order refused them (refunded), old idempotency keys. Runs until the server stops. */
void payments_sweeper(struct ctx *ctx);

#endif
