/* log.c: one line per event to stderr, with level, service and request id. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static char log_service[32] = "store";
static enum log_level log_min = LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void log_init(const char *service, enum log_level min)
{
	snprintf(log_service, sizeof(log_service), "%s", service ? service : "store");
	log_min = min;
}

bool log_level_parse(const char *s, enum log_level *out)
{
	for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
		if (s && strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return true;
		}
	}
	return false;
}

/* Copies `src` into `dst` escaping quotes, backslashes and control bytes; always terminates. */
static size_t escape(char *dst, size_t len, const char *src)
{
	size_t o = 0;

	if (len == 0)
		return 0;
	for (const unsigned char *p = (const unsigned char *)src; *p && o + 5 < len; p++) {
		if (*p == '"' || *p == '\\') {
			dst[o++] = '\\';
			dst[o++] = (char)*p;
		} else if (*p == '\n') {
			dst[o++] = '\\';
			dst[o++] = 'n';
		} else if (*p < 0x20 || *p == 0x7f) {
			o += (size_t)snprintf(dst + o, len - o, "\\x%02x", *p);
		} else {
			dst[o++] = (char)*p;
		}
	}
	dst[o] = '\0';
	return o;
}

void log_format(char *buf, size_t len, enum log_level level, const char *request_id, const char *msg)
{
	char ts[32], rid[80], esc[2048];
	struct timespec now;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	escape(rid, sizeof(rid), request_id && *request_id ? request_id : "-");
	escape(esc, sizeof(esc), msg);
	snprintf(buf, len, "%s.%03ldZ level=%s service=%s request_id=%s msg=\"%s\"", ts,
		 now.tv_nsec / 1000000, level_names[level], log_service, rid, esc);
}

void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
{
	char msg[2048], line[4096];
	va_list ap;

	if (level < log_min || level > LOG_ERROR)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_format(line, sizeof(line) - 1, level, request_id, msg);
	size_t n = strlen(line);
	line[n++] = '\n';
	/* One fwrite per line: stdio locks the stream, so lines of threads never interleave. */
	fwrite(line, 1, n, stderr);
}

void log_streak_fail(struct log_streak *s, const char *error)
{
	long long now = clock_now_ms();
	if (++s->failures > 1 && now < s->next_ms)
		return;
	s->next_ms = now + LOG_STREAK_EVERY_MS;
	if (s->failures == 1)
		log_msg(LOG_WARN, NULL, "%s failed: %s", s->what, error);
	else
		log_msg(LOG_WARN, NULL, "%s failed: %s (%ld times in a row)", s->what, error, s->failures);
}

void log_streak_ok(struct log_streak *s)
{
	if (s->failures > 0)
		log_msg(LOG_INFO, NULL, "%s works again after %ld failures", s->what, s->failures);
	s->failures = 0;
}
