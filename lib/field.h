/* field.h: type-checked, bounded access to the fields of a JSON request object. */
#ifndef STORE_FIELD_H
#define STORE_FIELD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;
struct field_errors;

/* Results of the field getters. */
enum field_result {
	FIELD_INVALID = -1, /* present but wrong type or out of bounds; an error was added */
	FIELD_ABSENT = 0,   /* not present (an error was added when it was required) */
	FIELD_OK = 1,       /* present and valid; *out set */
};

/* Adds an "unknown field" error for each key of `obj` not in the NULL-terminated `allowed`.
 * Returns true when there is none. */
bool field_only(struct json_object *obj, const char *const *allowed, struct field_errors *errs);

/*
 * A string of `min`..`max` code points, without NUL, other C0 controls, DEL or C1
 * controls (U+0080..U+009F); tab, CR and LF are allowed only with `multiline`.
 * *out is borrowed from `obj`.
 */
enum field_result field_string(struct json_object *obj, const char *key, bool required, size_t min, size_t max,
			       bool multiline, const char **out, struct field_errors *errs);

/* A JSON integer (not a float, not a string) in [min, max]; never INT64_MIN, which json-c
 * also returns for every integer below it. */
enum field_result field_i64(struct json_object *obj, const char *key, bool required, int64_t min, int64_t max,
			    int64_t *out, struct field_errors *errs);

/* A JSON number (integer or decimal, finite) in [min, max]. */
enum field_result field_number(struct json_object *obj, const char *key, bool required, double min, double max,
			       double *out, struct field_errors *errs);

/* A JSON boolean. */
enum field_result field_bool(struct json_object *obj, const char *key, bool required, bool *out,
			     struct field_errors *errs);

/* true if `key` is present with the JSON value null. */
bool field_is_null(struct json_object *obj, const char *key);

#endif
