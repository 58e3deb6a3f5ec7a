/* jsonstrict.h: a strict RFC 8259 check of a request body before json-c parses it. */
#ifndef STORE_JSONSTRICT_H
#define STORE_JSONSTRICT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Returns true when `s` (len bytes) is exactly one RFC 8259 JSON text (surrounding
 * whitespace allowed) with containers nested at most `max_depth` deep, no object holding
 * the same key twice (compared as written), and no \u0000 in a key (values are
 * left to the field checks, which refuse NUL with a 422). json-c alone accepts
 * single quotes, NaN, "5." and silently keeps the last of duplicate keys, so a request
 * could mean two things; this refuses such bodies. On false, *why (static) says what is wrong.
 */
bool json_strict_valid(const char *s, size_t len, int max_depth, const char **why);

#endif
