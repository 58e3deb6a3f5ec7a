/* main.c: the review service: verified buyers' reviews of products, moderation, rating aggregates (routes table and start-up). */
#include "config.h"
#include "handlers.h"
#include "health.h"
#include "router.h"
#include "server.h"

/* A review is at most 120 + 5000 code points of UTF-8 (4 bytes each), escaped JSON. */
#define REVIEW_BODY_MAX (64 * 1024)
#define SMALL_BODY_MAX 4096

static const struct route routes[] = {
	{"GET", "/api/v1/reviews/health", health_get, ROLE_PUBLIC, 0, NULL},
	{"GET", "/api/v1/products/{id}/reviews", product_reviews_list, ROLE_PUBLIC, 0, "sort rating limit offset"},
	{"POST", "/api/v1/products/{id}/reviews", product_reviews_create, ROLE_CUSTOMER, REVIEW_BODY_MAX, NULL},
	{"GET", "/api/v1/reviews", reviews_list, ROLE_CUSTOMER, 0, "mine status limit offset"},
	{"GET", "/api/v1/reviews/{id}", reviews_get, ROLE_OPTIONAL, 0, NULL},
	{"PATCH", "/api/v1/reviews/{id}", reviews_update, ROLE_CUSTOMER, REVIEW_BODY_MAX, NULL},
	{"DELETE", "/api/v1/reviews/{id}", reviews_delete, ROLE_CUSTOMER, 0, NULL},
	{"POST", "/api/v1/reviews/{id}/helpful", reviews_helpful, ROLE_CUSTOMER, ROUTE_NO_BODY, NULL},
	{"POST", "/api/v1/reviews/{id}/hide", reviews_hide, ROLE_ADMIN, SMALL_BODY_MAX, NULL},
	{"POST", "/api/v1/reviews/{id}/unhide", reviews_unhide, ROLE_ADMIN, ROUTE_NO_BODY, NULL},
};

int main(void)
{
	static const struct service svc = {
		.name = "review",
		.need = CONFIG_NEED_DB | CONFIG_NEED_JWT,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
		.outbox = true,
	};
	return server_main(&svc);
}
