/* handlers.h: the cart service's route handlers and the sweeper. */
#ifndef STORE_CART_HANDLERS_H
#define STORE_CART_HANDLERS_H

struct request;
struct ctx;
struct store_config;

/* Public: the caller's own cart, by bearer token or X-Cart-Token (carts.c). */
void carts_create(struct request *req);
void cart_get(struct request *req);
void cart_empty(struct request *req);
void cart_item_put(struct request *req);
void cart_item_delete(struct request *req);
void cart_merge(struct request *req);

/* Internal, for the order service (internal.c). */
void internal_cart_get(struct request *req);
void internal_cart_clear(struct request *req);
void internal_cart_clears(struct request *req);

/* Once at start: libsodium for the tokens. Returns 0 or -1. */
int cart_init(const struct store_config *cfg);

/* The background sweeper: deletes guest carts idle past their expiry, safe with several instances. */
void guest_expiry_loop(struct ctx *ctx);

#endif
