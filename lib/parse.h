/* parse.h: checked parsers for bytes from outside (query values, path ids, headers). */
#ifndef STORE_PARSE_H
#define STORE_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest id the API hands out or takes: 2^53 - 1, the last integer a JavaScript
 * number (an IEEE double) holds exactly, so browser clients never round an id. */
#define ID_MAX INT64_C(9007199254740991)

/*
 * Parses a whole decimal integer in [min, max]: optional '-' (only when min < 0),
 * digits only, no spaces, no '+', no leading zeros beyond "0", no overflow.
 * Returns true and sets *out; on failure returns false and leaves *out unchanged.
 */
bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);

/* Same as parse_i64 over exactly `len` bytes of `s` (need not be NUL-terminated). */
bool parse_i64_n(const char *s, size_t len, int64_t min, int64_t max, int64_t *out);

/*
 * Percent-decodes `len` bytes of `src` into `dst`, a buffer of `dstlen` bytes counting the NUL.
 * With `plus_is_space`, '+' becomes ' ' (query strings). Rejects bad escapes, a decoded
 * NUL byte and output that does not fit. Returns the decoded length, or -1.
 */
long parse_percent_decode(const char *src, size_t len, char *dst, size_t dstlen, bool plus_is_space);

/* Returns true if `s` (len bytes) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
bool parse_utf8_valid(const char *s, size_t len);

/* Returns the number of code points in valid UTF-8 `s` of `len` bytes. */
size_t parse_utf8_len(const char *s, size_t len);

/* Parses a comma-separated list of ids in [1, max] into out[0..cap); rejects empty items,
 * more than `cap` items and junk. Returns the count, or -1. */
long parse_id_list(const char *s, int64_t max, int64_t *out, size_t cap);

#endif
