/* handlers.h: the review service's routes. */
#ifndef STORE_REVIEW_HANDLERS_H
#define STORE_REVIEW_HANDLERS_H

struct request;

void product_reviews_list(struct request *req);
void product_reviews_create(struct request *req);
void reviews_list(struct request *req);
void reviews_get(struct request *req);
void reviews_update(struct request *req);
void reviews_delete(struct request *req);
void reviews_helpful(struct request *req);
void reviews_hide(struct request *req);
void reviews_unhide(struct request *req);

#endif
