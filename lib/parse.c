/* parse.c: checked parsers for bytes from outside: integers, percent-encoding, UTF-8, id lists. */
#include "parse.h"

#include <string.h>

bool parse_i64_n(const char *s, size_t len, int64_t min, int64_t max, int64_t *out)
{
	bool neg = false;
	uint64_t acc = 0, limit;
	size_t i = 0;

	if (!s || len == 0 || len > 20)
		return false;
	if (s[0] == '-') {
		if (min >= 0)
			return false;
		neg = true;
		i = 1;
		if (len == 1)
			return false;
	}
	if (s[i] == '0' && len - i > 1)
		return false; /* "007" is not how anyone writes a count or an id */
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		unsigned d = (unsigned)(s[i] - '0');
		if (acc > (limit - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	int64_t v;
	if (neg)
		v = acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)acc;
	else
		v = (int64_t)acc;
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	return s && parse_i64_n(s, strlen(s), min, max, out);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

long parse_percent_decode(const char *src, size_t len, char *dst, size_t dstlen, bool plus_is_space)
{
	size_t o = 0;

	if (dstlen == 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			int hi = hexval(src[i + 1]), lo = hexval(src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = (char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus_is_space) {
			c = ' ';
		}
		if (c == '\0' || o + 1 >= dstlen)
			return -1;
		dst[o++] = c;
	}
	dst[o] = '\0';
	return (long)o;
}

bool parse_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (i + n >= len)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

size_t parse_utf8_len(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	return n;
}

long parse_id_list(const char *s, int64_t max, int64_t *out, size_t cap)
{
	size_t n = 0;

	if (!s || !*s)
		return -1;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		if (n >= cap || !parse_i64_n(s, len, 1, max, &out[n]))
			return -1;
		n++;
		if (!comma)
			break;
		s = comma + 1;
	}
	return (long)n;
}
