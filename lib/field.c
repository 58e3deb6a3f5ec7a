/* field.c: type-checked, bounded access to JSON request fields, and unknown-field rejection. */
#include "field.h"

#include <json-c/json.h>
#include <math.h>
#include <string.h>

#include "parse.h"
#include "problem.h"

static bool pres_has(uint64_t bits, size_t i)
{
	return bits & (UINT64_C(1) << i);
}

bool field_parse(struct json_object *obj, const struct field_spec *specs, size_t n, void *dest,
		 uint64_t *present, uint64_t *nulls, struct field_errors *errs)
{
	size_t before = errs->n;
	uint64_t pres = 0, nul = 0;
	char *base = dest;

	if (n > FIELD_SPECS_MAX)
		n = FIELD_SPECS_MAX;
	json_object_object_foreach(obj, key, val)
	{
		(void)val;
		size_t i;
		for (i = 0; i < n && strcmp(specs[i].key, key) != 0; i++)
			;
		if (i == n)
			problem_add(errs, key, "unknown field");
	}
	for (size_t i = 0; i < n; i++) {
		const struct field_spec *s = &specs[i];
		struct json_object *v = NULL;
		void *at = base + s->offset;
		enum field_result r = FIELD_ABSENT;

		if (json_object_object_get_ex(obj, s->key, &v)) {
			pres |= UINT64_C(1) << i;
			if (!v && s->nullable) {
				nul |= UINT64_C(1) << i;
				continue;
			}
		}
		switch (s->type) {
		case FIELD_T_STRING:
		case FIELD_T_TEXT: {
			const char *str;
			r = field_string(obj, s->key, s->required, (size_t)s->min, (size_t)s->max, s->type == FIELD_T_TEXT,
					 &str, errs);
			if (r == FIELD_OK)
				memcpy(at, &str, sizeof(str));
			break;
		}
		case FIELD_T_I64: {
			int64_t x;
			if ((r = field_i64(obj, s->key, s->required, s->min, s->max, &x, errs)) == FIELD_OK)
				memcpy(at, &x, sizeof(x));
			break;
		}
		case FIELD_T_NUMBER: {
			double x;
			if ((r = field_number(obj, s->key, s->required, (double)s->min, (double)s->max, &x, errs)) == FIELD_OK)
				memcpy(at, &x, sizeof(x));
			break;
		}
		case FIELD_T_BOOL: {
			bool x;
			if ((r = field_bool(obj, s->key, s->required, &x, errs)) == FIELD_OK)
				memcpy(at, &x, sizeof(x));
			break;
		}
		case FIELD_T_OBJECT:
		case FIELD_T_ARRAY: {
			bool is_obj = s->type == FIELD_T_OBJECT;
			if (!pres_has(pres, i)) {
				if (s->required)
					problem_add(errs, s->key, "is required");
				break;
			}
			if (!json_object_is_type(v, is_obj ? json_type_object : json_type_array)) {
				problem_add(errs, s->key, "must be %s", is_obj ? "an object" : "a list");
				break;
			}
			size_t len = is_obj ? (size_t)json_object_object_length(v) : json_object_array_length(v);
			if ((int64_t)len < s->min || (s->max && (int64_t)len > s->max)) {
				if (s->max)
					problem_add(errs, s->key, "must hold %lld to %lld %s", (long long)s->min,
						    (long long)s->max, is_obj ? "fields" : "items");
				else
					problem_add(errs, s->key, "must hold at least %lld %s", (long long)s->min,
						    is_obj ? "fields" : "items");
				break;
			}
			memcpy(at, &v, sizeof(v));
			break;
		}
		}
	}
	if (present)
		*present = pres;
	if (nulls)
		*nulls = nul;
	return errs->n == before;
}

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
