/* queue.h: the worker's side of the job stream: consumer group reads, reclaims, and the atomic outcomes of a job. */
#ifndef STORE_WORKER_QUEUE_H
#define STORE_WORKER_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct redis_conn;

#define QUEUE_GROUP "workers"
#define QUEUE_SENT_TTL 604800 /* seconds a job id stays recorded as sent (a week) */
#define QUEUE_KEY_MAX 256

/*
 * Keys, for a stream S (STORE_JOB_STREAM, default "jobs:email"):
 *   S              the jobs; entries {job, [attempt, error]}; consumer group "workers".
 *                  Acknowledged entries stay (a day of history, see queue_trim) so what
 *                  was queued can be looked at; the group's lag and pending list are the backlog.
 *   S:delayed      sorted set of jobs waiting for their next attempt, scored by the time
 *                  (ms since the epoch, Redis's clock) at which they are due
 *   S:dead         the dead-letter stream: {job, error, attempts, failed_at, worker, source_id}
 *   jobs:sent:ID   set for a week once the SMTP server accepted job ID
 * A job leaves the pending list (XACK, in one script with its outcome) only once it was
 * sent, put off to S:delayed, or dead-lettered: it is never in none of those places.
 */
struct queue {
	struct redis_conn *r; /* borrowed */
	char stream[QUEUE_KEY_MAX], delayed[QUEUE_KEY_MAX + 8], dead[QUEUE_KEY_MAX + 8];
	char consumer[160];
	long idle_ms;          /* a pending entry idle this long belongs to a dead worker */
	char claim_cursor[48]; /* where the next XAUTOCLAIM starts */
	bool redis_down;       /* the last command found Redis unreachable (logged once) */
	bool unsettled;        /* a queue_finish_async whose answer is still to be read */
	char unsettled_entry[48], unsettled_job[40];
};

/* One stream entry as read. */
struct queue_entry {
	char id[48];          /* stream entry id */
	char *job;            /* the job field, owned; NULL for an entry deleted while pending */
	long attempt;         /* failed attempts so far (0 for a new job) */
	char *error;          /* the last attempt's error, owned, or NULL */
	long long deliveries; /* times the group handed it out; known for own and reclaimed entries, else 1 */
};

/* The job stream as a whole (every worker's), for metrics. */
struct queue_stats {
	long long length;  /* entries in the stream (XLEN) */
	long long pending; /* handed to a worker and not yet finished (XPENDING) */
	long long delayed; /* waiting for their next attempt */
	long long dead;    /* dead-lettered */
};

/* Reads the four counts. Returns 0, or -1 when Redis is unreachable or refuses. */
int queue_stats(struct queue *q, struct queue_stats *out);

/* Fills `q` (no I/O). `stream` and `consumer` are copied (truncated to the sizes above). */
void queue_init(struct queue *q, struct redis_conn *r, const char *stream, const char *consumer, long idle_ms);

/* XGROUP CREATE S workers 0 MKSTREAM; an existing group is fine. Returns 0, or -1 when
 * Redis is unreachable or refuses (why in `err`). */
int queue_create_group(struct queue *q, char *err, size_t errlen);

/*
 * XREADGROUP from `start`: ">" for new entries (waiting up to block_ms), or an id to re-read
 * this consumer's own pending entries after it (no wait). Fills *out with up to `count`
 * entries (free with queue_entries_free) and *n. With an id as start, each entry's delivery
 * count is looked up. Returns 0 (*n may be 0), or -1 when Redis failed.
 */
int queue_read(struct queue *q, const char *start, long count, long block_ms, struct queue_entry **out, size_t *n);

/* XAUTOCLAIM of entries idle longer than q->idle_ms (a dead worker's), up to `count`, with
 * delivery counts. As queue_read otherwise. */
int queue_autoclaim(struct queue *q, long count, struct queue_entry **out, size_t *n);

/* Frees `n` entries read by queue_read or queue_autoclaim; accepts NULL. */
void queue_entries_free(struct queue_entry *e, size_t n);

/* Returns 1 when job `job_id` is recorded as sent, 0 when not, -1 when Redis failed. */
int queue_was_sent(struct queue *q, const char *job_id);

/* Asks for `n` job ids at once (MGET) whether each is recorded as sent: out[i] is 1 or 0.
 * Returns 0, or -1 when Redis failed (out unchanged). */
int queue_sent_many(struct queue *q, const char *const *job_ids, size_t n, int *out);

/*
 * Records `job_id` as sent (when not NULL) and acknowledges the entry, atomically, trying for
 * about 10 s while Redis is away (the message went out: its record must not be lost lightly).
 * Repeating it is harmless. Returns 0, or -1 when Redis failed (the entry stays pending, and
 * will be delivered again).
 */
int queue_finish(struct queue *q, const char *entry_id, const char *job_id);

/*
 * As queue_finish, but without waiting for Redis's answer: the script is written to the socket
 * at once, so Redis runs it at once, and its answer is read by the next call of this module
 * (every function here first calls queue_settle). That saves the worker one wait per message.
 * Returns 0 (or what queue_finish returned, when it had to fall back to it).
 */
int queue_finish_async(struct queue *q, const char *entry_id, const char *job_id);

/* Reads the answer of the last queue_finish_async; when it was lost or refused, runs
 * queue_finish for it. Returns 0, or -1 as queue_finish. Call it before exiting. */
int queue_settle(struct queue *q);

/* Moves the entry to S:delayed, due in `delay_ms`, with its failed `attempt` count and
 * `error`, atomically; does nothing when another worker already acknowledged it.
 * Returns 0, or -1 when Redis failed. */
int queue_retry_later(struct queue *q, const struct queue_entry *e, long delay_ms, long attempt, const char *error);

/* Moves the entry to S:dead with `error` and `attempts`, atomically (once, even if repeated).
 * `e->job` may be anything, even NULL. Returns 0, or -1 when Redis failed. */
int queue_dead(struct queue *q, const struct queue_entry *e, const char *error, long attempts);

/* Puts up to `max` jobs of S:delayed whose time has come back on S. Returns how many, or -1. */
long queue_promote(struct queue *q, long max);

/*
 * Claims the `n` entries (their ids) for this consumer again. With `release`, marks them idle
 * for q->idle_ms so that any worker's next XAUTOCLAIM takes them at once (used when stopping);
 * without, resets their idle time so that no one reclaims them while this worker holds them.
 * Returns 0, or -1 when Redis failed.
 */
int queue_touch(struct queue *q, const struct queue_entry *e, size_t n, bool release);

/*
 * Trims acknowledged entries older than `retention_ms` from S (XTRIM MINID ~), never past the
 * oldest pending entry or the group's last-delivered id. Returns 0, or -1 when Redis failed.
 */
int queue_trim(struct queue *q, long long retention_ms);

/* Removes consumers of the group with nothing pending that have been idle for `idle_ms`
 * (names of workers that exited). Returns how many, or -1. */
long queue_forget_idle_consumers(struct queue *q, long long idle_ms);

#endif
