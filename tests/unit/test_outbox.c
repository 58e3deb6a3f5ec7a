/* test_outbox.c: outbox rows built for one INSERT (what they hold, their limit, what they refuse), and batch calls' envelopes and per-item answers. */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "field.h"
#include "outbox.h"
#include "problem.h"

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

/* --- what a batch call's answer says of each item (outbox_item_status, outbox_item_code) ------ */

static struct json_object *parsed(const char *text)
{
	struct json_object *o = json_tokener_parse(text);
	cr_assert_not_null(o, "%s", text);
	return o;
}

Test(outbox_items, each_item_is_judged_by_its_own_status)
{
	struct json_object *r = parsed("{\"items\":[{\"order_id\":1,\"status\":200},{\"order_id\":2,\"status\":409,"
				       "\"code\":\"invalid_transition\"},{\"order_id\":3,\"status\":503,\"code\":\"unavailable\"}]}");
	cr_assert(eq(int, outbox_item_status(r, 3, 0), 200));
	cr_assert(eq(int, outbox_item_status(r, 3, 1), 409));
	cr_assert(eq(int, outbox_item_status(r, 3, 2), 503));
	cr_assert(eq(str, (char *)outbox_item_code(r, 1), "invalid_transition"));
	cr_assert_null(outbox_item_code(r, 0));
	cr_assert(eq(int, outbox_item_status(r, 3, 3), 0), "past the end");
	json_object_put(r);
}

Test(outbox_items, an_answer_that_does_not_judge_items_leaves_them_done)
{
	/* The cart's clears answer judges items with outcomes, not statuses. */
	struct json_object *r = parsed("{\"items\":[{\"user_id\":1,\"outcome\":\"cleared\"}]}");
	cr_assert(eq(int, outbox_item_status(r, 1, 0), 0));
	json_object_put(r);
	cr_assert(eq(int, outbox_item_status(NULL, 1, 0), 0), "no body");
	r = parsed("{\"items\":[{\"status\":409},{\"status\":409}]}");
	cr_assert(eq(int, outbox_item_status(r, 3, 0), 0), "not one entry per item sent: nothing is trusted");
	json_object_put(r);
	r = parsed("[{\"status\":409}]");
	cr_assert(eq(int, outbox_item_status(r, 1, 0), 0), "not an object");
	json_object_put(r);
	r = parsed("{\"items\":[{\"status\":\"409\"},{\"status\":99},{\"status\":600},{\"status\":4.09},7]}");
	for (size_t i = 0; i < 5; i++)
		cr_assert(eq(int, outbox_item_status(r, 5, i), 0), "entry %zu is no status", i);
	json_object_put(r);
}

/* --- the envelope of a batch call, as its receiver checks it (outbox_batch_items) ------------- */

static size_t envelope_errors(const char *text, struct json_object **items)
{
	struct json_object *body = parsed(text), *rids;
	struct field_errors errs = {0};
	*items = outbox_batch_items(body, "{x}", &rids, &errs);
	if (*items)
		*items = json_object_get(*items);
	json_object_put(body);
	return errs.n;
}

Test(outbox_items, a_well_formed_envelope_gives_its_items_and_request_ids)
{
	struct json_object *body = parsed("{\"items\":[{\"x\":1},{\"x\":2}],\"request_ids\":[\"a\",\"b\"]}"), *rids;
	struct field_errors errs = {0};
	struct json_object *items = outbox_batch_items(body, "{x}", &rids, &errs);
	cr_assert_not_null(items);
	cr_assert(eq(sz, errs.n, 0));
	cr_assert(eq(sz, json_object_array_length(items), 2));
	cr_assert(eq(str, (char *)outbox_batch_rid(rids, 1), "b"));
	json_object_put(body);
	body = parsed("{\"items\":[{\"x\":1}]}");
	items = outbox_batch_items(body, "{x}", &rids, &errs);
	cr_assert_not_null(items);
	cr_assert_null(rids);
	cr_assert(eq(str, (char *)outbox_batch_rid(rids, 0), "-"), "no request ids: a dash");
	json_object_put(body);
}

