/* mime.h: RFC 5322/2045 message assembly: headers (RFC 2047 when needed), multipart/alternative, quoted-printable. */
#ifndef STORE_WORKER_MIME_H
#define STORE_WORKER_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MIME_ADDR_MAX 254

/* True for a plain ASCII address "local@domain" (dot-atom local part, letters, digits,
 * '-' and '.' in the domain): what the worker puts in To: and hands to SMTP. */
bool mime_address_ok(const char *addr);

/*
 * Parses STORE_SMTP_FROM: "addr@domain" or "Display Name <addr@domain>". Copies the bare
 * address into `addr` (MIME_ADDR_MAX + 1 bytes). Returns the From: header value, malloc'd
 * (caller frees): the display name quoted, or RFC 2047-encoded when it is not ASCII.
 * Returns NULL when the value is not one of the two forms or holds control bytes.
 */
char *mime_from_header(const char *spec, char addr[MIME_ADDR_MAX + 1]);

/*
 * Returns the header line(s) "Name: value\r\n" (malloc'd; caller frees; NULL on allocation
 * failure). Control bytes in `value` (CR and LF included) become spaces, so data can never
 * start a header of its own. The value is written as it is when it is printable ASCII, has
 * no "=?" and fits in 78 columns; otherwise as RFC 2047 "=?utf-8?B?...?=" words of at most
 * 75 columns, never splitting a UTF-8 sequence, folded onto continuation lines.
 */
char *mime_header(const char *name, const char *value);

/*
 * Quoted-printable (RFC 2045 6.7) of `len` bytes: CRLF, CR or LF become CRLF line breaks;
 * lines are at most 76 columns (soft breaks "=\r\n"); '=', control and non-ASCII bytes and
 * white space before a break are =XX. Returns a malloc'd string (length in *outlen, may be
 * NULL) or NULL on allocation failure.
 */
char *mime_qp(const char *s, size_t len, size_t *outlen);

/* Writes the RFC 5322 date of `t` in UTC ("Tue, 01 Jul 2025 09:05:00 +0000") into `out`. */
void mime_date(time_t t, char out[40]);

struct mime_message {
	const char *from_header; /* from mime_from_header() */
	const char *from_addr;   /* the bare address it gave; its domain ends the Message-ID */
	const char *to;          /* must satisfy mime_address_ok() */
	const char *subject;     /* UTF-8 */
	const char *text, *html; /* UTF-8 bodies */
	size_t text_len, html_len;
	const char *id;          /* job id: letters and digits only; in Message-ID and the boundary */
	time_t date;
};

/*
 * Builds the whole message with CRLF line endings: Date, From, To, Subject, Message-ID
 * <id@domain of from_addr>, MIME-Version, Auto-Submitted, and a multipart/alternative body with a
 * text/plain and a text/html part (charset=utf-8, quoted-printable). Returns a malloc'd
 * string (caller frees; length in *len) or NULL when `to`, `from_addr` or `id` are
 * unacceptable, `from_header` holds a control byte, or memory runs out.
 */
char *mime_build(const struct mime_message *m, size_t *len);

#endif
