/* main.c: the cart service: shoppers' carts for guests and signed-in users (routes table and start-up). */
#include "config.h"
#include "handlers.h"
#include "health.h"
#include "router.h"
#include "server.h"

/* A cart body is one small object ({"quantity": 3}, {"version": 12}). */
#define CART_BODY_MAX 1024
#define CLEARS_BODY_MAX 16384 /* 64 items and their request ids */

static const struct route routes[] = {
	{"GET", "/api/v1/cart/health", health_get, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/carts", carts_create, ROLE_PUBLIC, ROUTE_NO_BODY, NULL},
	{"GET", "/api/v1/cart", cart_get, ROLE_OPTIONAL, 0, NULL},
	{"DELETE", "/api/v1/cart", cart_empty, ROLE_OPTIONAL, 0, NULL},
	{"PUT", "/api/v1/cart/items/{product_id}", cart_item_put, ROLE_OPTIONAL, CART_BODY_MAX, NULL},
	{"DELETE", "/api/v1/cart/items/{product_id}", cart_item_delete, ROLE_OPTIONAL, 0, NULL},
	{"POST", "/api/v1/cart/merge", cart_merge, ROLE_CUSTOMER, ROUTE_NO_BODY, NULL},
	{"GET", "/internal/cart/users/{user_id}", internal_cart_get, ROLE_INTERNAL, 0, NULL},
	{"POST", "/internal/cart/users/{user_id}/clear", internal_cart_clear, ROLE_INTERNAL, CART_BODY_MAX, NULL},
	{"POST", "/internal/cart/clears", internal_cart_clears, ROLE_INTERNAL, CLEARS_BODY_MAX, NULL},
};

int main(void)
{
	static const struct service svc = {
		.name = "cart",
		.need = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.init = cart_init,
		.background = guest_expiry_loop,
	};
	return server_main(&svc);
}
