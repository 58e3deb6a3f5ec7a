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

/* --- declarative bodies: a table of fields parsed by one call --------------------------- */

enum field_type {
	FIELD_T_STRING, /* const char * (borrowed from the object); min..max code points, one line */
	FIELD_T_TEXT,   /* as STRING, tab/CR/LF allowed */
	FIELD_T_I64,    /* int64_t in min..max */
	FIELD_T_NUMBER, /* double in min..max */
	FIELD_T_BOOL,   /* bool */
	FIELD_T_OBJECT, /* struct json_object * (borrowed), a JSON object; min..max keys (max 0: any) */
	FIELD_T_ARRAY,  /* struct json_object * (borrowed), a JSON array; min..max elements (max 0: any) */
};

/* One field of a request body: written as a table next to the handler. */
struct field_spec {
	const char *key;
	enum field_type type;
	bool required;
	int64_t min, max;
	size_t offset;  /* offsetof() the destination member in the caller's struct */
	bool nullable;  /* a JSON null is accepted (the member keeps its value; the field counts as
			   present and its bit is set in *nulls) */
};

#define FIELD_SPECS_MAX 64

/*
 * Parses `obj` by specs[0..n) (n <= FIELD_SPECS_MAX) into the struct at `dest`: unknown keys,
 * missing required fields, wrong types and values out of bounds each add a field error. Bit i
 * of *present (may be NULL) is set when specs[i].key was given (null included), bit i of
 * *nulls (may be NULL) when it was null. Returns true when no error was added by this call.
 */
bool field_parse(struct json_object *obj, const struct field_spec *specs, size_t n, void *dest,
		 uint64_t *present, uint64_t *nulls, struct field_errors *errs);

#endif
