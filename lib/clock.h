/* clock.h: the one monotonic clock and sleep every program uses. */
#ifndef STORE_CLOCK_H
#define STORE_CLOCK_H

/* Milliseconds of CLOCK_MONOTONIC: for timeouts and intervals, never for dates. */
long long clock_now_ms(void);

/* Monotonic microseconds. */
long long clock_now_us(void);

/* Sleeps `ms` milliseconds (a signal may end it early). */
void clock_sleep_ms(long ms);

#endif
