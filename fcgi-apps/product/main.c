/* main.c: the product service: categories and products (routes table and start-up). */
#include "config.h"
#include "handlers.h"
#include "health.h"
#include "router.h"
#include "server.h"

static const struct route routes[] = {
	{"GET", "/api/v1/products/health", health_get, ROLE_PUBLIC},
	{"GET", "/api/v1/categories", categories_list, ROLE_PUBLIC},
	{"POST", "/api/v1/categories", categories_create, ROLE_ADMIN},
	{"GET", "/api/v1/categories/{id}", categories_get, ROLE_PUBLIC},
	{"PATCH", "/api/v1/categories/{id}", categories_patch, ROLE_ADMIN},
	{"DELETE", "/api/v1/categories/{id}", categories_delete, ROLE_ADMIN},
	{"GET", "/api/v1/products", products_list, ROLE_OPTIONAL},
	{"POST", "/api/v1/products", products_create, ROLE_ADMIN},
	{"GET", "/api/v1/products/by-slug/{slug}", products_by_slug, ROLE_OPTIONAL},
	{"GET", "/api/v1/products/{id}", products_get, ROLE_OPTIONAL},
	{"PATCH", "/api/v1/products/{id}", products_patch, ROLE_ADMIN},
	{"DELETE", "/api/v1/products/{id}", products_delete, ROLE_ADMIN},
	{"GET", "/internal/product/products", internal_products_brief, ROLE_INTERNAL},
	{"POST", "/internal/product/products/{id}/rating", internal_products_rating, ROLE_INTERNAL},
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
