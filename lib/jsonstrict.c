/* jsonstrict.c: a small recursive-descent RFC 8259 validator (no allocation, bounded depth). */
#include "jsonstrict.h"

#include <string.h>

#define KEYS_MAX 256    /* keys per object checked for duplicates; more is refused */
#define KEYS_BYTES 8192 /* their decoded bytes together; more is refused */

struct scan {
	const char *s;
	size_t len, pos;
	int depth, max_depth;
	const char *why;
	enum json_strict_err err;
};

static void ws(struct scan *sc)
{
	while (sc->pos < sc->len) {
		char c = sc->s[sc->pos];
		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		sc->pos++;
	}
}

static bool fail(struct scan *sc, enum json_strict_err err, const char *why)
{
	if (!sc->why) {
		sc->why = why;
		sc->err = err;
	}
	return false;
}

static bool hex4(struct scan *sc, unsigned *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++, sc->pos++) {
		if (sc->pos >= sc->len)
			return false;
		char c = sc->s[sc->pos];
		unsigned d = (c >= '0' && c <= '9') ? (unsigned)(c - '0')
			     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
			     : (c >= 'A' && c <= 'F') ? (unsigned)(c - 'A' + 10)
						      : 16;
		if (d > 15)
			return false;
		*v = *v * 16 + d;
	}
	return true;
}

/* A string at pos (the opening quote). A key may not hold \u0000: json-c would cut it there. */
static bool string(struct scan *sc, bool key)
{
	sc->pos++;
	while (sc->pos < sc->len) {
		unsigned char c = (unsigned char)sc->s[sc->pos++];
		if (c == '"')
			return true;
		if (c < 0x20)
			return fail(sc, JSON_STRICT_BAD_STRING, "a string holds a raw control character");
		if (c != '\\')
			continue;
		if (sc->pos >= sc->len)
			break;
		c = (unsigned char)sc->s[sc->pos++];
		if (c == 'u') {
			unsigned v, lo;
			if (!hex4(sc, &v))
				return fail(sc, JSON_STRICT_BAD_STRING, "a \\u escape is malformed");
			if (v == 0 && key)
				return fail(sc, JSON_STRICT_BAD_STRING, "an object key holds \\u0000");
			if (v >= 0xdc00 && v <= 0xdfff)
				return fail(sc, JSON_STRICT_BAD_STRING, "a string holds an unpaired surrogate escape");
			if (v >= 0xd800 && v <= 0xdbff) {
				/* A high surrogate must be followed at once by a low one. */
				if (sc->len - sc->pos < 6 || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u')
					return fail(sc, JSON_STRICT_BAD_STRING, "a string holds an unpaired surrogate escape");
				sc->pos += 2;
				if (!hex4(sc, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return fail(sc, JSON_STRICT_BAD_STRING, "a string holds an unpaired surrogate escape");
			}
		} else if (!strchr("\"\\/bfnrt", c)) {
			return fail(sc, JSON_STRICT_BAD_STRING, "a string holds an unknown escape");
		}
	}
	return fail(sc, JSON_STRICT_SYNTAX, "a string is not terminated");
}

static bool number(struct scan *sc)
{
	size_t start = sc->pos;
	if (sc->pos < sc->len && sc->s[sc->pos] == '-')
		sc->pos++;
	if (sc->pos >= sc->len)
		return fail(sc, JSON_STRICT_SYNTAX, "a number is malformed");
	if (sc->s[sc->pos] == '0') {
		sc->pos++;
	} else if (sc->s[sc->pos] >= '1' && sc->s[sc->pos] <= '9') {
		while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
			sc->pos++;
	} else {
		return fail(sc, JSON_STRICT_SYNTAX, "a value is malformed");
	}
	if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
		size_t d = ++sc->pos;
		while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
			sc->pos++;
		if (sc->pos == d)
			return fail(sc, JSON_STRICT_SYNTAX, "a number is malformed");
	}
	if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
		sc->pos++;
		if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
			sc->pos++;
		size_t d = sc->pos;
		while (sc->pos < sc->len && sc->s[sc->pos] >= '0' && sc->s[sc->pos] <= '9')
			sc->pos++;
		if (sc->pos == d)
			return fail(sc, JSON_STRICT_SYNTAX, "a number is malformed");
	}
	return sc->pos > start;
}

static bool literal(struct scan *sc, const char *word)
{
	size_t n = strlen(word);
	if (sc->len - sc->pos < n || memcmp(sc->s + sc->pos, word, n) != 0)
		return fail(sc, JSON_STRICT_SYNTAX, "a value is malformed");
	sc->pos += n;
	return true;
}

static bool value(struct scan *sc);

/* The value of four hex digits already validated by hex4(). */
static unsigned hex_at(const char *p)
{
	unsigned v = 0;
	for (int k = 0; k < 4; k++)
		v = v * 16 + (unsigned)(p[k] <= '9' ? p[k] - '0' : (p[k] | 0x20) - 'a' + 10);
	return v;
}

/* Decodes a validated key (raw, quotes included) into out; returns its length or -1 if it won't fit. */
static long decode_key(const char *raw, size_t rawlen, char *out, size_t cap)
{
	size_t o = 0;
	for (size_t i = 1; i + 1 < rawlen; i++) {
		unsigned char c = (unsigned char)raw[i];
		unsigned v = c;
		if (c == '\\') {
			c = (unsigned char)raw[++i];
			if (c != 'u') {
				static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
				v = (unsigned char)to[strchr(from, c) - from];
			} else {
				v = hex_at(raw + i + 1);
				i += 4;
				if (v >= 0xd800 && v <= 0xdbff) { /* "\\uDC00".."\\uDFFF" follows: string() checked */
					v = 0x10000 + ((v - 0xd800) << 10) + (hex_at(raw + i + 3) - 0xdc00);
					i += 6;
				}
			}
			/* Encode v as UTF-8. */
			char u[4];
			size_t n = v < 0x80 ? 1 : v < 0x800 ? 2 : v < 0x10000 ? 3 : 4;
			if (n == 1) {
				u[0] = (char)v;
			} else if (n == 2) {
				u[0] = (char)(0xc0 | (v >> 6));
				u[1] = (char)(0x80 | (v & 0x3f));
			} else if (n == 3) {
				u[0] = (char)(0xe0 | (v >> 12));
				u[1] = (char)(0x80 | ((v >> 6) & 0x3f));
				u[2] = (char)(0x80 | (v & 0x3f));
			} else {
				u[0] = (char)(0xf0 | (v >> 18));
				u[1] = (char)(0x80 | ((v >> 12) & 0x3f));
				u[2] = (char)(0x80 | ((v >> 6) & 0x3f));
				u[3] = (char)(0x80 | (v & 0x3f));
			}
			if (o + n > cap)
				return -1;
			memcpy(out + o, u, n);
			o += n;
			continue;
		}
		if (o + 1 > cap)
			return -1;
		out[o++] = (char)c;
	}
	return (long)o;
}

static bool object(struct scan *sc)
{
	/* Keys are compared decoded ("name" and "na\u006de" are the same key). */
	char keys[KEYS_BYTES];
	size_t key_at[KEYS_MAX], key_len[KEYS_MAX], nkeys = 0, used = 0;

	sc->pos++;
	ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
		sc->pos++;
		return true;
	}
	for (;;) {
		ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
			return fail(sc, JSON_STRICT_SYNTAX, "an object key is not a double-quoted string");
		size_t k = sc->pos;
		if (!string(sc, true))
			return false;
		if (nkeys == KEYS_MAX)
			return fail(sc, JSON_STRICT_TOO_LARGE, "an object has too many keys");
		long klen = decode_key(sc->s + k, sc->pos - k, keys + used, sizeof(keys) - used);
		if (klen < 0)
			return fail(sc, JSON_STRICT_TOO_LARGE, "an object's keys are too long");
		for (size_t i = 0; i < nkeys; i++)
			if (key_len[i] == (size_t)klen && memcmp(keys + key_at[i], keys + used, (size_t)klen) == 0)
				return fail(sc, JSON_STRICT_DUPLICATE_KEY, "an object holds the same key twice");
		key_at[nkeys] = used;
		key_len[nkeys++] = (size_t)klen;
		used += (size_t)klen;
		ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
			return fail(sc, JSON_STRICT_SYNTAX, "a ':' is missing after a key");
		sc->pos++;
		if (!value(sc))
			return false;
		ws(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->pos < sc->len && sc->s[sc->pos] == '}') {
			sc->pos++;
			return true;
		}
		return fail(sc, JSON_STRICT_SYNTAX, "an object is not closed");
	}
}

