/* field.c: type-checked, bounded access to JSON request fields, and unknown-field rejection. */
#include "field.h"

#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "parse.h"
#include "problem.h"

bool field_only(struct json_object *obj, const char *const *allowed, struct field_errors *errs)
{
	bool ok = true;

	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		bool known = false;
		for (const char *const *a = allowed; a && *a; a++)
			if (strcmp(*a, key) == 0)
				known = true;
		if (!known) {
			problem_add(errs, key, "unknown field");
			ok = false;
		}
	}
	return ok;
}

/* Looks `key` up; adds "is required" when absent and required. */
static struct json_object *lookup(struct json_object *obj, const char *key, bool required, struct field_errors *errs)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(obj, key, &v)) {
		if (required)
			problem_add(errs, key, "is required");
		return NULL;
	}
	return v;
}

bool field_is_null(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	return json_object_object_get_ex(obj, key, &v) && v == NULL;
}

enum field_result field_string(struct json_object *obj, const char *key, bool required, size_t min, size_t max,
			       bool multiline, const char **out, struct field_errors *errs)
{
	struct json_object *v = lookup(obj, key, required, errs);

	if (!v) {
		if (field_is_null(obj, key)) {
			problem_add(errs, key, "must be a string");
			return FIELD_INVALID;
		}
		return FIELD_ABSENT;
	}
	if (!json_object_is_type(v, json_type_string)) {
		problem_add(errs, key, "must be a string");
		return FIELD_INVALID;
	}
	const char *s = json_object_get_string(v);
	size_t len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len || !parse_utf8_valid(s, len)) {
		problem_add(errs, key, "must be valid UTF-8 text without NUL bytes");
		return FIELD_INVALID;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8 (already known valid here):
		 * terminals act on them (U+009B is CSI) as on C0 ones. */
		bool c1 = c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] <= 0x9f;
		if ((c < 0x20 && !(multiline && (c == '\n' || c == '\r' || c == '\t'))) || c == 0x7f || c1) {
			problem_add(errs, key, "must not contain control characters");
			return FIELD_INVALID;
		}
	}
	size_t n = parse_utf8_len(s, len);
	if (n > 0 && min > 0 && strspn(s, " \t\r\n") == len) {
		problem_add(errs, key, "must not be blank");
		return FIELD_INVALID;
	}
	if (n < min || n > max) {
		if (min == max)
			problem_add(errs, key, "must be %zu characters long", min);
		else
			problem_add(errs, key, "must be %zu to %zu characters long", min, max);
		return FIELD_INVALID;
	}
	*out = s;
	return FIELD_OK;
}

enum field_result field_i64(struct json_object *obj, const char *key, bool required, int64_t min, int64_t max,
			    int64_t *out, struct field_errors *errs)
{
	struct json_object *v = lookup(obj, key, required, errs);

	if (!v) {
		if (field_is_null(obj, key)) {
			problem_add(errs, key, "must be an integer");
			return FIELD_INVALID;
		}
		return FIELD_ABSENT;
	}
	if (!json_object_is_type(v, json_type_int)) {
		problem_add(errs, key, "must be an integer");
		return FIELD_INVALID;
	}
	/* json-c keeps values above INT64_MAX as uint64 and saturates get_int64: compare both ways.
	 * Below INT64_MIN it clamps to INT64_MIN itself, so that value cannot be trusted. */
	int64_t i = json_object_get_int64(v);
	uint64_t u = json_object_get_uint64(v);
	if (i == INT64_MIN || i < min || i > max || (i >= 0 && u != (uint64_t)i)) {
		problem_add(errs, key, "must be an integer from %lld to %lld", (long long)min, (long long)max);
		return FIELD_INVALID;
	}
	*out = i;
	return FIELD_OK;
}

enum field_result field_number(struct json_object *obj, const char *key, bool required, double min, double max,
			       double *out, struct field_errors *errs)
{
	struct json_object *v = lookup(obj, key, required, errs);

	if (!v) {
		if (field_is_null(obj, key)) {
			problem_add(errs, key, "must be a number");
			return FIELD_INVALID;
		}
		return FIELD_ABSENT;
	}
	if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double)) {
		problem_add(errs, key, "must be a number");
		return FIELD_INVALID;
	}
	double d = json_object_get_double(v);
	/* json-c clamps integers beyond 64 bits to these ends: that is not the number sent. */
	bool clamped = json_object_is_type(v, json_type_int) &&
		       (json_object_get_int64(v) == INT64_MIN || json_object_get_uint64(v) == UINT64_MAX);
	if (clamped || !isfinite(d) || d < min || d > max) {
		problem_add(errs, key, "must be a number from %g to %g", min, max);
		return FIELD_INVALID;
	}
	*out = d;
	return FIELD_OK;
}

enum field_result field_bool(struct json_object *obj, const char *key, bool required, bool *out,
			     struct field_errors *errs)
{
	struct json_object *v = lookup(obj, key, required, errs);

	if (!v) {
		if (field_is_null(obj, key)) {
			problem_add(errs, key, "must be true or false");
			return FIELD_INVALID;
		}
		return FIELD_ABSENT;
	}
	if (!json_object_is_type(v, json_type_boolean)) {
		problem_add(errs, key, "must be true or false");
		return FIELD_INVALID;
	}
	*out = json_object_get_boolean(v);
	return FIELD_OK;
}
