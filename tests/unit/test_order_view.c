/* test_order_view.c: an order as the API shows it, built from a row, its lines and its timeline. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#include "view.h"

static struct order_row row;

static void pending(void)
{
	memset(&row, 0, sizeof(row));
	row.id = 7;
	row.user_id = 42;
	snprintf(row.status, sizeof(row.status), "pending_payment");
	snprintf(row.currency, sizeof(row.currency), "EUR");
	row.subtotal = 1000;
	row.shipping = 490;
	row.total = 1490;
	snprintf(row.ship_name, sizeof(row.ship_name), "Ada");
	snprintf(row.ship_line1, sizeof(row.ship_line1), "1 Main Street");
	snprintf(row.ship_city, sizeof(row.ship_city), "Berlin");
	snprintf(row.ship_postal_code, sizeof(row.ship_postal_code), "10115");
	snprintf(row.ship_country, sizeof(row.ship_country), "DE");
	snprintf(row.expires_at, sizeof(row.expires_at), "2026-12-01T10:15:00Z");
	snprintf(row.placed_at, sizeof(row.placed_at), "2026-12-01T10:00:00Z");
	snprintf(row.updated_at, sizeof(row.updated_at), "2026-12-01T10:00:00Z");
}

static const char *text(struct json_object *j)
{
	return json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
}

TestSuite(order_view, .init = pending);

Test(order_view, no_lines_and_no_steps_are_empty_lists)
{
	struct json_object *j = order_view(&row, NULL, 0, NULL, 0);
	cr_assert_eq(json_object_array_length(json_object_object_get(j, "items")), 0);
	cr_assert_eq(json_object_array_length(json_object_object_get(j, "timeline")), 0);
	json_object_put(j);
}

Test(order_view, a_placed_order_has_every_field_in_the_api_order)
{
	struct order_line_view line = {11, 500, 2, 1000, "SKU-11", "Lamp"};
	struct order_step_view step = {NULL, "pending_payment", "2026-12-01T10:00:00Z", "user:42", NULL};
	struct json_object *j = order_view(&row, &line, 1, &step, 1);
	cr_assert_str_eq(text(j),
			 "{\"id\":7,\"user_id\":42,\"status\":\"pending_payment\",\"currency\":\"EUR\","
			 "\"items\":[{\"product_id\":11,\"sku\":\"SKU-11\",\"name\":\"Lamp\",\"unit_price\":500,"
			 "\"quantity\":2,\"line_total\":1000}],\"subtotal\":1000,\"shipping\":490,\"total\":1490,"
			 "\"shipping_address\":{\"name\":\"Ada\",\"line1\":\"1 Main Street\",\"line2\":null,"
			 "\"city\":\"Berlin\",\"postal_code\":\"10115\",\"country\":\"DE\",\"phone\":null},"
			 "\"note\":null,\"shipment\":null,\"timeline\":[{\"from\":null,\"to\":\"pending_payment\","
			 "\"at\":\"2026-12-01T10:00:00Z\",\"actor\":\"user:42\",\"reason\":null}],"
			 "\"expires_at\":\"2026-12-01T10:15:00Z\",\"placed_at\":\"2026-12-01T10:00:00Z\","
			 "\"updated_at\":\"2026-12-01T10:00:00Z\"}");
	json_object_put(j);
}

Test(order_view, an_empty_optional_string_is_kept_not_nulled)
{
	row.has_line2 = true; /* "" was written: it is shown as "", not as null */
	row.has_note = true;
	snprintf(row.note, sizeof(row.note), "leave it at the door");
	struct json_object *j = order_view(&row, NULL, 0, NULL, 0);
	struct json_object *addr = json_object_object_get(j, "shipping_address");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(addr, "line2")), "");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(j, "note")), "leave it at the door");
	json_object_put(j);
}

Test(order_view, expires_at_is_null_once_the_order_left_pending_payment)
{
	snprintf(row.status, sizeof(row.status), "shipped");
	row.has_carrier = true;
	snprintf(row.carrier, sizeof(row.carrier), "DHL");
	snprintf(row.tracking_number, sizeof(row.tracking_number), "JD0001");
	struct json_object *j = order_view(&row, NULL, 0, NULL, 0), *ship;
	cr_assert_null(json_object_object_get(j, "expires_at"));
	cr_assert(json_object_object_get_ex(j, "expires_at", NULL));
	cr_assert(json_object_object_get_ex(j, "shipment", &ship));
	cr_assert_str_eq(json_object_get_string(json_object_object_get(ship, "tracking_number")), "JD0001");
	json_object_put(j);
}

Test(order_view, steps_keep_their_order_and_a_reason)
{
	struct order_step_view steps[] = {
		{NULL, "pending_payment", "2026-12-01T10:00:00Z", "user:42", NULL},
		{"pending_payment", "cancelled", "2026-12-01T10:01:00Z", "staff:1", "out of \"stock\""},
	};
	snprintf(row.status, sizeof(row.status), "cancelled");
	struct json_object *j = order_view(&row, NULL, 0, steps, 2);
	struct json_object *t = json_object_object_get(j, "timeline");
	cr_assert_eq(json_object_array_length(t), 2);
	struct json_object *second = json_object_array_get_idx(t, 1);
	cr_assert_str_eq(json_object_get_string(json_object_object_get(second, "from")), "pending_payment");
	cr_assert_str_eq(json_object_get_string(json_object_object_get(second, "reason")), "out of \"stock\"");
	json_object_put(j);
}

Test(order_view, add_str_writes_null_when_absent_or_not_had)
{
	struct json_object *o = json_object_new_object();
	order_view_add_str(o, "a", false, "x");
	order_view_add_str(o, "b", true, NULL);
	order_view_add_str(o, "c", true, "y");
	cr_assert_str_eq(text(o), "{\"a\":null,\"b\":null,\"c\":\"y\"}");
	json_object_put(o);
}
