/* main.c: the payment service: card payments of orders through a provider, refunds (routes table and start-up). */
#include <stddef.h>
#include <stdio.h>

#include "config.h"
#include "handlers.h"
#include "health.h"
#include "provider.h"
#include "router.h"
#include "server.h"

/* A payment body is small: an order id and a card. */
#define PAYMENT_BODY_MAX 4096

static const struct route routes[] = {
	{"GET", "/api/v1/payments/health", health_get, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/payments", payments_create, ROLE_CUSTOMER, PAYMENT_BODY_MAX, NULL},
	{"GET", "/api/v1/payments", payments_list, ROLE_CUSTOMER, 0, "order_id status limit offset"},
	{"GET", "/api/v1/payments/{id}", payments_get, ROLE_CUSTOMER, 0, NULL},
	{"POST", "/api/v1/payments/{id}/refunds", refunds_create, ROLE_ADMIN, PAYMENT_BODY_MAX, NULL},
	{"POST", "/internal/payment/refunds", internal_refund_order, ROLE_INTERNAL, PAYMENT_BODY_MAX, NULL},
};

static const struct config_var settings[] = {
	{"STORE_PAYMENT_PROVIDER", CONFIG_STR, offsetof(struct payment_settings, provider), "test", 1, 32, 0},
};

static int init(const struct store_config *cfg)
{
	(void)cfg;
	payment_provider = provider_find(payment_settings.provider);
	if (!payment_provider) {
		fprintf(stderr, "store-payment: STORE_PAYMENT_PROVIDER: no provider named %s (built in: test)\n",
			payment_settings.provider);
		return -1;
	}
	return 0;
}

int main(void)
{
	static const struct service svc = {
		.name = "payment",
		.need = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.init = init,
		.background = payments_sweeper,
		.outbox = true,
		.settings = settings,
		.nsettings = sizeof(settings) / sizeof(settings[0]),
		.settings_dest = &payment_settings,
	};
	return server_main(&svc);
}
