/* health.h: the one health handler: 200 {"status":"ok"} when the service's database and Redis answer. */
#ifndef STORE_HEALTH_H
#define STORE_HEALTH_H

struct request;

/* Pings the thread's database (if the service has one) and Redis; 200 or a 503 problem. */
void health_get(struct request *req);

#endif
