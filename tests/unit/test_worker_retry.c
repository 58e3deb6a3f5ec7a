/* test_worker_retry.c: the backoff schedules (worker/retry.c), SMTP outcome classification (worker/smtp.c), the worker's settings. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "retry.h"
#include "settings.h"
#include "smtp.h"

Test(retry, delay_doubles_from_the_base)
{
	cr_assert_eq(retry_delay_ms(1, 30000), 30000);
	cr_assert_eq(retry_delay_ms(2, 30000), 60000);
	cr_assert_eq(retry_delay_ms(3, 30000), 120000);
	cr_assert_eq(retry_delay_ms(7, 30000), 1920000);
}

Test(retry, delay_is_capped_and_never_overflows)
{
	cr_assert_eq(retry_delay_ms(8, 30000), RETRY_CAP_MS);
	cr_assert_eq(retry_delay_ms(100, 30000), RETRY_CAP_MS);
	cr_assert_eq(retry_delay_ms(1000000, 100), RETRY_CAP_MS);
	cr_assert_eq(retry_delay_ms(100, RETRY_CAP_MS), RETRY_CAP_MS);
}

Test(retry, delay_edge_inputs)
{
	cr_assert_eq(retry_delay_ms(0, 100), 100, "attempt 0 waits the base");
	cr_assert_eq(retry_delay_ms(-5, 100), 100);
	cr_assert_eq(retry_delay_ms(3, 0), 4, "a zero base is treated as 1 ms");
	for (long a = 1; a < 40; a++)
		cr_assert_geq(retry_delay_ms(a + 1, 100), retry_delay_ms(a, 100), "not monotonic at %ld", a);
}

Test(retry, jitter_stays_within_a_fifth)
{
	for (double r = 0; r < 1; r += 0.001) {
		long j = retry_jitter(10000, r);
		cr_assert(j >= 8000 && j <= 12000, "r=%f gave %ld", r, j);
	}
	cr_assert_eq(retry_jitter(10000, 0), 8000);
	cr_assert_eq(retry_jitter(10000, 0.9999999), 12000);
	cr_assert_eq(retry_jitter(0, 0.5), 0);
	long mid = retry_jitter(10000, 0.5);
	cr_assert_eq(retry_jitter(10000, -1), mid, "out-of-range r means the middle");
	cr_assert_eq(retry_jitter(10000, 1), mid);
}

Test(retry, server_pause_first_immediate_then_doubling_to_the_cap)
{
	cr_assert_eq(retry_pause_ms(0), 0);
	cr_assert_eq(retry_pause_ms(1), 0);
	cr_assert_eq(retry_pause_ms(2), 1000);
	cr_assert_eq(retry_pause_ms(3), 2000);
	cr_assert_eq(retry_pause_ms(6), 16000);
	cr_assert_eq(retry_pause_ms(7), RETRY_PAUSE_MAX_MS);
	cr_assert_eq(retry_pause_ms(1000000), RETRY_PAUSE_MAX_MS);
}

/* --- SMTP outcomes -------------------------------------------------------------- */

struct case_ {
	int curl;
	int reply;
	bool rcpt_sent;
	enum smtp_result want;
	const char *what;
};

