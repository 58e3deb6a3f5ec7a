/* smtp.h: sending one message over SMTP through libcurl, reusing the connection, and classifying the outcome. */
#ifndef STORE_WORKER_SMTP_H
#define STORE_WORKER_SMTP_H

#include <stdbool.h>
#include <stddef.h>

struct worker_settings;
struct smtp_client;

enum smtp_result {
	SMTP_SENT,        /* the server accepted the message (250 after the data) */
	SMTP_UNAVAILABLE, /* failed before any recipient was named: connect, TLS, greeting, EHLO,
			   * AUTH or MAIL FROM. Not the job's fault: hold it and retry later. */
	SMTP_TEMPORARY,   /* a recipient was named, then a 4xx reply, a timeout or a lost connection */
	SMTP_PERMANENT,   /* a recipient was named, then a 5xx reply (unknown mailbox, refused content) */
};

/*
 * The rule the worker lives by, apart from libcurl so it can be tested: `curl_code` is the
 * CURLcode of the transfer, `reply` the SMTP reply code that refused it (the first 4xx or 5xx
 * read in it; else the last reply, 0 when none), and `rcpt_sent` whether RCPT TO went out.
 */
enum smtp_result smtp_classify(int curl_code, int reply, bool rcpt_sent);

/* "sent", "unavailable", "temporary" or "permanent". */
const char *smtp_result_name(enum smtp_result r);

/*
 * A client for cfg->smtp_url (smtp:// or smtps://), with STARTTLS required when
 * cfg->smtp_starttls, AUTH when cfg->smtp_user is set, and cfg->smtp_timeout for a whole
 * message. `from_addr` (copied) is the envelope sender. One libcurl handle, kept between
 * messages so the connection is reused. Returns NULL when libcurl cannot be set up.
 */
struct smtp_client *smtp_client_new(const struct worker_settings *cfg, const char *from_addr);

/* Closes the connection (QUIT) and frees; accepts NULL. */
void smtp_client_free(struct smtp_client *c);

/*
 * Sends `len` bytes of `msg` (a whole RFC 5322 message, CRLF line endings) to `rcpt`.
 * Returns the outcome; for anything but SMTP_SENT writes one line into `err`: libcurl's
 * reason and the server's last reply.
 */
enum smtp_result smtp_send(struct smtp_client *c, const char *rcpt, const char *msg, size_t len, char *err,
			   size_t errlen);

#endif
