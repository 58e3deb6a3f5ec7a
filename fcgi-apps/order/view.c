/* view.c: an order as the API shows it, built from what was read or just written (no SQL). */
#include "view.h"

#include <json-c/json.h>
#include <string.h>

void order_view_add_str(struct json_object *o, const char *key, bool has, const char *v)
{
	json_object_object_add(o, key, has && v ? json_object_new_string(v) : NULL);
}

static struct json_object *str_or_null(const char *v)
{
	return v ? json_object_new_string(v) : NULL;
}

struct json_object *order_view(const struct order_row *o, const struct order_line_view *lines, size_t nlines,
			       const struct order_step_view *steps, size_t nsteps)
{
	struct json_object *j = json_object_new_object(), *items = json_object_new_array_ext((int)nlines),
			   *addr = json_object_new_object(), *timeline = json_object_new_array_ext((int)nsteps);

	json_object_object_add(j, "id", json_object_new_int64(o->id));
	json_object_object_add(j, "user_id", json_object_new_int64(o->user_id));
	json_object_object_add(j, "status", json_object_new_string(o->status));
	json_object_object_add(j, "currency", json_object_new_string(o->currency));
	for (size_t i = 0; i < nlines; i++) {
		struct json_object *l = json_object_new_object();
		json_object_object_add(l, "product_id", json_object_new_int64(lines[i].product_id));
		json_object_object_add(l, "sku", str_or_null(lines[i].sku));
		json_object_object_add(l, "name", str_or_null(lines[i].name));
		json_object_object_add(l, "unit_price", json_object_new_int64(lines[i].unit_price));
		json_object_object_add(l, "quantity", json_object_new_int64(lines[i].quantity));
		json_object_object_add(l, "line_total", json_object_new_int64(lines[i].line_total));
		json_object_array_add(items, l);
	}
	json_object_object_add(j, "items", items);
	json_object_object_add(j, "subtotal", json_object_new_int64(o->subtotal));
	json_object_object_add(j, "shipping", json_object_new_int64(o->shipping));
	json_object_object_add(j, "total", json_object_new_int64(o->total));
	json_object_object_add(addr, "name", json_object_new_string(o->ship_name));
	json_object_object_add(addr, "line1", json_object_new_string(o->ship_line1));
	order_view_add_str(addr, "line2", o->has_line2, o->ship_line2);
	json_object_object_add(addr, "city", json_object_new_string(o->ship_city));
	json_object_object_add(addr, "postal_code", json_object_new_string(o->ship_postal_code));
	json_object_object_add(addr, "country", json_object_new_string(o->ship_country));
	order_view_add_str(addr, "phone", o->has_phone, o->ship_phone);
	json_object_object_add(j, "shipping_address", addr);
	order_view_add_str(j, "note", o->has_note, o->note);
	if (o->has_carrier) {
		struct json_object *s = json_object_new_object();
		json_object_object_add(s, "carrier", json_object_new_string(o->carrier));
		json_object_object_add(s, "tracking_number", json_object_new_string(o->tracking_number));
		json_object_object_add(j, "shipment", s);
	} else {
		json_object_object_add(j, "shipment", NULL);
	}
	for (size_t i = 0; i < nsteps; i++) {
		struct json_object *h = json_object_new_object();
		json_object_object_add(h, "from", str_or_null(steps[i].from));
		json_object_object_add(h, "to", str_or_null(steps[i].to));
		json_object_object_add(h, "at", str_or_null(steps[i].at));
		json_object_object_add(h, "actor", str_or_null(steps[i].actor));
		json_object_object_add(h, "reason", str_or_null(steps[i].reason));
		json_object_array_add(timeline, h);
	}
	json_object_object_add(j, "timeline", timeline);
	/* The time an unpaid order holds its stock; null once it left pending_payment. */
	order_view_add_str(j, "expires_at", strcmp(o->status, "pending_payment") == 0, o->expires_at);
	json_object_object_add(j, "placed_at", json_object_new_string(o->placed_at));
	json_object_object_add(j, "updated_at", json_object_new_string(o->updated_at));
	return j;
}
