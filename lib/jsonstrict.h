/* jsonstrict.h: a strict RFC 8259 check of a request body before json-c parses it. */
#ifndef STORE_JSONSTRICT_H
#define STORE_JSONSTRICT_H

#include <stdbool.h>
#include <stddef.h>

/* What is wrong with a body; callers decide by the code, the message is for the client. */
enum json_strict_err {
	JSON_STRICT_OK = 0,
	JSON_STRICT_SYNTAX,        /* not RFC 8259 JSON, or more after the value */
	JSON_STRICT_TOO_DEEP,      /* containers nested deeper than max_depth */
	JSON_STRICT_DUPLICATE_KEY, /* an object holds the same key twice */
	JSON_STRICT_TOO_LARGE,     /* an object with too many keys or too long keys */
	JSON_STRICT_BAD_STRING,    /* a raw control character, bad escape, lone surrogate, \u0000 in a key */
};

/*
 * Returns true when `s` (len bytes) is exactly one RFC 8259 JSON text (surrounding
 * whitespace allowed) with containers nested at most `max_depth` deep, no object holding
 * the same key twice (compared as written), and no \u0000 in a key (values are
 * left to the field checks, which refuse NUL with a 422). json-c alone accepts
 * single quotes, NaN, "5." and silently keeps the last of duplicate keys, so a request
 * could mean two things; this refuses such bodies. On false, *why (static) says what is wrong.
 */
bool json_strict_valid(const char *s, size_t len, int max_depth, const char **why);

/* json_strict_valid() returning what is wrong: JSON_STRICT_OK, or the first error found with
 * *why (static, may be NULL) saying it in words. */
enum json_strict_err json_strict_check(const char *s, size_t len, int max_depth, const char **why);

#endif
