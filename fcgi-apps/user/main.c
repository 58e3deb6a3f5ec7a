/* main.c: the user service: accounts, credentials and sessions (routes table and start-up). */
#include "config.h"
#include "handlers.h"
#include "router.h"
#include "server.h"

static const struct route routes[] = {
	{"GET", "/api/v1/users/health", health_get, ROLE_PUBLIC},
};

int main(void)
{
	static const struct service svc = {
		.name = "user",
		.need = CONFIG_NEED_DB,
		.routes = routes,
		.nroutes = sizeof(routes) / sizeof(routes[0]),
	};
	return server_main(&svc);
}