static const struct case_ cases[] = {
	{CURLE_OK, 250, true, SMTP_SENT, "accepted"},
	{CURLE_OK, 0, false, SMTP_SENT, "accepted, whatever else"},
	/* Before RCPT nothing about the job was said: the server's (or our settings') fault. */
	{CURLE_COULDNT_CONNECT, 0, false, SMTP_UNAVAILABLE, "connection refused"},
	{CURLE_COULDNT_RESOLVE_HOST, 0, false, SMTP_UNAVAILABLE, "unknown host"},
	{CURLE_OPERATION_TIMEDOUT, 0, false, SMTP_UNAVAILABLE, "connect timeout"},
	{CURLE_USE_SSL_FAILED, 250, false, SMTP_UNAVAILABLE, "no STARTTLS"},
	{CURLE_WEIRD_SERVER_REPLY, 421, false, SMTP_UNAVAILABLE, "greeting 421"},
	{CURLE_WEIRD_SERVER_REPLY, 554, false, SMTP_UNAVAILABLE, "greeting 554: not every job's death"},
	{CURLE_LOGIN_DENIED, 535, false, SMTP_UNAVAILABLE, "AUTH refused"},
	{CURLE_SEND_ERROR, 550, false, SMTP_UNAVAILABLE, "MAIL FROM refused"},
	/* After RCPT: 5xx is the job's and final. */
	{CURLE_SEND_ERROR, 550, true, SMTP_PERMANENT, "RCPT 550"},
	{CURLE_SEND_ERROR, 553, true, SMTP_PERMANENT, "RCPT 553"},
	{CURLE_WEIRD_SERVER_REPLY, 554, true, SMTP_PERMANENT, "data refused"},
	{CURLE_WEIRD_SERVER_REPLY, 552, true, SMTP_PERMANENT, "too large"},
	{CURLE_SEND_ERROR, 500, true, SMTP_PERMANENT, "lowest 5xx"},
	{CURLE_SEND_ERROR, 599, true, SMTP_PERMANENT, "highest 5xx"},
	/* After RCPT: 4xx, timeouts and lost connections are worth another try. */
	{CURLE_SEND_ERROR, 450, true, SMTP_TEMPORARY, "RCPT 450"},
	{CURLE_SEND_ERROR, 451, true, SMTP_TEMPORARY, "RCPT 451"},
	{CURLE_WEIRD_SERVER_REPLY, 421, true, SMTP_TEMPORARY, "421 after RCPT"},
	{CURLE_OPERATION_TIMEDOUT, 354, true, SMTP_TEMPORARY, "timeout in the data"},
	{CURLE_RECV_ERROR, 250, true, SMTP_TEMPORARY, "connection lost"},
	{CURLE_GOT_NOTHING, 0, true, SMTP_TEMPORARY, "nothing"},
	{CURLE_SEND_ERROR, 600, true, SMTP_TEMPORARY, "not a 5xx (600)"},
	{CURLE_SEND_ERROR, 499, true, SMTP_TEMPORARY, "not a 5xx (499)"},
};

Test(smtp_classify, every_case)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct case_ *c = &cases[i];
		enum smtp_result got = smtp_classify(c->curl, c->reply, c->rcpt_sent);
		cr_assert_eq(got, c->want, "%s: %s, want %s", c->what, smtp_result_name(got), smtp_result_name(c->want));
	}
}

Test(smtp_classify, names)
{
	cr_assert_str_eq(smtp_result_name(SMTP_SENT), "sent");
	cr_assert_str_eq(smtp_result_name(SMTP_UNAVAILABLE), "unavailable");
	cr_assert_str_eq(smtp_result_name(SMTP_TEMPORARY), "temporary");
	cr_assert_str_eq(smtp_result_name(SMTP_PERMANENT), "permanent");
	cr_assert_str_eq(smtp_result_name((enum smtp_result)42), "?");
}

/* --- the worker's own settings (worker/settings.c) ------------------------------------- */

Test(worker_settings, smtp_url_then_from_required_and_bounds)
{
	struct worker_settings s = {0};
	char err[256];
	unsetenv("STORE_SMTP_URL");
	unsetenv("STORE_SMTP_FROM");
	cr_assert_eq(config_load_vars(worker_settings_vars, WORKER_SETTINGS_NVARS, &s, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "STORE_SMTP_URL"), "%s", err);
	setenv("STORE_SMTP_URL", "smtp://127.0.0.1:2525", 1);
	cr_assert_eq(config_load_vars(worker_settings_vars, WORKER_SETTINGS_NVARS, &s, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "STORE_SMTP_FROM"), "%s", err);
	setenv("STORE_SMTP_FROM", "ab", 1); /* shorter than any address */
	cr_assert_eq(config_load_vars(worker_settings_vars, WORKER_SETTINGS_NVARS, &s, err, sizeof(err)), -1);
	setenv("STORE_SMTP_FROM", "shop@example.com", 1);
	cr_assert_eq(config_load_vars(worker_settings_vars, WORKER_SETTINGS_NVARS, &s, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(s.smtp_timeout, 30);
	cr_assert_eq(s.job_max_attempts, 8);
	cr_assert_eq(s.job_idle_ms, 60000);
	cr_assert_eq(s.job_backoff_ms, 30000);
	cr_assert_null(s.worker_name);
	config_free_vars(worker_settings_vars, WORKER_SETTINGS_NVARS, &s);
}
