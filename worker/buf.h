/* buf.h: a growable byte buffer that is always NUL-terminated, for building messages. */
#ifndef STORE_WORKER_BUF_H
#define STORE_WORKER_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data; /* NULL until the first append; always NUL-terminated after one */
	size_t len;
	size_t cap;
	bool oom;   /* an append failed; later appends do nothing, buf_take returns NULL */
};

/* Appends `len` bytes. On allocation failure sets b->oom and leaves the contents as they were. */
void buf_append(struct buf *b, const void *p, size_t len);

/* Appends a NUL-terminated string. */
void buf_puts(struct buf *b, const char *s);

/* Appends one byte. */
void buf_putc(struct buf *b, char c);

/* Appends printf-formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Hands the contents over: returns a malloc'd NUL-terminated string (the caller frees; "" for an
 * empty buffer) and its length in *len (may be NULL), and resets `b`. Returns NULL when an
 * append failed, after freeing everything.
 */
char *buf_take(struct buf *b, size_t *len);

/* Frees the contents and resets `b`; accepts a zeroed buffer. */
void buf_free(struct buf *b);

#endif
