/* main.c: the inventory service: stock, ledger and reservations (routes table and start-up). */
#include <stddef.h>

#include "config.h"
#include "handlers.h"
#include "health.h"
#include "router.h"
#include "server.h"

/* A batch of OUTBOX_BATCH_MAX items (an order_ref of at most 64 characters and an action) and
 * their request ids: a cap of its own, so that a lowered STORE_MAX_BODY cannot refuse (and so
 * give up) whole batches. */
#define FINISHES_BODY_MAX 32768

static const struct route routes[] = {
	{"GET", "/api/v1/inventory/health", health_get, ROLE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/inventory", stock_many, ROLE_OPTIONAL, 0, "product_ids"},
	{"GET", "/api/v1/inventory/low-stock", stock_low, ROLE_ADMIN, 0, "limit offset"},
	{"GET", "/api/v1/inventory/{product_id}", stock_get, ROLE_OPTIONAL, 0, NULL},
	{"PUT", "/api/v1/inventory/{product_id}", stock_put, ROLE_ADMIN, 0, NULL},
	{"POST", "/api/v1/inventory/{product_id}/adjustments", stock_adjust, ROLE_ADMIN, 0, NULL},
	{"GET", "/api/v1/inventory/{product_id}/movements", stock_movements, ROLE_ADMIN, 0, "limit offset"},
	{"GET", "/internal/inventory/levels", stock_levels, ROLE_INTERNAL, 0, "ids"},
	{"POST", "/internal/inventory/reservations", reservation_create, ROLE_INTERNAL, 0, NULL},
	{"POST", "/internal/inventory/reservations/finishes", reservation_finishes, ROLE_INTERNAL, FINISHES_BODY_MAX, NULL},
	{"GET", "/internal/inventory/reservations/{order_ref}", reservation_get, ROLE_INTERNAL, 0, NULL},
	{"POST", "/internal/inventory/reservations/{order_ref}/commit", reservation_commit, ROLE_INTERNAL, ROUTE_NO_BODY, NULL},
	{"POST", "/internal/inventory/reservations/{order_ref}/release", reservation_release, ROLE_INTERNAL, ROUTE_NO_BODY, NULL},
};

struct inventory_settings inventory_settings;

static const struct config_var settings[] = {
	{"STORE_ALERT_EMAIL", CONFIG_STR, offsetof(struct inventory_settings, alert_email), "ops@localhost", 3, 254, 0},
};

int main(void)
{
	static const struct service svc = {
		.name = "inventory",
		.need = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.background = expiry_loop,
		.outbox = true,
		.settings = settings,
		.nsettings = sizeof(settings) / sizeof(settings[0]),
		.settings_dest = &inventory_settings,
	};
	return server_main(&svc);
}
