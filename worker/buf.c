/* buf.c: a growable byte buffer that is always NUL-terminated. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool reserve(struct buf *b, size_t more)
{
	if (b->oom)
		return false;
	if (b->cap && more < b->cap - b->len) /* room for `more` bytes and the NUL */
		return true;
	size_t want = b->len + more + 1;
	if (want < more) {
		b->oom = true;
		return false;
	}
	size_t cap = b->cap ? b->cap : 256;
	while (cap < want) {
		if (cap > ((size_t)-1) / 2) {
			b->oom = true;
			return false;
		}
		cap *= 2;
	}
	char *p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void buf_append(struct buf *b, const void *p, size_t len)
{
	if (!reserve(b, len))
		return;
	if (len)
		memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void buf_puts(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_putc(struct buf *b, char c)
{
	buf_append(b, &c, 1);
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];

	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = true;
		return;
	}
	if ((size_t)n < sizeof(small)) {
		buf_append(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

char *buf_take(struct buf *b, size_t *len)
{
	char *out;

	if (b->oom) {
		buf_free(b);
		return NULL;
	}
	if (!b->data && !reserve(b, 0)) {
		buf_free(b);
		return NULL;
	}
	b->data[b->len] = '\0';
	out = b->data;
	if (len)
		*len = b->len;
	memset(b, 0, sizeof(*b));
	return out;
}

void buf_free(struct buf *b)
{
	if (!b)
		return;
	free(b->data);
	memset(b, 0, sizeof(*b));
}
