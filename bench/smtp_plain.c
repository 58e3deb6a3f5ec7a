/* smtp_plain.c: the benchmark baseline for the worker: one libcurl handle sending the same message N times. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct src {
	const char *data;
	size_t len, off;
};

static size_t read_cb(char *dst, size_t size, size_t nitems, void *userp)
{
	struct src *s = userp;
	size_t n = s->len - s->off;
	if (n > size * nitems)
		n = size * nitems;
	memcpy(dst, s->data + s->off, n);
	s->off += n;
	return n;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc != 6) {
		fprintf(stderr, "usage: store-smtp-plain URL FROM TO COUNT MESSAGE_FILE\n"
				"  sends MESSAGE_FILE COUNT times over one reused connection; prints messages/s\n");
		return 2;
	}
	long count = strtol(argv[4], NULL, 10);
	FILE *f = fopen(argv[5], "rb");
	static char msg[1 << 20];
	size_t len = f ? fread(msg, 1, sizeof(msg), f) : 0;
	if (f)
		fclose(f);
	if (count < 1 || len == 0) {
		fprintf(stderr, "store-smtp-plain: bad COUNT or unreadable MESSAGE_FILE\n");
		return 2;
	}
	char from[300], to[300];
	snprintf(from, sizeof(from), "<%s>", argv[2]);
	snprintf(to, sizeof(to), "<%s>", argv[3]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	struct curl_slist *rcpt = curl_slist_append(NULL, to);
	struct src s = {msg, len, 0};
	curl_easy_setopt(c, CURLOPT_URL, argv[1]);
	curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
	curl_easy_setopt(c, CURLOPT_READDATA, &s);
	curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
	double t0 = now_s();
	long failed = 0;
	for (long i = 0; i < count; i++) {
		s.off = 0;
		CURLcode rc = curl_easy_perform(c);
		if (rc != CURLE_OK && failed++ < 5)
			fprintf(stderr, "store-smtp-plain: message %ld: %s\n", i, curl_easy_strerror(rc));
	}
	double dt = now_s() - t0;
	printf("sent=%ld failed=%ld seconds=%.3f per_second=%.1f\n", count - failed, failed, dt,
	       (double)(count - failed) / dt);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
