/* handlers.h: the product service's route handlers. */
#ifndef STORE_PRODUCT_HANDLERS_H
#define STORE_PRODUCT_HANDLERS_H

struct request;

void categories_list(struct request *req);
void categories_get(struct request *req);
void categories_create(struct request *req);
void categories_patch(struct request *req);
void categories_delete(struct request *req);

void products_list(struct request *req);
void products_get(struct request *req);
void products_by_slug(struct request *req);
void products_create(struct request *req);
void products_patch(struct request *req);
void products_delete(struct request *req);

void internal_products_brief(struct request *req);
void internal_products_rating(struct request *req);

#endif
