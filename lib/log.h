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

/* Formats a log line into `buf` (what log_msg writes, without the newline); for tests. */
void log_format(char *buf, size_t len, enum log_level level, const char *request_id, const char *msg);

#endif
