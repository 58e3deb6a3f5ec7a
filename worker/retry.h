/* retry.h: the worker's waiting times: per-job exponential backoff and the pause while the SMTP server is away. */
#ifndef STORE_WORKER_RETRY_H
#define STORE_WORKER_RETRY_H

#define RETRY_CAP_MS 3600000L    /* no job waits more than an hour between attempts */
#define RETRY_PAUSE_MAX_MS 30000L /* nor the worker more than 30 s between tries of an absent server */

/*
 * The wait before the next attempt of a job that has failed `attempt` times (1 or more):
 * base_ms * 2^(attempt - 1), at most RETRY_CAP_MS (and never less than base_ms).
 * With the default base of 30 s: 30 s, 1 min, 2 min, 4 min, 8 min, 16 min, 32 min, 1 h...
 */
long retry_delay_ms(long attempt, long base_ms);

/*
 * Spreads `ms` over [ms - ms/5, ms + ms/5] with `r` in [0, 1), so jobs that failed together
 * do not all come back in the same millisecond.
 */
long retry_jitter(long ms, double r);

/*
 * The pause after the `n`th failure in a row to reach the SMTP server (SMTP_UNAVAILABLE):
 * none after the first (a reused connection may just have been closed by the server), then
 * 1 s, 2 s, 4 s... up to RETRY_PAUSE_MAX_MS.
 */
long retry_pause_ms(long n);

#endif
