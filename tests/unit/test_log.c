/* test_log.c: one-line log events with escaping (lib/log.c). */
#include <criterion/criterion.h>
#include <criterion/new/assert.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include "log.h"

/* Returns the msg="..." part of a formatted line (points into `line`). */
static const char *msg_part(const char *line)
{
	const char *m = strstr(line, " msg=\"");
	cr_assert(not(zero(ptr, (void *)m)), "no msg= in \"%s\"", line);
	return m + 6;
}

/* --- log_level_parse ------------------------------------------------------------ */

Test(log_level, known_names)
{
	enum log_level l = LOG_ERROR;
	cr_assert(log_level_parse("debug", &l));
	cr_assert(eq(int, l, LOG_DEBUG));
	cr_assert(log_level_parse("info", &l));
	cr_assert(eq(int, l, LOG_INFO));
	cr_assert(log_level_parse("warn", &l));
	cr_assert(eq(int, l, LOG_WARN));
	cr_assert(log_level_parse("error", &l));
	cr_assert(eq(int, l, LOG_ERROR));
}

Test(log_level, unknown_names_rejected_and_out_untouched)
{
	enum log_level l = LOG_WARN;
	cr_assert(not(log_level_parse("", &l)));
	cr_assert(not(log_level_parse(NULL, &l)));
	cr_assert(not(log_level_parse("INFO", &l)));
	cr_assert(not(log_level_parse("warning", &l)));
	cr_assert(not(log_level_parse("info ", &l)));
	cr_assert(not(log_level_parse("inf", &l)));
	cr_assert(eq(int, l, LOG_WARN));
}

/* --- log_format ------------------------------------------------------------------- */

Test(log_format, fields_in_order)
{
	char line[512];
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_WARN, "abc123", "hello");
	/* 2024-01-02T03:04:05.678Z */
	cr_assert(eq(sz, strcspn(line, " "), 24), "timestamp: \"%s\"", line);
	cr_assert(eq(chr, line[4], '-'));
	cr_assert(eq(chr, line[10], 'T'));
	cr_assert(eq(chr, line[19], '.'));
	cr_assert(eq(chr, line[23], 'Z'));
	cr_assert(eq(str, line + 24, " level=warn service=user request_id=abc123 msg=\"hello\""));
}

Test(log_format, missing_request_id_is_dash)
{
	char line[512];
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, NULL, "x");
	cr_assert(not(zero(ptr, strstr(line, " request_id=- "))), "%s", line);
	log_format(line, sizeof(line), LOG_INFO, "", "x");
	cr_assert(not(zero(ptr, strstr(line, " request_id=- "))), "%s", line);
}

Test(log_format, newline_and_quotes_escaped_one_line)
{
	char line[512];
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_ERROR, "r", "a\nb \"q\" c\\d\re\tf");
	cr_assert(zero(ptr, strchr(line, '\n')), "raw newline in \"%s\"", line);
	cr_assert(zero(ptr, strchr(line, '\r')), "raw CR in \"%s\"", line);
	cr_assert(eq(str, (char *)msg_part(line), "a\\nb \\\"q\\\" c\\\\d\\x0de\\x09f\""));
}

Test(log_format, control_bytes_and_del_escaped_utf8_kept)
{
	char line[512];
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, "r", "\x01\x1b[31m\x7f caf\xc3\xa9");
	cr_assert(eq(str, (char *)msg_part(line), "\\x01\\x1b[31m\\x7f caf\xc3\xa9\""));
}

Test(log_format, forged_event_in_message_stays_inside_msg)
{
	char line[512];
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, "r", "x\"\n2024-01-01T00:00:00.000Z level=error msg=\"forged");
	cr_assert(zero(ptr, strchr(line, '\n')));
	/* The only unescaped quotes are the two around msg. */
	size_t quotes = 0;
	for (const char *p = line; *p; p++)
		if (*p == '"' && p[-1] != '\\')
			quotes++;
	cr_assert(eq(sz, quotes, 2), "%s", line);
}

Test(log_format, request_id_escaped)
{
	char line[512];
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, "a\nb\"", "m");
	cr_assert(zero(ptr, strchr(line, '\n')), "%s", line);
	cr_assert(not(zero(ptr, strstr(line, "request_id=a\\nb\\\" "))), "%s", line);
}

Test(log_format, long_message_truncated_still_one_closed_line)
{
	static char msg[8000];
	char line[4096];
	memset(msg, 'm', sizeof(msg) - 1);
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, "r", msg);
	size_t n = strlen(line);
	cr_assert(lt(sz, n, sizeof(line)));
	cr_assert(eq(chr, line[n - 1], '"'), "line not closed: ...%s", line + n - 10);
}

