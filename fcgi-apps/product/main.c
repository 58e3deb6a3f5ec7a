/* main.c: the product service: categories and products (routes table and start-up). */
#include "config.h"
#include "handlers.h"
#include "health.h"
#include "router.h"
#include "server.h"

static const struct route routes[] = {
	{"GET", "/api/v1/products/health", health_get, ROLE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/categories", categories_list, ROLE_PUBLIC, 0, NULL},
	{"POST", "/api/v1/categories", categories_create, ROLE_ADMIN, 0, NULL},
	{"GET", "/api/v1/categories/{id}", categories_get, ROLE_PUBLIC, 0, NULL},
	{"PATCH", "/api/v1/categories/{id}", categories_patch, ROLE_ADMIN, 0, NULL},
	{"DELETE", "/api/v1/categories/{id}", categories_delete, ROLE_ADMIN, 0, NULL},
	{"GET", "/api/v1/products", products_list, ROLE_OPTIONAL, 0,
	 "category min_price max_price q status sort limit offset cursor"},
	{"POST", "/api/v1/products", products_create, ROLE_ADMIN, 0, NULL},
	{"GET", "/api/v1/products/by-slug/{slug}", products_by_slug, ROLE_OPTIONAL, 0, NULL},
	{"GET", "/api/v1/products/{id}", products_get, ROLE_OPTIONAL, 0, NULL},
	{"PATCH", "/api/v1/products/{id}", products_patch, ROLE_ADMIN, 0, NULL},
	{"DELETE", "/api/v1/products/{id}", products_delete, ROLE_ADMIN, 0, NULL},
	{"GET", "/internal/product/products", internal_products_brief, ROLE_INTERNAL, 0, "ids"},
	{"POST", "/internal/product/products/{id}/rating", internal_products_rating, ROLE_INTERNAL, 0, NULL},
};

int main(void)
{
	static const struct service svc = {
		.name = "product",
		.need = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
	};
	return server_main(&svc);
}
