/* test_outbox.c: outbox rows built for one INSERT: what they hold, their limit, what they refuse. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <string.h>

#include "db.h"
#include "outbox.h"

static struct db_conn db; /* only its err and errstr are used: nothing here reaches a server */

static struct json_object *mail(void)
{
	struct json_object *d = json_object_new_object();
	json_object_object_add(d, "name", json_object_new_string("Ada"));
	json_object_object_add(d, "order_id", json_object_new_int64(7));
	return d;
}

Test(outbox_rows, empty_rows_clear_to_nothing)
{
	struct outbox_rows rows = {0};
	outbox_rows_clear(&rows);
	cr_assert_eq(rows.n, 0);
}

Test(outbox_rows, a_job_and_a_call_keep_their_order_and_fields)
{
	struct outbox_rows rows = {0};
	struct json_object *d = mail(), *body = json_object_new_object();
	json_object_object_add(body, "version", json_object_new_int64(3));

	cr_assert_eq(outbox_rows_job(&db, &rows, "order_placed", "ada@example.com", d, "rid-1"), 0, "%s", db.errstr);
	cr_assert_eq(outbox_rows_call(&db, &rows, "POST", "/internal/cart/users/42/clear", body, "rid-1"), 0);
	cr_assert_eq(rows.n, 2);
	cr_assert_str_eq(rows.row[0].kind, "job");
	cr_assert_str_eq(rows.row[0].target, "order_placed");
	struct json_object *job = json_tokener_parse(rows.row[0].payload);
	cr_assert_not_null(job);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(job, "recipient")), "ada@example.com");
	json_object_put(job);
	cr_assert_str_eq(rows.row[1].kind, "call");
	cr_assert_str_eq(rows.row[1].target, "POST /internal/cart/users/42/clear");
	cr_assert_str_eq(rows.row[1].payload, "{\"version\":3}");
	cr_assert_str_eq(rows.row[1].request_id, "rid-1");
	outbox_rows_clear(&rows);
	cr_assert_eq(rows.n, 0);
	json_object_put(d);
	json_object_put(body);
}

Test(outbox_rows, a_batch_item_is_a_post_with_its_item_as_payload)
{
	struct outbox_rows rows = {0};
	struct json_object *item = json_object_new_object();
	json_object_object_add(item, "user_id", json_object_new_int64(42));
	json_object_object_add(item, "version", json_object_new_int64(3));

	cr_assert_eq(outbox_rows_batch(&db, &rows, "/internal/cart/clears", item, "rid-2"), 0, "%s", db.errstr);
	cr_assert_str_eq(rows.row[0].kind, "batch");
	cr_assert_str_eq(rows.row[0].target, "POST /internal/cart/clears");
	cr_assert_str_eq(rows.row[0].payload, "{\"user_id\":42,\"version\":3}");
	cr_assert_str_eq(rows.row[0].request_id, "rid-2");
	/* An item is a body: none, or a path that is not one, is refused. */
	cr_assert_eq(outbox_rows_batch(&db, &rows, "/internal/cart/clears", NULL, "rid-2"), -1);
	cr_assert_eq(db.err, DB_ERROR);
	cr_assert_eq(outbox_rows_batch(&db, &rows, "internal/cart/clears", item, "rid-2"), -1);
	cr_assert_eq(rows.n, 1);
	outbox_rows_clear(&rows);
	json_object_put(item);
}

Test(outbox_rows, a_call_without_body_has_an_empty_payload_and_no_request_id_is_a_dash)
{
	struct outbox_rows rows = {0};
	cr_assert_eq(outbox_rows_call(&db, &rows, "POST", "/internal/inventory/reservations/r1/commit", NULL, NULL), 0);
	cr_assert_str_eq(rows.row[0].payload, "");
	cr_assert_str_eq(rows.row[0].request_id, "-");
	outbox_rows_clear(&rows);
}

Test(outbox_rows, one_past_the_maximum_is_refused_and_keeps_the_rest)
{
	struct outbox_rows rows = {0};
	for (int i = 0; i < OUTBOX_ROWS_MAX; i++)
		cr_assert_eq(outbox_rows_call(&db, &rows, "POST", "/internal/x", NULL, "r"), 0);
	cr_assert_eq(outbox_rows_call(&db, &rows, "POST", "/internal/x", NULL, "r"), -1);
	cr_assert_eq(db.err, DB_ERROR);
	cr_assert_eq(rows.n, OUTBOX_ROWS_MAX);
	outbox_rows_clear(&rows);
}

Test(outbox_rows, malformed_calls_and_invalid_jobs_are_refused)
{
	struct outbox_rows rows = {0};
	char long_path[OUTBOX_TARGET_MAX + 2];
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[0] = '/';
	long_path[sizeof(long_path) - 1] = '\0';
	cr_assert_eq(outbox_rows_call(&db, &rows, "POST", "internal/no-slash", NULL, "r"), -1);
	cr_assert_eq(outbox_rows_call(&db, &rows, "PO ST", "/internal/x", NULL, "r"), -1);
	cr_assert_eq(outbox_rows_call(&db, &rows, "POST", long_path, NULL, "r"), -1);
	struct json_object *d = mail();
	cr_assert_eq(outbox_rows_job(&db, &rows, "no_such_type", "ada@example.com", d, "r"), -1);
	cr_assert_eq(outbox_rows_job(&db, &rows, "order_placed", "not an address", d, "r"), -1);
	json_object_put(d);
	cr_assert_eq(rows.n, 0);
}
