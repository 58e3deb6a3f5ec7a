/* retry.c: backoff schedules, kept pure so the unit tests can pin them down. */
#include "retry.h"

long retry_delay_ms(long attempt, long base_ms)
{
	long d = base_ms > 0 ? base_ms : 1;

	if (d >= RETRY_CAP_MS)
		return d;
	for (long i = 1; i < attempt; i++) {
		if (d >= RETRY_CAP_MS / 2)
			return RETRY_CAP_MS;
		d *= 2;
	}
	return d;
}

long retry_jitter(long ms, double r)
{
	long spread = ms / 5;

	if (r < 0 || r >= 1)
		r = 0.5;
	return ms - spread + (long)(r * (double)(2 * spread + 1));
}

long retry_pause_ms(long n)
{
	long d = 1000;

	if (n <= 1)
		return 0;
	for (long i = 2; i < n; i++) {
		if (d >= RETRY_PAUSE_MAX_MS / 2)
			return RETRY_PAUSE_MAX_MS;
		d *= 2;
	}
	return d;
}
