/* problem.h: field errors collected during validation, reported in an RFC 9457 "errors" list. */
#ifndef STORE_PROBLEM_H
#define STORE_PROBLEM_H

#include <stddef.h>

#define PROBLEM_MAX_ERRORS 16

struct field_error {
	char field[64];
	char message[128];
};

/* A bounded list of field errors, zero-initialise before use ({0}). */
struct field_errors {
	size_t n;
	struct field_error items[PROBLEM_MAX_ERRORS];
};

/* Appends one error (field and message truncated to fit); extra errors past the bound
 * are dropped silently: the client already has sixteen things to fix. */
void problem_add(struct field_errors *errs, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Appends the errors of a nested object `inner` to errs, each field named "<outer>.<field>"
 * ("card.cvc"), so that the client learns which field of the object is wrong. */
void problem_add_nested(struct field_errors *errs, const char *outer, const struct field_errors *inner);

/* Returns the reason phrase of an HTTP status ("Not Found"), "Error" for unknown ones. */
const char *problem_title(int status);

#endif
