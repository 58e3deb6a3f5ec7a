/* test_worker_mime.c: message assembly (worker/mime.c): addresses, RFC 2047 subjects, quoted-printable, header injection. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime.h"
#include "parse.h"

/* --- helpers: an independent decoder for what the encoder writes ------------------ */

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes quoted-printable (soft breaks removed, CRLF kept as "\n"); asserts it is well formed. */
static char *qp_decode(const char *s, size_t *outlen)
{
	char *out = malloc(strlen(s) + 1);
	size_t o = 0;
	for (const char *p = s; *p; p++) {
		if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') {
			p += 2;
		} else if (p[0] == '=') {
			int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
			cr_assert(hi >= 0 && lo >= 0, "bad escape at \"%.8s\"", p);
			out[o++] = (char)(hi * 16 + lo);
			p += 2;
		} else if (p[0] == '\r') {
			cr_assert_eq(p[1], '\n', "bare CR in QP output");
			out[o++] = '\n';
			p++;
		} else {
			cr_assert_neq(p[0], '\n', "bare LF in QP output");
			out[o++] = *p;
		}
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* Asserts every line of `s` ends in CRLF and is at most `max` columns. */
static void assert_lines(const char *s, size_t max)
{
	const char *line = s;
	for (const char *p = s; *p; p++) {
		if (*p == '\n') {
			cr_assert(p > s && p[-1] == '\r', "bare LF at offset %td", p - s);
			cr_assert_leq((size_t)(p - 1 - line), max, "line of %td columns: \"%.*s\"", p - 1 - line,
				      (int)(p - 1 - line), line);
			line = p + 1;
		} else if (*p == '\r') {
			cr_assert_eq(p[1], '\n', "bare CR at offset %td", p - s);
		}
	}
	cr_assert_eq(*line, '\0', "last line not terminated: \"%s\"", line);
}

/* Decodes a header value made of RFC 2047 B words (or plain text) back into UTF-8. */
static char *header_decode(const char *hdr)
{
	const char *v = strchr(hdr, ':') + 2;
	char *out = calloc(1, strlen(hdr) + 1);
	size_t o = 0;
	if (strncmp(v, "=?", 2) != 0) {
		size_t n = strcspn(v, "\r");
		memcpy(out, v, n);
		return out;
	}
	while (*v) {
		cr_assert_eq(strncmp(v, "=?utf-8?B?", 10), 0, "not an encoded word: \"%s\"", v);
		const char *end = strstr(v + 10, "?=");
		cr_assert_not_null(end);
		cr_assert_leq((size_t)(end + 2 - v), 75, "encoded word longer than 75");
		unsigned char bin[128];
		size_t blen;
		cr_assert_eq(sodium_base642bin(bin, sizeof(bin), v + 10, (size_t)(end - v - 10), NULL, &blen, NULL,
					       sodium_base64_VARIANT_ORIGINAL),
			     0);
		cr_assert(parse_utf8_valid((const char *)bin, blen), "a word splits a UTF-8 sequence");
		memcpy(out + o, bin, blen);
		o += blen;
		v = end + 2;
		if (strncmp(v, "\r\n ", 3) == 0)
			v += 3;
		else
			cr_assert_str_eq(v, "\r\n");
		if (strcmp(v, "\r\n") == 0)
			break;
	}
	return out;
}

/* --- addresses ---------------------------------------------------------------------- */

Test(mime_address, plain_ascii_addresses_only)
{
	static const char *const good[] = {"a@b.example", "first.last+tag@example.com", "o'hara@x.io",
					   "user_1-2@sub.example.org", "x@localhost"};
	static const char *const bad[] = {"",
					  "@example.com",
					  "a@",
					  "a",
					  ".a@example.com",
					  "a.@example.com",
					  "a..b@example.com",
					  "a b@example.com",
					  "a@exa mple.com",
					  "a@example..com",
					  "a@.example.com",
					  "a\r\nBcc: x@evil.com@example.com",
					  "<a@example.com>",
					  "a,b@example.com",
					  "a\"b@example.com",
					  "zo\xc3\xab@example.com",
					  "a@ex\xc3\xa4mple.com",
					  "a(comment)@example.com"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		cr_assert(mime_address_ok(good[i]), "%s", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert(!mime_address_ok(bad[i]), "%s", bad[i]);
	cr_assert(!mime_address_ok(NULL));
	char longlocal[80];
	memset(longlocal, 'a', 65);
	snprintf(longlocal + 65, sizeof(longlocal) - 65, "@x.io");
	cr_assert(!mime_address_ok(longlocal), "local part over 64");
}

Test(mime_from, bare_address_and_display_forms)
{
	char addr[MIME_ADDR_MAX + 1];
	char *h = mime_from_header("store@example.com", addr);
	cr_assert_str_eq(h, "store@example.com");
	cr_assert_str_eq(addr, "store@example.com");
	free(h);
	h = mime_from_header("The Store <store@example.com>", addr);
	cr_assert_str_eq(h, "\"The Store\" <store@example.com>");
	cr_assert_str_eq(addr, "store@example.com");
	free(h);
	h = mime_from_header("\"Say \\\"hi\\\"\" <s@example.com>", addr);
	cr_assert_not_null(h);
	free(h);
	h = mime_from_header("<s@example.com>", addr);
	cr_assert_str_eq(h, "<s@example.com>");
	free(h);
	h = mime_from_header("Caf\xc3\xa9 Store <s@example.com>", addr);
	cr_assert_str_eq(h, "=?utf-8?B?Q2Fmw6kgU3RvcmU=?= <s@example.com>");
	free(h);
}

Test(mime_from, malformed_values_are_refused)
{
	char addr[MIME_ADDR_MAX + 1];
	static const char *const bad[] = {"", "Store", "Store <>", "Store <s@example.com", "Store <s@example.com> x",
					  "Store\r\nBcc: x@evil.com <s@example.com>", "Store <not an address>",
					  "s@example.com\n"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_null(mime_from_header(bad[i], addr), "%s", bad[i]);
	cr_assert_null(mime_from_header(NULL, addr));
}

/* --- RFC 2047 headers ---------------------------------------------------------------- */

Test(mime_header, short_ascii_stays_readable)
{
	char *h = mime_header("Subject", "Your password was changed");
	cr_assert_str_eq(h, "Subject: Your password was changed\r\n");
	free(h);
	h = mime_header("Subject", "");
	cr_assert_str_eq(h, "Subject: \r\n");
	free(h);
}

Test(mime_header, non_ascii_is_encoded_and_round_trips)
{
	const char *subject = "Welcome to the store, Zo\xc3\xab \xe2\x82\xac \xf0\x9f\x8e\x89";
	char *h = mime_header("Subject", subject);
	cr_assert_eq(strncmp(h, "Subject: =?utf-8?B?", 19), 0, "%s", h);
	assert_lines(h, 78);
	char *back = header_decode(h);
	cr_assert_str_eq(back, subject);
	free(back);
	free(h);
}

Test(mime_header, long_subjects_fold_without_splitting_characters)
{
	char subject[1200] = "";
	for (int i = 0; i < 100; i++)
		strcat(subject, "\xc3\xa9t\xc3\xa9 "); /* "été " */
	char *h = mime_header("Subject", subject);
	assert_lines(h, 78);
	cr_assert_not_null(strstr(h, "\r\n =?utf-8?B?"), "not folded");
	char *back = header_decode(h);
	cr_assert_str_eq(back, subject);
	free(back);
	free(h);

	/* A long ASCII subject is folded too (as encoded words) rather than one endless line. */
	memset(subject, 'x', 300);
	subject[300] = '\0';
	h = mime_header("Subject", subject);
	assert_lines(h, 78);
	back = header_decode(h);
	cr_assert_str_eq(back, subject);
	free(back);
	free(h);
}

Test(mime_header, encoded_word_lookalike_is_encoded)
{
	char *h = mime_header("Subject", "=?utf-8?B?SGk=?=");
	char *back = header_decode(h);
	cr_assert_str_eq(back, "=?utf-8?B?SGk=?=", "a literal \"=?\" must not be decoded by readers");
	cr_assert_str_neq(h, "Subject: =?utf-8?B?SGk=?=\r\n");
	free(back);
	free(h);
}

Test(mime_header, line_breaks_in_values_never_start_a_header)
{
	static const char *const attacks[] = {"Hi\r\nBcc: victim@example.com", "Hi\nBcc: victim@example.com",
					      "Hi\rBcc: victim@example.com", "Hi\r\n\r\n<html>body",
					      "Zo\xc3\xab\r\nBcc: victim@example.com", "a\x00"};
	for (size_t i = 0; i < sizeof(attacks) / sizeof(attacks[0]); i++) {
		char *h = mime_header("Subject", attacks[i]);
		assert_lines(h, 78);
		/* The only line breaks are the final one and folds (CRLF + space). */
		for (char *p = strstr(h, "\r\n"); p; p = strstr(p + 2, "\r\n"))
			cr_assert(p[2] == '\0' || p[2] == ' ', "case %zu: a line break not followed by a space", i);
		free(h);
	}
	char *h = mime_header("Subject", "Tab\there\x7f");
	cr_assert_str_eq(h, "Subject: Tab here \r\n");
	free(h);
}

/* --- quoted-printable ---------------------------------------------------------------- */

/* Asserts that the quoted-printable form of `in` is `want`. */
static void assert_qp(const char *in, const char *want)
{
	size_t n;
	char *q = mime_qp(in, strlen(in), &n);
	cr_assert_str_eq(q, want, "qp(\"%s\")", in);
	cr_assert_eq(n, strlen(want));
	free(q);
}

Test(mime_qp, empty_and_plain)
{
	assert_qp("", "");
	assert_qp("Hello, world.", "Hello, world.");
}

Test(mime_qp, escapes_equals_controls_and_8bit)
{
	assert_qp("a=b \xc3\xa9\x01\x7f", "a=3Db =C3=A9=01=7F");
}

Test(mime_qp, trailing_white_space_is_encoded)
{
	assert_qp("end \nnext\t\nlast ", "end=20\r\nnext=09\r\nlast=20");
}

Test(mime_qp, every_line_ending_becomes_crlf)
{
	assert_qp("a\nb\r\nc\rd\n\ne", "a\r\nb\r\nc\r\nd\r\n\r\ne");
}

Test(mime_qp, long_lines_get_soft_breaks_of_at_most_76)
{
	char in[1000];
	for (size_t i = 0; i < sizeof(in) - 1; i++)
		in[i] = (char)(i % 7 == 0 ? '=' : 'a' + (char)(i % 26));
	in[sizeof(in) - 1] = '\0';
	size_t n, dn;
	char *q = mime_qp(in, strlen(in), &n);
	char *withcrlf = malloc(n + 3);
	memcpy(withcrlf, q, n);
	memcpy(withcrlf + n, "\r\n", 3);
	assert_lines(withcrlf, 76);
	char *back = qp_decode(q, &dn);
	cr_assert_eq(dn, strlen(in));
	cr_assert_str_eq(back, in);
	free(back);
	free(withcrlf);
	free(q);
}

Test(mime_qp, random_bytes_round_trip)
{
	unsigned char in[4096];
	for (int round = 0; round < 50; round++) {
		randombytes_buf(in, sizeof(in));
		/* The decoder gives "\n" for a line break; make breaks unambiguous: LF only. */
		for (size_t i = 0; i < sizeof(in); i++)
			if (in[i] == '\r')
				in[i] = '\n';
		size_t n, dn;
		char *q = mime_qp((const char *)in, sizeof(in), &n);
		cr_assert_eq(strlen(q), n);
		char *back = qp_decode(q, &dn);
		cr_assert_eq(dn, sizeof(in));
		cr_assert_eq(memcmp(back, in, dn), 0);
		cr_assert_null(strstr(q, "=_"), "\"=_\" must never appear in QP output");
		free(back);
		free(q);
	}
}

/* --- dates ---------------------------------------------------------------------------- */

Test(mime_date, rfc5322_in_utc)
{
	char d[40];
	mime_date(0, d);
	cr_assert_str_eq(d, "Thu, 01 Jan 1970 00:00:00 +0000");
	mime_date(1751360700, d);
	cr_assert_str_eq(d, "Tue, 01 Jul 2025 09:05:00 +0000");
}

/* --- whole messages -------------------------------------------------------------------- */

static struct mime_message sample(void)
{
	return (struct mime_message){
		.from_header = "\"Store\" <store@shop.example>",
		.from_addr = "store@shop.example",
		.to = "ada@example.com",
		.subject = "Welcome, Ada",
		.text = "Hello Ada\n",
		.text_len = 10,
		.html = "<p>Hello Ada</p>\n",
		.html_len = 17,
		.id = "0123456789abcdef0123456789abcdef",
		.date = 1751360700,
	};
}

/* Returns the header block (up to the first empty line), malloc'd. */
static char *headers_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	cr_assert_not_null(end);
	return strndup(msg, (size_t)(end - msg + 2));
}

Test(mime_build, has_every_required_header_and_both_parts)
{
	struct mime_message m = sample();
	size_t len;
	char *msg = mime_build(&m, &len);
	cr_assert_not_null(msg);
	cr_assert_eq(strlen(msg), len);
	assert_lines(msg, 998);
	char *h = headers_of(msg);
	cr_assert_not_null(strstr(h, "Date: Tue, 01 Jul 2025 09:05:00 +0000\r\n"));
	cr_assert_not_null(strstr(h, "From: \"Store\" <store@shop.example>\r\n"));
	cr_assert_not_null(strstr(h, "To: ada@example.com\r\n"));
	cr_assert_not_null(strstr(h, "Subject: Welcome, Ada\r\n"));
	cr_assert_not_null(strstr(h, "Message-ID: <0123456789abcdef0123456789abcdef@shop.example>\r\n"));
	cr_assert_not_null(strstr(h, "MIME-Version: 1.0\r\n"));
	cr_assert_not_null(
		strstr(h, "Content-Type: multipart/alternative; boundary=\"=_store_0123456789abcdef0123456789abcdef\""));
	cr_assert_eq(strncmp(msg, "Date: ", 6), 0);
	const char *plain = strstr(msg, "Content-Type: text/plain; charset=utf-8\r\n"
					"Content-Transfer-Encoding: quoted-printable\r\n\r\nHello Ada\r\n");
	const char *html = strstr(msg, "Content-Type: text/html; charset=utf-8\r\n"
				       "Content-Transfer-Encoding: quoted-printable\r\n\r\n<p>Hello Ada</p>\r\n");
	cr_assert_not_null(plain);
	cr_assert_not_null(html);
	cr_assert_lt(plain, html, "text/plain must come first (the last part is the preferred one)");
	size_t n = strlen(msg);
	cr_assert_eq(strcmp(msg + n - strlen("--=_store_0123456789abcdef0123456789abcdef--\r\n"),
			    "--=_store_0123456789abcdef0123456789abcdef--\r\n"),
		     0);
	free(h);
	free(msg);
}

Test(mime_build, header_injection_through_data_goes_nowhere)
{
	struct mime_message m = sample();
	m.subject = "Welcome\r\nBcc: victim@example.com\r\nX-Evil: 1";
	m.text = "Hi\r\n\r\n--=_store_0123456789abcdef0123456789abcdef\r\nContent-Type: text/html\r\n\r\n<script>";
	m.text_len = strlen(m.text);
	m.html = "\r\n.\r\nMAIL FROM:<x@evil.com>\r\n";
	m.html_len = strlen(m.html);
	char *msg = mime_build(&m, NULL);
	cr_assert_not_null(msg);
	assert_lines(msg, 998);
	char *h = headers_of(msg);
	cr_assert_null(strstr(h, "\r\nBcc:"), "%s", h);
	cr_assert_null(strstr(h, "\r\nX-Evil:"), "%s", h);
	/* The boundary line occurs exactly three times: two openings and the close. */
	int count = 0;
	for (const char *p = strstr(msg, "\r\n--=_store_"); p; p = strstr(p + 1, "\r\n--=_store_"))
		count++;
	cr_assert_eq(count, 3, "a body line passed for a boundary");
	free(h);
	free(msg);
}

Test(mime_build, refuses_bad_recipient_sender_or_id)
{
	struct mime_message m = sample();
	m.to = "ada@example.com\r\nBcc: x@evil.com";
	cr_assert_null(mime_build(&m, NULL));
	m = sample();
	m.to = "Ada <ada@example.com>";
	cr_assert_null(mime_build(&m, NULL));
	m = sample();
	m.id = "0123456789abcdef\r\nBcc: x@y.z>";
	cr_assert_null(mime_build(&m, NULL));
	m = sample();
	m.id = "";
	cr_assert_null(mime_build(&m, NULL));
	m = sample();
	m.from_header = "Store\r\nBcc: x@evil.com";
	cr_assert_null(mime_build(&m, NULL));
	m = sample();
	m.from_addr = "not-an-address";
	cr_assert_null(mime_build(&m, NULL));
}

Test(mime_build, utf8_everywhere)
{
	struct mime_message m = sample();
	m.subject = "Bienvenue, Zo\xc3\xab";
	m.text = "Gr\xc3\xbc\xc3\x9f Gott, Zo\xc3\xab\n";
	m.text_len = strlen(m.text);
	char *msg = mime_build(&m, NULL);
	cr_assert_not_null(strstr(msg, "Subject: =?utf-8?B?QmllbnZlbnVlLCBab8Or?=\r\n"), "%s", msg);
	cr_assert_not_null(strstr(msg, "Gr=C3=BC=C3=9F Gott, Zo=C3=AB\r\n"));
	for (const unsigned char *p = (const unsigned char *)msg; *p; p++)
		cr_assert_lt(*p, 0x80, "8-bit byte in a 7-bit message");
	free(msg);
}
