/* lists.h: ?limit= and ?offset= with bounds, and the {"items","total","limit","offset"} envelope. */
#ifndef STORE_LISTS_H
#define STORE_LISTS_H

#include <stdbool.h>
#include <stdint.h>

struct request;
struct json_object;
struct field_errors;

#define LIST_LIMIT_DEFAULT 20
#define LIST_LIMIT_MAX 100
#define LIST_OFFSET_MAX 1000000

struct list_params {
	int64_t limit;  /* 1..100, default 20 */
	int64_t offset; /* 0..1000000, default 0 */
};

/* Parses limit and offset; on a bad value adds field errors and returns false. */
bool list_params_parse(const struct request *req, struct list_params *lp, struct field_errors *errs);

/* Returns a new envelope object (caller owns); takes ownership of `items` (an array). */
struct json_object *list_envelope(struct json_object *items, int64_t total, const struct list_params *lp);

#endif
