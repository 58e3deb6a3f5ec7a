/* rules.c: the review service's pure rules (no I/O, unit-tested on their own). */
#include "rules.h"

#include <stdio.h>
#include <string.h>

static const char *const sort_names[REVIEW_SORT_COUNT] = {"newest", "oldest", "rating_desc", "rating_asc",
							  "helpful"};

bool review_sort_parse(const char *s, enum review_sort *out)
{
	if (!s) {
		*out = REVIEW_SORT_NEWEST;
		return true;
	}
	for (int i = 0; i < REVIEW_SORT_COUNT; i++) {
		if (strcmp(s, sort_names[i]) == 0) {
			*out = (enum review_sort)i;
			return true;
		}
	}
	return false;
}

int64_t review_avg_centi(int64_t total, int64_t count)
{
	if (count <= 0 || total <= 0)
		return 0;
	/* (total / count) * 100, rounded half up, in integers: no float ever decides a digit. */
	return (total * 200 + count) / (2 * count);
}

void review_avg_text(int64_t total, int64_t count, char *buf, size_t len)
{
	int64_t c = review_avg_centi(total, count);
	if (c == 0)
		snprintf(buf, len, "0");
	else
		snprintf(buf, len, "%lld.%02lld", (long long)(c / 100), (long long)(c % 100));
}

bool review_aggregate_valid(const struct review_aggregate *a)
{
	int64_t n = 0, t = 0;
	for (int i = 0; i < 5; i++) {
		if (a->stars[i] < 0)
			return false;
		n += a->stars[i];
		t += a->stars[i] * (i + 1);
	}
	return n == a->count && t == a->total;
}
