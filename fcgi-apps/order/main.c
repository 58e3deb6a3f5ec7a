/* main.c: the order service: checkout from the cart and an order's life (routes table and start-up). */
#include <stddef.h>

#include "config.h"
#include "handlers.h"
#include "health.h"
#include "router.h"
#include "server.h"

/* A checkout body is an address and a note of at most 1000 characters: 16 KiB is ample, and a
 * larger body is refused before it is read. */
#define ORDER_BODY_MAX 16384
/* A batch of OUTBOX_BATCH_MAX "paid" items (about 80 bytes) and their request ids (about 35): a
 * cap of its own, so that a lowered STORE_MAX_BODY cannot refuse (and so give up) whole batches. */
#define BATCH_BODY_MAX 32768

static const struct route routes[] = {
	{"GET", "/api/v1/orders/health", health_get, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/orders", orders_create, ROLE_CUSTOMER, ORDER_BODY_MAX, NULL},
	{"GET", "/api/v1/orders", orders_list, ROLE_CUSTOMER, 0, "limit offset status user_id placed_from placed_to"},
	{"GET", "/api/v1/orders/{id}", orders_get, ROLE_CUSTOMER, 0, NULL},
	{"POST", "/api/v1/orders/{id}/cancel", orders_cancel, ROLE_CUSTOMER, ORDER_BODY_MAX, NULL},
	{"POST", "/api/v1/orders/{id}/ship", orders_ship, ROLE_ADMIN, ORDER_BODY_MAX, NULL},
	{"POST", "/api/v1/orders/{id}/deliver", orders_deliver, ROLE_ADMIN, ORDER_BODY_MAX, NULL},
	{"GET", "/internal/order/orders/{id}", orders_internal_get, ROLE_INTERNAL, 0, NULL},
	{"POST", "/internal/order/orders/{id}/paid", orders_internal_paid, ROLE_INTERNAL, ORDER_BODY_MAX, NULL},
	{"POST", "/internal/order/paid", orders_internal_paid_batch, ROLE_INTERNAL, BATCH_BODY_MAX, NULL},
	{"POST", "/internal/order/orders/{id}/refunded", orders_internal_refunded, ROLE_INTERNAL, ORDER_BODY_MAX, NULL},
	{"GET", "/internal/order/users/{user_id}/delivered/{product_id}", orders_internal_delivered_with, ROLE_INTERNAL,
	 0, NULL},
};

struct order_settings order_settings;

static const struct config_var settings[] = {
	{"STORE_ORDER_TTL", CONFIG_INT, offsetof(struct order_settings, ttl), "900", 60, 86400, 0},
	{"STORE_ORDER_SHIPPING_FEE", CONFIG_INT, offsetof(struct order_settings, shipping_fee), "490", 0, 100000000, 0},
	{"STORE_ORDER_FREE_SHIPPING_FROM", CONFIG_INT, offsetof(struct order_settings, free_from), "5000", 0,
	 100000000000, 0},
	{"STORE_ORDER_IDEMPOTENCY_LEASE", CONFIG_INT, offsetof(struct order_settings, lease), "30", 2, 600, 0},
	{"STORE_ORDER_RESERVE_GRACE", CONFIG_INT, offsetof(struct order_settings, reserve_grace), "300", 10, 3600, 0},
};

int main(void)
{
	static const struct service svc = {
		.name = "order",
		.need = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.background = orders_expiry_loop,
		.outbox = true,
		.settings = settings,
		.nsettings = sizeof(settings) / sizeof(settings[0]),
		.settings_dest = &order_settings,
	};
	return server_main(&svc);
}