Test(log_format, escapes_at_the_truncation_edge_not_split)
{
	static char msg[4000];
	char line[4096];
	memset(msg, '\n', sizeof(msg) - 1);
	log_init("user", LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, "r", msg);
	const char *m = msg_part(line);
	size_t n = strlen(m);
	cr_assert(eq(chr, m[n - 1], '"'));
	/* Every escape is whole: the message is "\n" repeated. */
	cr_assert(eq(sz, (n - 1) % 2, 0));
	for (size_t i = 0; i + 1 < n; i += 2)
		cr_assert(m[i] == '\\' && m[i + 1] == 'n', "split escape at %zu", i);
}

Test(log_format, tiny_buffer_terminated)
{
	char buf[16];
	memset(buf, 'Z', sizeof(buf));
	log_format(buf, 10, LOG_INFO, "r", "hello");
	cr_assert(eq(sz, strlen(buf), 9));
	cr_assert(eq(chr, buf[10], 'Z'), "wrote past len");
}

Test(log_format, service_name_truncated_safely)
{
	char line[512];
	log_init("a-very-long-service-name-that-does-not-fit-in-32-bytes", LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, "r", "m");
	cr_assert(not(zero(ptr, strstr(line, " service=a-very-long-service-name-that-d "))), "%s", line);
	log_init(NULL, LOG_INFO);
	log_format(line, sizeof(line), LOG_INFO, "r", "m");
	cr_assert(not(zero(ptr, strstr(line, " service=store "))), "%s", line);
}

/* --- log_msg ------------------------------------------------------------------------ */

static char captured[8192];

static const char *read_stderr(void)
{
	fflush(stderr);
	FILE *f = cr_get_redirected_stderr();
	size_t n = fread(captured, 1, sizeof(captured) - 1, f);
	captured[n] = '\0';
	return captured;
}

Test(log_msg, below_minimum_not_written, .init = cr_redirect_stderr)
{
	log_init("user", LOG_WARN);
	log_msg(LOG_INFO, "r", "quiet %d", 1);
	log_msg(LOG_DEBUG, "r", "quiet %d", 2);
	cr_assert(eq(str, (char *)read_stderr(), ""));
}

Test(log_msg, one_line_per_event, .init = cr_redirect_stderr)
{
	log_init("user", LOG_INFO);
	log_msg(LOG_INFO, "rid-1", "user said %s", "a\nb");
	log_msg(LOG_ERROR, NULL, "n=%d", 42);
	const char *out = read_stderr();
	const char *nl = strchr(out, '\n');
	cr_assert(not(zero(ptr, (void *)nl)));
	cr_assert(not(zero(ptr, strchr(nl + 1, '\n'))));
	cr_assert(eq(chr, nl[1 + strcspn(nl + 1, "\n") + 1], '\0'), "more than two lines: %s", out);
	cr_assert(not(zero(ptr, strstr(out, "level=info service=user request_id=rid-1 msg=\"user said a\\nb\"\n"))), "%s",
		  out);
	cr_assert(not(zero(ptr, strstr(out, "level=error service=user request_id=- msg=\"n=42\"\n"))), "%s", out);
}

Test(log_msg, invalid_level_not_written, .init = cr_redirect_stderr)
{
	log_init("user", LOG_DEBUG);
	log_msg((enum log_level)7, "r", "bad level");
	cr_assert(eq(str, (char *)read_stderr(), ""));
}

/* --- log_streak ----------------------------------------------------------------------- */

static size_t count_lines(const char *s)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

Test(log_streak, a_streak_of_failures_is_one_line_then_one_a_minute_and_its_end, .init = cr_redirect_stderr)
{
	struct log_streak s = {.what = "order expiry sweep"};
	log_init("order", LOG_INFO);
	log_streak_ok(&s); /* working all along: nothing */
	for (int i = 0; i < 3; i++)
		log_streak_fail(&s, "Lost connection");
	cr_assert(eq(long, s.failures, 3));
	cr_assert(gt(llong, s.next_ms, 0));
	s.next_ms = 0; /* a minute has passed */
	log_streak_fail(&s, "Lost connection");
	log_streak_fail(&s, "Lost connection"); /* within the minute again */
	log_streak_ok(&s);
	log_streak_ok(&s);
	log_streak_fail(&s, "Too many connections"); /* a new streak is logged at once */
	const char *out = read_stderr();
	cr_assert(eq(sz, count_lines(out), 4), "%s", out);
	const char *first = strstr(out, "level=warn service=order request_id=- msg=\"order expiry sweep failed: Lost connection\"\n");
	const char *again = strstr(out, "msg=\"order expiry sweep failed: Lost connection (4 times in a row)\"\n");
	const char *back = strstr(out, "level=info service=order request_id=- msg=\"order expiry sweep works again after 5 failures\"\n");
	const char *next = strstr(out, "level=warn service=order request_id=- msg=\"order expiry sweep failed: Too many connections\"\n");
	cr_assert(first && again && back && next, "%s", out);
	cr_assert(first < again && again < back && back < next, "%s", out);
	cr_assert(eq(long, s.failures, 1));
}