static bool array(struct scan *sc)
{
	sc->pos++;
	ws(sc);
	if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
		sc->pos++;
		return true;
	}
	for (;;) {
		if (!value(sc))
			return false;
		ws(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->pos < sc->len && sc->s[sc->pos] == ']') {
			sc->pos++;
			return true;
		}
		return fail(sc, JSON_STRICT_SYNTAX, "an array is not closed");
	}
}

static bool value(struct scan *sc)
{
	ws(sc);
	if (sc->pos >= sc->len)
		return fail(sc, JSON_STRICT_SYNTAX, "a value is missing");
	switch (sc->s[sc->pos]) {
	case '{':
	case '[': {
		if (++sc->depth > sc->max_depth)
			return fail(sc, JSON_STRICT_TOO_DEEP, "the body is nested too deeply");
		bool ok = sc->s[sc->pos] == '{' ? object(sc) : array(sc);
		sc->depth--;
		return ok;
	}
	case '"':
		return string(sc, false);
	case 't':
		return literal(sc, "true");
	case 'f':
		return literal(sc, "false");
	case 'n':
		return literal(sc, "null");
	default:
		return number(sc);
	}
}

enum json_strict_err json_strict_check(const char *s, size_t len, int max_depth, const char **why)
{
	struct scan sc = {.s = s, .len = len, .max_depth = max_depth};
	bool ok = value(&sc);
	if (ok) {
		ws(&sc);
		if (sc.pos != sc.len)
			ok = fail(&sc, JSON_STRICT_SYNTAX, "there is more after the JSON value");
	}
	if (!ok && !sc.why)
		fail(&sc, JSON_STRICT_SYNTAX, "the body is not JSON");
	if (why)
		*why = ok ? NULL : sc.why;
	return ok ? JSON_STRICT_OK : sc.err;
}

bool json_strict_valid(const char *s, size_t len, int max_depth, const char **why)
{
	return json_strict_check(s, len, max_depth, why) == JSON_STRICT_OK;
}
