/* mime.c: message assembly with RFC 2047 headers, quoted-printable parts and CRLF line endings. */
#include "mime.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define LINE_MAX_COLS 78 /* RFC 5322 2.1.1: SHOULD be no more than 78 characters */
#define QP_COLS 76       /* RFC 2045 6.7 (5) */
#define WORD_BYTES 42    /* bytes per encoded word: 56 base64 chars + 12 = 68 columns, under 75 */

static bool atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+/=?^_`{|}~-", c));
}

bool mime_address_ok(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;
	size_t len = addr ? strlen(addr) : 0;

	if (!at || at == addr || len > MIME_ADDR_MAX || at - addr > 64 || !at[1])
		return false;
	for (const char *p = addr; p < at; p++) {
		if (*p == '.' ? (p == addr || p + 1 == at || p[1] == '.') : !atext((unsigned char)*p))
			return false;
	}
	for (const char *p = at + 1; *p; p++) {
		unsigned char c = (unsigned char)*p;
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
			  (c == '.' && p != at + 1 && p[1] && p[1] != '.');
		if (!ok)
			return false;
	}
	return true;
}

static bool needs_encoding(const char *s, size_t len, size_t used)
{
	if (used + len > LINE_MAX_COLS)
		return true;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x7f || c < 0x20 || (c == '=' && i + 1 < len && s[i + 1] == '?'))
			return true;
	}
	return false;
}

/* Appends `s` as encoded words, the first on the current line, the others on continuation lines. */
static void encode_words(struct buf *b, const char *s, size_t len)
{
	size_t i = 0;
	char b64[WORD_BYTES * 2];

	while (i < len) {
		size_t n = len - i < WORD_BYTES ? len - i : WORD_BYTES;
		/* Back off to the start of a UTF-8 sequence so no word holds half a character. */
		while (i + n < len && n > 1 && ((unsigned char)s[i + n] & 0xc0) == 0x80)
			n--;
		sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)s + i, n, sodium_base64_VARIANT_ORIGINAL);
		buf_puts(b, i ? "\r\n =?utf-8?B?" : "=?utf-8?B?");
		buf_puts(b, b64);
		buf_puts(b, "?=");
		i += n;
	}
}

/* A copy of `s` with control bytes (CR, LF, TAB, DEL...) as spaces, or NULL when out of memory. */
static char *one_line(const char *s)
{
	char *out = strdup(s ? s : "");
	for (char *p = out; p && *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = ' ';
	return out;
}

char *mime_header(const char *name, const char *value)
{
	struct buf b = {0};
	char *v = one_line(value);

	if (!v)
		return NULL;
	size_t vlen = strlen(v), used = strlen(name) + 2;
	buf_printf(&b, "%s: ", name);
	if (needs_encoding(v, vlen, used))
		encode_words(&b, v, vlen);
	else
		buf_append(&b, v, vlen);
	buf_puts(&b, "\r\n");
	free(v);
	return buf_take(&b, NULL);
}

char *mime_from_header(const char *spec, char addr[MIME_ADDR_MAX + 1])
{
	const char *lt = spec ? strchr(spec, '<') : NULL;
	struct buf b = {0};

	if (!spec)
		return NULL;
	for (const char *p = spec; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			return NULL;
	if (!lt) {
		if (!mime_address_ok(spec))
			return NULL;
		snprintf(addr, MIME_ADDR_MAX + 1, "%s", spec);
		return strdup(spec);
	}
	const char *gt = strchr(lt, '>');
	size_t alen = gt ? (size_t)(gt - lt - 1) : 0;
	if (!gt || gt[1] != '\0' || alen == 0 || alen > MIME_ADDR_MAX)
		return NULL;
	memcpy(addr, lt + 1, alen);
	addr[alen] = '\0';
	if (!mime_address_ok(addr))
		return NULL;

	/* The display name: trimmed, without surrounding quotes. */
	const char *n = spec, *e = lt;
	while (n < e && *n == ' ')
		n++;
	while (e > n && e[-1] == ' ')
		e--;
	if (e - n >= 2 && n[0] == '"' && e[-1] == '"') {
		n++;
		e--;
	}
	if (n == e) {
		buf_printf(&b, "<%s>", addr);
		return buf_take(&b, NULL);
	}
	bool ascii = true;
	for (const char *p = n; p < e; p++)
		ascii = ascii && (unsigned char)*p < 0x80;
	if (ascii) {
		buf_putc(&b, '"');
		for (const char *p = n; p < e; p++) {
			if (*p == '"' || *p == '\\')
				buf_putc(&b, '\\');
			buf_putc(&b, *p);
		}
		buf_putc(&b, '"');
	} else {
		encode_words(&b, n, (size_t)(e - n));
	}
	buf_printf(&b, " <%s>", addr);
	return buf_take(&b, NULL);
}

static void qp_byte(struct buf *b, unsigned char c, size_t *col)
{
	static const char hex[] = "0123456789ABCDEF";
	char e[3] = {'=', hex[c >> 4], hex[c & 15]};

	if (*col + 3 > QP_COLS - 1) {
		buf_puts(b, "=\r\n");
		*col = 0;
	}
	buf_append(b, e, 3);
	*col += 3;
}

char *mime_qp(const char *s, size_t len, size_t *outlen)
{
	struct buf b = {0};
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < len && s[i + 1] == '\n')
				i++;
			buf_puts(&b, "\r\n");
			col = 0;
			continue;
		}
		bool at_eol = i + 1 == len || s[i + 1] == '\r' || s[i + 1] == '\n';
		bool literal = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !at_eol);
		if (!literal) {
			qp_byte(&b, c, &col);
			continue;
		}
		/* Keep room for a soft break's "=" unless this byte ends the line. */
		if (col + 1 > QP_COLS - 1 && !(at_eol && col + 1 <= QP_COLS)) {
			buf_puts(&b, "=\r\n");
			col = 0;
		}
		buf_putc(&b, (char)c);
		col++;
	}
	return buf_take(&b, outlen);
}

void mime_date(time_t t, char out[40])
{
	static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	struct tm tm;

	/* Names from tables, not strftime, so the locale can never change them. */
	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
		 months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static bool id_ok(const char *id)
{
	size_t n = id ? strlen(id) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z')))
			return false;
	return true;
}

static void add_part(struct buf *b, const char *boundary, const char *type, const char *body, size_t len, bool *ok)
{
	size_t qlen;
	char *qp = mime_qp(body, len, &qlen);

	if (!qp) {
		*ok = false;
		return;
	}
	buf_printf(b, "--%s\r\nContent-Type: %s; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n",
		   boundary, type);
	buf_append(b, qp, qlen);
	if (qlen < 2 || memcmp(qp + qlen - 2, "\r\n", 2) != 0)
		buf_puts(b, "\r\n");
	free(qp);
}

char *mime_build(const struct mime_message *m, size_t *len)
{
	struct buf b = {0};
	char date[40], boundary[96];
	bool ok = true;

	if (!mime_address_ok(m->to) || !mime_address_ok(m->from_addr) || !id_ok(m->id) || !m->from_header)
		return NULL;
	for (const char *p = m->from_header; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			return NULL;
	char *subject = mime_header("Subject", m->subject);
	if (!subject)
		return NULL;
	mime_date(m->date, date);
	/* "=_" never occurs in quoted-printable output ('=' is always =3D there), so no body line
	 * can be mistaken for the boundary, whatever the data holds. */
	snprintf(boundary, sizeof(boundary), "=_store_%s", m->id);
	buf_printf(&b, "Date: %s\r\n", date);
	buf_printf(&b, "From: %s\r\n", m->from_header); /* already encoded by mime_from_header() */
	buf_printf(&b, "To: %s\r\n", m->to);
	buf_puts(&b, subject);
	buf_printf(&b, "Message-ID: <%s@%s>\r\n", m->id, strrchr(m->from_addr, '@') + 1);
	buf_puts(&b, "MIME-Version: 1.0\r\n");
	/* RFC 3834: tells auto-responders (vacation replies) not to answer. */
	buf_puts(&b, "Auto-Submitted: auto-generated\r\n");
	buf_printf(&b, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
	buf_puts(&b, "This is a multi-part message in MIME format.\r\n\r\n");
	add_part(&b, boundary, "text/plain", m->text, m->text_len, &ok);
	add_part(&b, boundary, "text/html", m->html, m->html_len, &ok);
	buf_printf(&b, "--%s--\r\n", boundary);
	free(subject);
	if (!ok) {
		buf_free(&b);
		return NULL;
	}
	return buf_take(&b, len);
}
