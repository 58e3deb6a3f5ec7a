/* product_client.h: the product service's typed client, for the services that price or check products. */
#ifndef STORE_PRODUCT_CLIENT_H
#define STORE_PRODUCT_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct client;

#define PRODUCT_BRIEF_MAX 100 /* ids per call */

/* What another service needs to know of one product. */
struct product_brief {
	int64_t id;
	char sku[65];
	char name[801];    /* 200 code points of UTF-8 */
	char image[2049];  /* the first image URL, "" when it has none */
	int64_t price;     /* minor units */
	char currency[4];
	char status[16];   /* "draft", "active", "archived" */
};

/* true when the product is on sale. */
bool product_brief_active(const struct product_brief *b);

/*
 * Reads ids[0..n) (n <= PRODUCT_BRIEF_MAX) in one call. Fills out[0..*found) in id order with
 * the products that exist (unknown ids are left out). Returns 0; -1 when the product service
 * cannot be reached or answered something unexpected (logged; the caller answers 503).
 */
int product_client_briefs(struct client *c, const char *request_id, const int64_t *ids, size_t n,
			  struct product_brief *out, size_t *found);

/* Returns the brief of `id` among out[0..n), or NULL. */
const struct product_brief *product_brief_find(const struct product_brief *b, size_t n, int64_t id);

#endif
