/* log.h: one line per event (time, level, service, request id, message) to stderr. */
#ifndef STORE_LOG_H
#define STORE_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the service name (copied) and the minimum level; call once before threads start. */
void log_init(const char *service, enum log_level min);

/* Parses "debug", "info", "warn" or "error"; returns false for anything else. */
bool log_level_parse(const char *s, enum log_level *out);

/*
 * Writes one line: `time level service request_id msg="..."`. `request_id` may
 * be NULL. Newlines, quotes and control bytes in the message are escaped, so one
 * event is always one line. Thread-safe.
 */
void log_msg(enum log_level level, const char *request_id, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A step of a background loop that may fail round after round (its database down for a while):
 * the first failure of a streak is logged at warn, then at most one line a minute with the count,
 * and the first success after it once at info. One per step of a loop, not shared between
 * threads. Zero-initialise it with `what` set, e.g. {.what = "order expiry sweep"}.
 */
struct log_streak {
	const char *what;
	long failures;     /* in the streak under way, 0 when the step works */
	long long next_ms; /* clock_now_ms() from which the next failure is logged */
};
#define LOG_STREAK_EVERY_MS 60000
void log_streak_fail(struct log_streak *s, const char *error);
void log_streak_ok(struct log_streak *s);

/* Formats a log line into `buf` (what log_msg writes, without the newline); for tests. */
void log_format(char *buf, size_t len, enum log_level level, const char *request_id, const char *msg);

#endif
