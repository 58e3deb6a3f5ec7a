/* rules.h: the review service's pure rules: sort names, the average as the API writes it, the aggregate's shape. */
#ifndef STORE_REVIEW_RULES_H
#define STORE_REVIEW_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The orders of the public list (?sort=). */
enum review_sort {
	REVIEW_SORT_NEWEST = 0,
	REVIEW_SORT_OLDEST,
	REVIEW_SORT_RATING_DESC,
	REVIEW_SORT_RATING_ASC,
	REVIEW_SORT_HELPFUL,
	REVIEW_SORT_COUNT
};

/* Reads a ?sort= value; NULL is the default (newest). Returns false for anything else. */
bool review_sort_parse(const char *s, enum review_sort *out);

/* The counts of a product's visible reviews by star. */
struct review_aggregate {
	int64_t count, total;   /* reviews, sum of their ratings */
	int64_t stars[5];       /* stars[0]: rated 1 ... stars[4]: rated 5 */
};

/* The average rating in hundredths, rounded half up (0 when there is none): 433 for 4.33. */
int64_t review_avg_centi(int64_t total, int64_t count);

/* Writes the average as the API and the product service read it ("4.33", "0") into buf
 * (at least 8 bytes). */
void review_avg_text(int64_t total, int64_t count, char *buf, size_t len);

/* true when the aggregate is consistent: count = sum of the stars, total = sum of star * n. */
bool review_aggregate_valid(const struct review_aggregate *a);

#endif