Test(outbox_items, a_wrong_envelope_is_refused_with_field_errors)
{
	static const char *const bad[] = {
		"{}",
		"{\"items\":[]}",
		"{\"items\":{}}",
		"{\"items\":[{\"x\":1}],\"extra\":1}",
		"{\"items\":[{\"x\":1}],\"request_ids\":[]}",
		"{\"items\":[{\"x\":1}],\"request_ids\":\"a\"}",
		"{\"items\":[{\"x\":1}],\"request_ids\":[1]}",
		"{\"items\":[{\"x\":1}],\"request_ids\":[\"\"]}",
		/* Request ids go to logs and outbox rows: letters, digits and . _ : - only. */
		"{\"items\":[{\"x\":1}],\"request_ids\":[\"a\\u0000b\"]}",
		"{\"items\":[{\"x\":1}],\"request_ids\":[\"a b\"]}",
		"{\"items\":[{\"x\":1}],\"request_ids\":[\"a\\nb\"]}",
		"{\"items\":[{\"x\":1}],\"request_ids\":[\"caf\u00e9\"]}",
	};
	struct json_object *items;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert(gt(sz, envelope_errors(bad[i], &items), 0), "%s", bad[i]);
		cr_assert_null(items, "%s", bad[i]);
	}
	/* One item past the maximum. */
	char text[OUTBOX_BATCH_MAX * 8 + 32];
	size_t n = (size_t)sprintf(text, "{\"items\":[");
	for (int i = 0; i <= OUTBOX_BATCH_MAX; i++)
		n += (size_t)sprintf(text + n, "%s{}", i ? "," : "");
	sprintf(text + n, "]}");
	cr_assert(gt(sz, envelope_errors(text, &items), 0));
	cr_assert_null(items);
}

Test(outbox_items, what_a_receiver_judges_the_relay_reads)
{
	struct json_object *reply = json_object_new_object(), *items = json_object_new_array();
	struct json_object *done = json_object_new_object(), *refused = json_object_new_object();
	outbox_item_judge(done, 200, NULL);
	outbox_item_judge(refused, 409, "reservation_state");
	json_object_array_add(items, done);
	json_object_array_add(items, refused);
	json_object_object_add(reply, "items", items);
	cr_assert(eq(int, outbox_item_status(reply, 2, 0), 200));
	cr_assert_null(outbox_item_code(reply, 0));
	cr_assert(eq(int, outbox_item_status(reply, 2, 1), 409));
	cr_assert(eq(str, (char *)outbox_item_code(reply, 1), "reservation_state"));
	json_object_put(reply);
}

Test(outbox_items, an_item_a_receiver_cannot_read_is_refused_alone_with_its_errors)
{
	struct json_object *body = json_tokener_parse("{\"items\":[{\"n\":1},{\"n\":\"x\",\"y\":2}]}");
	struct json_object *rids, *items;
	struct field_errors envelope = {0}, first = {0}, second = {0};
	static const struct field_spec specs[] = {{"n", FIELD_T_I64, true, 0, 9, 0, false}};
	int64_t n = -1;

	cr_assert_not_null(items = outbox_batch_items(body, "{n}", &rids, &envelope));
	cr_assert(outbox_batch_item(items, 0, specs, 1, &n, "{n}", &first));
	cr_assert(eq(i64, n, 1));
	cr_assert_not(outbox_batch_item(items, 1, specs, 1, &n, "{n}", &second));
	cr_assert(eq(sz, second.n, 2), "the wrong type and the unknown member");

	struct json_object *reply = json_object_new_object(), *list = json_object_new_array();
	struct json_object *done = json_object_new_object(), *bad = json_object_new_object();
	outbox_item_judge(done, 200, NULL);
	outbox_item_invalid(bad, outbox_batch_rid(rids, 1), &second);
	json_object_array_add(list, done);
	json_object_array_add(list, bad);
	json_object_object_add(reply, "items", list);
	cr_assert(eq(int, outbox_item_status(reply, 2, 0), 200));
	cr_assert(eq(int, outbox_item_status(reply, 2, 1), 422), "given up by the relay");
	cr_assert(eq(str, (char *)outbox_item_code(reply, 1), "invalid_item"));
	struct json_object *errors, *e0, *field;
	cr_assert(json_object_object_get_ex(bad, "errors", &errors));
	cr_assert(eq(sz, json_object_array_length(errors), 2));
	e0 = json_object_array_get_idx(errors, 0);
	cr_assert(json_object_object_get_ex(e0, "field", &field));
	cr_assert(eq(str, (char *)json_object_get_string(field), "items[1]"));
	json_object_put(reply);
	json_object_put(body);
}
