/* smtp.c: libcurl SMTP with one reused handle, a debug hook that tells how far a session got, and classification. */
#include "smtp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "settings.h"
#include "mime.h"

struct smtp_client {
	CURL *curl;
	char from[MIME_ADDR_MAX + 3]; /* "<addr>" */
	char errbuf[CURL_ERROR_SIZE];
	/* Per message: what the read callback hands out, and what the debug hook saw. */
	const char *msg;
	size_t len, off;
	bool rcpt_sent;
	int reply;             /* code of the first refusal (4xx/5xx) read, else of the last reply */
	char reply_text[200];  /* that reply's line, for the dead-letter stream and the log */
};

enum smtp_result smtp_classify(int curl_code, int reply, bool rcpt_sent)
{
	if (curl_code == CURLE_OK)
		return SMTP_SENT;
	/* Nothing about this message has been said yet: the server, the network or our own
	 * configuration (TLS, credentials, sender) is at fault, and every job would fail alike. */
	if (!rcpt_sent)
		return SMTP_UNAVAILABLE;
	if (reply >= 500 && reply <= 599)
		return SMTP_PERMANENT;
	return SMTP_TEMPORARY;
}

const char *smtp_result_name(enum smtp_result r)
{
	static const char *const names[] = {"sent", "unavailable", "temporary", "permanent"};
	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static size_t read_cb(char *dst, size_t size, size_t nitems, void *userp)
{
	struct smtp_client *c = userp;
	size_t room = size * nitems, n = c->len - c->off;

	if (n > room)
		n = room;
	memcpy(dst, c->msg + c->off, n);
	c->off += n;
	return n;
}

/* Watches the conversation: commands going out and reply lines coming in (never the data). */
static int debug_cb(CURL *h, curl_infotype type, char *data, size_t size, void *userp)
{
	struct smtp_client *c = userp;

	if (type == CURLINFO_HEADER_OUT && size >= 8 && strncasecmp(data, "RCPT TO:", 8) == 0) {
		c->rcpt_sent = true;
	} else if (type == CURLINFO_HEADER_IN && size >= 3 && data[0] >= '1' && data[0] <= '5' && data[1] >= '0' &&
		   data[1] <= '9' && data[2] >= '0' && data[2] <= '9') {
		size_t n = size < sizeof(c->reply_text) ? size : sizeof(c->reply_text) - 1;
		int code = (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
		/* The first refusal is the reason; what follows (libcurl's QUIT and its "221 Bye") is not. */
		if (c->reply >= 400)
			return 0;
		c->reply = code;
		memcpy(c->reply_text, data, n);
		c->reply_text[n] = '\0';
		for (char *p = c->reply_text; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
				*p = *p == '\r' || *p == '\n' ? '\0' : ' ';
	}
	return 0;
}

struct smtp_client *smtp_client_new(const struct worker_settings *cfg, const char *from_addr)
{
	struct smtp_client *c = calloc(1, sizeof(*c));
	long connect_s = cfg->smtp_timeout < 10 ? cfg->smtp_timeout : 10;
	CURLcode rc = CURLE_OK;

	if (!c || !(c->curl = curl_easy_init()))
		goto fail;
	snprintf(c->from, sizeof(c->from), "<%s>", from_addr);
#define SET(opt, val)                                          \
	do {                                                   \
		if (rc == CURLE_OK)                            \
			rc = curl_easy_setopt(c->curl, opt, val); \
	} while (0)
	SET(CURLOPT_URL, cfg->smtp_url);
#if LIBCURL_VERSION_NUM >= 0x075500
	SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	SET(CURLOPT_MAIL_FROM, c->from);
	SET(CURLOPT_UPLOAD, 1L);
	SET(CURLOPT_READFUNCTION, read_cb);
	SET(CURLOPT_READDATA, c);
	SET(CURLOPT_VERBOSE, 1L); /* only so that debug_cb sees the conversation; nothing is printed */
	SET(CURLOPT_DEBUGFUNCTION, debug_cb);
	SET(CURLOPT_DEBUGDATA, c);
	SET(CURLOPT_ERRORBUFFER, c->errbuf);
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_CONNECTTIMEOUT, connect_s);
	SET(CURLOPT_TIMEOUT, cfg->smtp_timeout);
	SET(CURLOPT_TCP_KEEPALIVE, 1L);
	if (cfg->smtp_starttls)
		SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
	if (cfg->smtp_user) {
		SET(CURLOPT_USERNAME, cfg->smtp_user);
		SET(CURLOPT_PASSWORD, cfg->smtp_password ? cfg->smtp_password : "");
	}
#undef SET
	if (rc != CURLE_OK)
		goto fail;
	return c;
fail:
	smtp_client_free(c);
	return NULL;
}

void smtp_client_free(struct smtp_client *c)
{
	if (!c)
		return;
	if (c->curl)
		curl_easy_cleanup(c->curl);
	free(c);
}

enum smtp_result smtp_send(struct smtp_client *c, const char *rcpt, const char *msg, size_t len, char *err,
			   size_t errlen)
{
	char to[MIME_ADDR_MAX + 3];
	struct curl_slist rcpts = {to, NULL}; /* on the stack: libcurl only reads it during the transfer */

	snprintf(to, sizeof(to), "<%s>", rcpt);
	c->msg = msg;
	c->len = len;
	c->off = 0;
	c->rcpt_sent = false;
	c->reply = 0;
	c->reply_text[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->curl, CURLOPT_MAIL_RCPT, &rcpts);
	curl_easy_setopt(c->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	CURLcode rc = curl_easy_perform(c->curl);
	curl_easy_setopt(c->curl, CURLOPT_MAIL_RCPT, NULL);
	c->msg = NULL;

	enum smtp_result r = smtp_classify((int)rc, c->reply, c->rcpt_sent);
	if (r != SMTP_SENT)
		snprintf(err, errlen, "%s%s%s", c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc),
			 c->reply_text[0] ? "; server said: " : "", c->reply_text);
	return r;
}
