/* test_review_rules.c: the review service's pure rules: sort names, the rounded average, aggregate consistency. */
#include <criterion/criterion.h>
#include <string.h>

#include "rules.h"

Test(review_sort, absent_is_newest_and_every_name_is_known)
{
	enum review_sort s = REVIEW_SORT_HELPFUL;
	cr_assert(review_sort_parse(NULL, &s));
	cr_assert_eq(s, REVIEW_SORT_NEWEST);
	static const struct {
		const char *name;
		enum review_sort want;
	} cases[] = {{"newest", REVIEW_SORT_NEWEST},
		     {"oldest", REVIEW_SORT_OLDEST},
		     {"rating_desc", REVIEW_SORT_RATING_DESC},
		     {"rating_asc", REVIEW_SORT_RATING_ASC},
		     {"helpful", REVIEW_SORT_HELPFUL}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_assert(review_sort_parse(cases[i].name, &s), "%s", cases[i].name);
		cr_assert_eq(s, cases[i].want, "%s", cases[i].name);
	}
}

Test(review_sort, empty_case_and_lookalikes_are_refused)
{
	enum review_sort s;
	static const char *const bad[] = {"", "Newest", "newest ", "-rating", "rating", "helpful;DROP", "newestx"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_not(review_sort_parse(bad[i], &s), "'%s'", bad[i]);
}

Test(review_avg, none_is_zero)
{
	char buf[16];
	cr_assert_eq(review_avg_centi(0, 0), 0);
	cr_assert_eq(review_avg_centi(5, 0), 0);
	cr_assert_eq(review_avg_centi(0, -1), 0);
	review_avg_text(0, 0, buf, sizeof(buf));
	cr_assert_str_eq(buf, "0");
}

Test(review_avg, rounds_half_up_in_hundredths)
{
	char buf[16];
	cr_assert_eq(review_avg_centi(13, 3), 433); /* 4.333 */
	cr_assert_eq(review_avg_centi(14, 3), 467); /* 4.666 */
	cr_assert_eq(review_avg_centi(9, 8), 113);  /* 1.125 → 1.13 */
	cr_assert_eq(review_avg_centi(5, 1), 500);
	cr_assert_eq(review_avg_centi(1, 1), 100);
	review_avg_text(13, 3, buf, sizeof(buf));
	cr_assert_str_eq(buf, "4.33");
	review_avg_text(10, 2, buf, sizeof(buf));
	cr_assert_str_eq(buf, "5.00");
	review_avg_text(9, 8, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1.13");
	review_avg_text(1, 1, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1.00");
}

Test(review_avg, large_counts_stay_within_bounds)
{
	char buf[16];
	/* Four billion five-star reviews: no overflow, exactly 5.00. */
	cr_assert_eq(review_avg_centi(INT64_C(5) * 4000000000, 4000000000), 500);
	review_avg_text(INT64_C(4000000001), 4000000000, buf, sizeof(buf));
	cr_assert_str_eq(buf, "1.00");
}

Test(review_aggregate, consistent_counts_only)
{
	struct review_aggregate a = {.count = 3, .total = 13, .stars = {0, 0, 0, 2, 1}};
	cr_assert(review_aggregate_valid(&a));
	a.total = 12;
	cr_assert_not(review_aggregate_valid(&a));
	a = (struct review_aggregate){0};
	cr_assert(review_aggregate_valid(&a));
	a.stars[0] = -1;
	a.count = -1;
	a.total = -1;
	cr_assert_not(review_aggregate_valid(&a));
}
