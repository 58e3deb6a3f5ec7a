/* handlers.h: the user service's route handlers. */
#ifndef STORE_USER_HANDLERS_H
#define STORE_USER_HANDLERS_H

struct request;

void health_get(struct request *req);

#endif
