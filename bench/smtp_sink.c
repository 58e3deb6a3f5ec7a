/* smtp_sink.c: bench/run's stand-in for an MTA on another host: speaks just enough SMTP on loopback and discards every message.
 *
 * usage: store-bench-smtp PORT
 *
 * The stack's own sink (aiosmtpd, writing a Maildir the tests read) costs 1 to 1.5 ms of CPU per
 * message on the benchmark machine, as much as the order service spends on the order itself. A
 * shop hands its mail to an MTA elsewhere, so bench/run's checkout scenarios put this sink on
 * the stack's SMTP port instead (BENCH_MAIL_SINK=light, the default there): the worker still
 * renders, sends and acknowledges every message over SMTP, and only the receiving end is
 * cheap. Built with the tree; not installed, not part of the product.
 *
 * One thread, poll(2) over every connection. Replies: 220 on connect; EHLO, HELO, MAIL, RCPT,
 * RSET, NOOP 250; DATA 354, then 250 after the line "."; QUIT 221 and close; anything else 502.
 * On SIGTERM or SIGINT it prints how many messages it took and exits 0.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 256
#define LINE_MAX_BYTES 8192

struct conn {
	int fd;
	bool data; /* inside DATA: lines are discarded until "." */
	bool rest; /* the rest of a body line too long for buf: not a line of its own */
	size_t len;
	char buf[LINE_MAX_BYTES];
};

static volatile sig_atomic_t stopping;
static unsigned long messages;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void say(struct conn *c, const char *text)
{
	size_t n = strlen(text), off = 0;
	while (off < n) {
		ssize_t w = send(c->fd, text + off, n - off, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the read side sees the connection go */
		off += (size_t)w;
	}
}

/* One line without its line end. Returns false when the connection is to be closed. */
static bool line(struct conn *c, const char *l, size_t n)
{
	if (c->data) {
		if (c->rest) {
			c->rest = false;
			return true;
		}
		if (n == 1 && l[0] == '.') {
			c->data = false;
			messages++;
			say(c, "250 2.0.0 Ok: queued\r\n");
		}
		return true;
	}
	if (n >= 4 && strncasecmp(l, "EHLO", 4) == 0)
		say(c, "250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
	else if (n >= 4 && (strncasecmp(l, "HELO", 4) == 0 || strncasecmp(l, "MAIL", 4) == 0 ||
			    strncasecmp(l, "RCPT", 4) == 0 || strncasecmp(l, "RSET", 4) == 0 ||
			    strncasecmp(l, "NOOP", 4) == 0))
		say(c, "250 2.0.0 Ok\r\n");
	else if (n >= 4 && strncasecmp(l, "DATA", 4) == 0) {
		c->data = true;
		say(c, "354 End data with <CR><LF>.<CR><LF>\r\n");
	} else if (n >= 4 && strncasecmp(l, "QUIT", 4) == 0) {
		say(c, "221 2.0.0 Bye\r\n");
		return false;
	} else
		say(c, "502 5.5.2 Error: command not recognized\r\n");
	return true;
}

/* Reads what is there and answers every complete line. Returns false to close. */
static bool readable(struct conn *c)
{
	ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return true;
	if (n <= 0)
		return false;
	c->len += (size_t)n;
	size_t start = 0;
	for (size_t i = 0; i < c->len; i++) {
		if (c->buf[i] != '\n')
			continue;
		size_t end = i > start && c->buf[i - 1] == '\r' ? i - 1 : i;
		if (!line(c, c->buf + start, end - start))
			return false;
		start = i + 1;
	}
	if (start == 0 && c->len == sizeof(c->buf)) {
		if (!c->data) {
			say(c, "500 5.5.0 Line too long\r\n");
			return false;
		}
		c->len = 0; /* a long body line: its rest is not the end of the data */
		c->rest = true;
		return true;
	}
	memmove(c->buf, c->buf + start, c->len - start);
	c->len -= start;
	return true;
}

int main(int argc, char **argv)
{
	static struct conn conns[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS + 1];
	struct sockaddr_in a = {0};
	char *end;
	long port = argc == 2 ? strtol(argv[1], &end, 10) : 0;
	int one = 1;

	if (argc != 2 || *end || port < 1 || port > 65535) {
		fprintf(stderr, "usage: store-bench-smtp PORT\n");
		return 2;
	}
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (lfd < 0 || setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(lfd, 128) != 0) {
		fprintf(stderr, "store-bench-smtp: cannot listen on 127.0.0.1:%ld: %s\n", port, strerror(errno));
		return 1;
	}
	for (int i = 0; i < MAX_CONNS; i++)
		conns[i].fd = -1;
	fprintf(stderr, "store-bench-smtp: listening on 127.0.0.1:%ld\n", port);

	while (!stopping) {
		nfds_t n = 0;
		int at[MAX_CONNS + 1];
		pfd[n++] = (struct pollfd){lfd, POLLIN, 0};
		for (int i = 0; i < MAX_CONNS; i++)
			if (conns[i].fd >= 0) {
				at[n] = i;
				pfd[n++] = (struct pollfd){conns[i].fd, POLLIN, 0};
			}
		if (poll(pfd, n, 1000) < 0) {
			if (errno == EINTR)
				continue;
			perror("store-bench-smtp: poll");
			return 1;
		}
		for (nfds_t k = 1; k < n; k++) {
			struct conn *c = &conns[at[k]];
			if (pfd[k].revents && !readable(c)) {
				close(c->fd);
				c->fd = -1;
			}
		}
		if (pfd[0].revents & POLLIN) {
			int fd;
			while ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
				int i = 0;
				while (i < MAX_CONNS && conns[i].fd >= 0)
					i++;
				if (i == MAX_CONNS) {
					close(fd); /* full: the client retries */
					continue;
				}
				conns[i] = (struct conn){.fd = fd};
				say(&conns[i], "220 sink ESMTP store-bench-smtp\r\n");
			}
		}
	}
	fprintf(stderr, "store-bench-smtp: %lu messages\n", messages);
	return 0;
}
