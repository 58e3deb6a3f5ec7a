/* queue.c: Redis stream commands of the worker; every outcome of a job is one Lua script, so it is atomic. */
#include "queue.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "parse.h"
#include "redis.h"

#define FINISH_TRIES 20    /* recording a sent job: about 10 s of tries while Redis is away */
#define FINISH_PAUSE_MS 500

/* KEYS: stream, sent key. ARGV: group, entry id, ttl. */
static const char finish_lua[] =
	"if KEYS[2] ~= '' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[3]) end\n"
	"redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
	"return 1\n";

/* KEYS: stream, delayed. ARGV: group, entry id, delay ms, member. Redis's clock decides when it
 * is due, so workers on hosts with skewed clocks agree. */
static const char retry_lua[] =
	"if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then\n"
	"  local t = redis.call('TIME')\n"
	"  local due = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + tonumber(ARGV[3])\n"
	"  redis.call('ZADD', KEYS[2], due, ARGV[4])\n"
	"end\n"
	"return 1\n";

/* KEYS: stream, dead. ARGV: group, entry id, job, error, attempts, failed_at, worker. Only the
 * worker whose XACK removed the entry writes the dead letter, so a repeat adds nothing. */
static const char dead_lua[] =
	"if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 1 then\n"
	"  redis.call('XADD', KEYS[2], 'MAXLEN', '~', '1000000', '*', 'job', ARGV[3], 'error', ARGV[4],\n"
	"             'attempts', ARGV[5], 'failed_at', ARGV[6], 'worker', ARGV[7], 'source_id', ARGV[2])\n"
	"end\n"
	"return 1\n";

/* KEYS: delayed, stream, dead. ARGV: max. A member that does not decode is dead-lettered
 * rather than left to block the set. */
static const char promote_lua[] =
	"local t = redis.call('TIME')\n"
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
	"local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))\n"
	"for _, m in ipairs(due) do\n"
	"  local ok, w = pcall(cjson.decode, m)\n"
	"  if ok and type(w) == 'table' and type(w.job) == 'string' and type(w.attempt) == 'number' then\n"
	"    redis.call('XADD', KEYS[2], '*', 'job', w.job, 'attempt', string.format('%d', w.attempt),\n"
	"               'error', tostring(w.error or ''))\n"
	"  else\n"
	"    redis.call('XADD', KEYS[3], '*', 'job', m, 'error', 'unreadable entry in the delayed set',\n"
	"               'attempts', '0', 'failed_at', '', 'worker', '', 'source_id', '')\n"
	"  end\n"
	"  redis.call('ZREM', KEYS[1], m)\n"
	"end\n"
	"return #due\n";

void queue_init(struct queue *q, struct redis_conn *r, const char *stream, const char *consumer, long idle_ms)
{
	memset(q, 0, sizeof(*q));
	q->r = r;
	snprintf(q->stream, sizeof(q->stream), "%s", stream);
	snprintf(q->delayed, sizeof(q->delayed), "%s:delayed", q->stream);
	snprintf(q->dead, sizeof(q->dead), "%s:dead", q->stream);
	snprintf(q->consumer, sizeof(q->consumer), "%s", consumer);
	snprintf(q->claim_cursor, sizeof(q->claim_cursor), "0-0");
	q->idle_ms = idle_ms;
}

/* Notes an answer from Redis: logs its return after an outage. */
static void reachable(struct queue *q)
{
	if (q->redis_down)
		log_msg(LOG_INFO, NULL, "redis is back");
	q->redis_down = false;
}

/* Frees `rep`; returns 0 when it is not NULL and not an error reply, else -1. Logs an error
 * reply, and Redis going away and coming back (once each, not once per command). */
static int check(struct queue *q, redisReply *rep, const char *what)
{
	int rc = 0;

	if (!rep) {
		if (!q->redis_down)
			log_msg(LOG_WARN, NULL, "redis unreachable (%s: %s); jobs wait until it is back", what,
				q->r->errstr);
		q->redis_down = true;
		return -1;
	}
	reachable(q);
	if (rep->type == REDIS_REPLY_ERROR) {
		log_msg(LOG_ERROR, NULL, "redis %s: %s", what, rep->str);
		rc = -1;
	}
	freeReplyObject(rep);
	return rc;
}

int queue_create_group(struct queue *q, char *err, size_t errlen)
{
	queue_settle(q);
	/* "0", not "$": jobs enqueued before the first worker ever ran are delivered too. */
	redisReply *rep = redis_cmd(q->r, "XGROUP CREATE %s %s 0 MKSTREAM", q->stream, QUEUE_GROUP);
	int rc = 0;

	if (!rep) {
		snprintf(err, errlen, "redis: %s", q->r->errstr);
		return -1;
	}
	if (rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "BUSYGROUP", 9) != 0) {
		snprintf(err, errlen, "XGROUP CREATE: %s", rep->str);
		rc = -1;
	}
	freeReplyObject(rep);
	return rc;
}

static char *dup_str(const redisReply *v)
{
	if (!v || v->type != REDIS_REPLY_STRING)
		return NULL;
	char *s = malloc(v->len + 1);
	if (s) {
		memcpy(s, v->str, v->len);
		s[v->len] = '\0';
	}
	return s;
}

/* Fills `e` from one [id, [field, value, ...] or nil] element. Returns false when malformed. */
static bool parse_entry(const redisReply *el, struct queue_entry *e)
{
	memset(e, 0, sizeof(*e));
	e->deliveries = 1;
	if (!el || el->type != REDIS_REPLY_ARRAY || el->elements < 2 || el->element[0]->type != REDIS_REPLY_STRING ||
	    el->element[0]->len >= sizeof(e->id))
		return false;
	memcpy(e->id, el->element[0]->str, el->element[0]->len);
	e->id[el->element[0]->len] = '\0';
	const redisReply *f = el->element[1];
	if (f->type != REDIS_REPLY_ARRAY)
		return true; /* deleted while pending: job stays NULL */
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];
		if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(k->str, "job") == 0 && !e->job) {
			e->job = dup_str(v);
		} else if (strcmp(k->str, "attempt") == 0) {
			int64_t a;
			if (parse_i64(v->str, 0, 1000, &a))
				e->attempt = (long)a;
		} else if (strcmp(k->str, "error") == 0 && v->len && !e->error) {
			e->error = dup_str(v);
		}
	}
	if (!e->job) {
		/* An entry without a job field is malformed, not deleted: keep a marker for the dead letter. */
		e->job = strdup("");
	}
	return true;
}

/* Parses an array of entries into *out. Returns 0 or -1. */
static int parse_entries(const redisReply *arr, struct queue_entry **out, size_t *n)
{
	*out = NULL;
	*n = 0;
	if (!arr || arr->type != REDIS_REPLY_ARRAY || arr->elements == 0)
		return 0;
	struct queue_entry *e = calloc(arr->elements, sizeof(*e));
	if (!e)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < arr->elements; i++) {
		if (parse_entry(arr->element[i], &e[k]))
			k++;
		else
			queue_entries_free(&e[k], 1);
	}
	*out = e;
	*n = k;
	return 0;
}

/* Looks up how many times each entry was delivered (XPENDING S workers id id 1). */
static void add_deliveries(struct queue *q, struct queue_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		redisReply *rep = redis_cmd(q->r, "XPENDING %s %s %s %s 1", q->stream, QUEUE_GROUP, e[i].id, e[i].id);
		if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 &&
		    rep->element[0]->type == REDIS_REPLY_ARRAY && rep->element[0]->elements == 4 &&
		    rep->element[0]->element[3]->type == REDIS_REPLY_INTEGER)
			e[i].deliveries = rep->element[0]->element[3]->integer;
		if (rep)
			freeReplyObject(rep);
	}
}

int queue_read(struct queue *q, const char *start, long count, long block_ms, struct queue_entry **out, size_t *n)
{
	queue_settle(q);
	bool own = strcmp(start, ">") != 0;
	redisReply *rep;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (own)
		rep = redis_cmd(q->r, "XREADGROUP GROUP %s %s COUNT %ld STREAMS %s %s", QUEUE_GROUP, q->consumer, count,
				q->stream, start);
	else
		rep = redis_cmd(q->r, "XREADGROUP GROUP %s %s COUNT %ld BLOCK %ld STREAMS %s >", QUEUE_GROUP,
				q->consumer, count, block_ms, q->stream);
	if (!rep || rep->type == REDIS_REPLY_ERROR) {
		if (rep && strncmp(rep->str, "NOGROUP", 7) == 0) {
			/* The stream or group was deleted under us (FLUSHALL, an operator): make it again. */
			char err[128];
			queue_create_group(q, err, sizeof(err));
		}
		return check(q, rep, "XREADGROUP");
	}
	reachable(q);
	/* [[stream, [entries]]], or nil when the block timed out. */
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 1 && rep->element[0]->type == REDIS_REPLY_ARRAY &&
	    rep->element[0]->elements == 2)
		rc = parse_entries(rep->element[0]->element[1], out, n);
	freeReplyObject(rep);
	if (rc == 0 && own)
		add_deliveries(q, *out, *n);
	return rc;
}

int queue_autoclaim(struct queue *q, long count, struct queue_entry **out, size_t *n)
{
	queue_settle(q);
	redisReply *rep = redis_cmd(q->r, "XAUTOCLAIM %s %s %s %ld %s COUNT %ld", q->stream, QUEUE_GROUP, q->consumer,
				    q->idle_ms, q->claim_cursor, count);
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!rep || rep->type == REDIS_REPLY_ERROR)
		return check(q, rep, "XAUTOCLAIM");
	/* [next cursor, [entries], [ids deleted meanwhile]] (Redis 7; 6.2 has no third element). */
	if (rep->type == REDIS_REPLY_ARRAY && rep->elements >= 2 && rep->element[0]->type == REDIS_REPLY_STRING &&
	    rep->element[0]->len < sizeof(q->claim_cursor)) {
		memcpy(q->claim_cursor, rep->element[0]->str, rep->element[0]->len);
		q->claim_cursor[rep->element[0]->len] = '\0';
		rc = parse_entries(rep->element[1], out, n);
	}
	freeReplyObject(rep);
	if (rc == 0)
		add_deliveries(q, *out, *n);
	return rc;
}

void queue_entries_free(struct queue_entry *e, size_t n)
{
	if (!e)
		return;
	for (size_t i = 0; i < n; i++) {
		free(e[i].job);
		free(e[i].error);
	}
}

int queue_was_sent(struct queue *q, const char *job_id)
{
	queue_settle(q);
	redisReply *rep = redis_cmd(q->r, "EXISTS jobs:sent:%s", job_id);

	if (rep && rep->type == REDIS_REPLY_INTEGER) {
		int sent = rep->integer > 0;
		freeReplyObject(rep);
		return sent;
	}
	check(q, rep, "EXISTS");
	return -1;
}

int queue_sent_many(struct queue *q, const char *const *job_ids, size_t n, int *out)
{
	queue_settle(q);
	char(*keys)[64] = calloc(n, sizeof(*keys));
	const char **argv = calloc(n + 1, sizeof(*argv));
	redisReply *rep = NULL;
	int rc = -1;

	if (!keys || !argv)
		goto out;
	argv[0] = "MGET";
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "jobs:sent:%s", job_ids[i]);
		argv[i + 1] = keys[i];
	}
	rep = redis_cmd_argv(q->r, (int)n + 1, argv, NULL);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == n) {
		for (size_t i = 0; i < n; i++)
			out[i] = rep->element[i]->type != REDIS_REPLY_NIL;
		rc = 0;
	}
	if (rc != 0)
		check(q, rep, "MGET");
	else
		freeReplyObject(rep);
out:
	free(keys);
	free(argv);
	return rc;
}

/* One try of the finish script. */
static int finish_now(struct queue *q, const char *entry_id, const char *job_id)
{
	char sent[64] = "";

	if (job_id && *job_id)
		snprintf(sent, sizeof(sent), "jobs:sent:%s", job_id);
	return check(q,
		     redis_cmd(q->r, "EVAL %s 2 %s %s %s %s %d", finish_lua, q->stream, sent, QUEUE_GROUP, entry_id,
			       QUEUE_SENT_TTL),
		     "finish");
}

int queue_finish(struct queue *q, const char *entry_id, const char *job_id)
{
	queue_settle(q);
	for (int i = 0; i < FINISH_TRIES; i++) {
		if (finish_now(q, entry_id, job_id) == 0)
			return 0;
		struct timespec ts = {0, FINISH_PAUSE_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	log_msg(LOG_ERROR, NULL, "entry %s (job %s) could not be acknowledged; it will be delivered again", entry_id,
		job_id && *job_id ? job_id : "-");
	return -1;
}

int queue_finish_async(struct queue *q, const char *entry_id, const char *job_id)
{
	char sent[64] = "";
	int done = 0;

	queue_settle(q);
	redisContext *c = q->r->c;
	if (!c || c->err)
		return queue_finish(q, entry_id, job_id);
	if (job_id && *job_id)
		snprintf(sent, sizeof(sent), "jobs:sent:%s", job_id);
	if (redisAppendCommand(c, "EVAL %s 2 %s %s %s %s %d", finish_lua, q->stream, sent, QUEUE_GROUP, entry_id,
			       QUEUE_SENT_TTL) != REDIS_OK)
		return queue_finish(q, entry_id, job_id);
	/* Written now, so Redis runs it now; only its answer is read later. */
	while (!done)
		if (redisBufferWrite(c, &done) != REDIS_OK)
			break;
	q->unsettled = true;
	snprintf(q->unsettled_entry, sizeof(q->unsettled_entry), "%s", entry_id);
	snprintf(q->unsettled_job, sizeof(q->unsettled_job), "%s", job_id ? job_id : "");
	return 0;
}

int queue_settle(struct queue *q)
{
	redisContext *c = q->r->c;
	void *rep = NULL;

	if (!q->unsettled)
		return 0;
	q->unsettled = false;
	if (c && !c->err && redisGetReply(c, &rep) == REDIS_OK && rep &&
	    ((redisReply *)rep)->type != REDIS_REPLY_ERROR) {
		freeReplyObject(rep);
		return 0;
	}
	if (rep)
		freeReplyObject(rep);
	/* Lost on the way (the connection broke, or Redis refused): once more, waiting for the answer.
	 * A broken context is noticed and replaced by the next command. */
	return queue_finish(q, q->unsettled_entry, q->unsettled_job);
}

int queue_retry_later(struct queue *q, const struct queue_entry *e, long delay_ms, long attempt, const char *error)
{
	queue_settle(q);
	struct json_object *w = json_object_new_object();
	int rc;

	json_object_object_add(w, "job", json_object_new_string(e->job ? e->job : ""));
	json_object_object_add(w, "attempt", json_object_new_int64(attempt));
	json_object_object_add(w, "error", json_object_new_string(error));
	/* The id keeps two identical job documents apart in the set. */
	json_object_object_add(w, "entry", json_object_new_string(e->id));
	const char *member = json_object_to_json_string_ext(w, JSON_C_TO_STRING_PLAIN);
	rc = check(q,
		   redis_cmd(q->r, "EVAL %s 2 %s %s %s %s %ld %s", retry_lua, q->stream, q->delayed, QUEUE_GROUP, e->id,
			     delay_ms, member),
		   "retry");
	json_object_put(w);
	return rc;
}

int queue_dead(struct queue *q, const struct queue_entry *e, const char *error, long attempts)
{
	queue_settle(q);
	char when[32];
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return check(q,
		     redis_cmd(q->r, "EVAL %s 2 %s %s %s %s %s %s %ld %s %s", dead_lua, q->stream, q->dead, QUEUE_GROUP,
			       e->id, e->job ? e->job : "", error, attempts, when, q->consumer),
		     "dead-letter");
}

long queue_promote(struct queue *q, long max)
{
	queue_settle(q);
	redisReply *rep = redis_cmd(q->r, "EVAL %s 3 %s %s %s %ld", promote_lua, q->delayed, q->stream, q->dead, max);
	long n = -1;

	if (rep && rep->type == REDIS_REPLY_INTEGER) {
		n = (long)rep->integer;
		freeReplyObject(rep);
		return n;
	}
	check(q, rep, "promote");
	return -1;
}

int queue_touch(struct queue *q, const struct queue_entry *e, size_t n, bool release)
{
	queue_settle(q);
	if (n == 0)
		return 0;
	size_t argc = 0, max = n + 10;
	const char **argv = calloc(max, sizeof(*argv));
	char idle[32];
	int rc;

	if (!argv)
		return -1;
	snprintf(idle, sizeof(idle), "%ld", q->idle_ms);
	argv[argc++] = "XCLAIM";
	argv[argc++] = q->stream;
	argv[argc++] = QUEUE_GROUP;
	argv[argc++] = q->consumer;
	argv[argc++] = "0";
	for (size_t i = 0; i < n; i++)
		argv[argc++] = e[i].id;
	if (release) {
		argv[argc++] = "IDLE";
		argv[argc++] = idle;
	}
	argv[argc++] = "JUSTID"; /* and so the delivery count stays as it is */
	rc = check(q, redis_cmd_argv(q->r, (int)argc, argv, NULL), "XCLAIM");
	free(argv);
	return rc;
}

long queue_forget_idle_consumers(struct queue *q, long long idle_ms)
{
	queue_settle(q);
	redisReply *rep = redis_cmd(q->r, "XINFO CONSUMERS %s %s", q->stream, QUEUE_GROUP);
	long gone = 0;

	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		check(q, rep, "XINFO CONSUMERS");
		return -1;
	}
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *c = rep->element[i];
		const char *name = NULL;
		long long pending = -1, idle = -1;
		for (size_t k = 0; c->type == REDIS_REPLY_ARRAY && k + 1 < c->elements; k += 2) {
			const redisReply *key = c->element[k], *v = c->element[k + 1];
			if (key->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(key->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
				name = v->str;
			else if (strcmp(key->str, "pending") == 0 && v->type == REDIS_REPLY_INTEGER)
				pending = v->integer;
			else if (strcmp(key->str, "idle") == 0 && v->type == REDIS_REPLY_INTEGER)
				idle = v->integer;
		}
		if (name && pending == 0 && idle >= idle_ms && strcmp(name, q->consumer) != 0 &&
		    check(q, redis_cmd(q->r, "XGROUP DELCONSUMER %s %s %s", q->stream, QUEUE_GROUP, name),
			  "XGROUP DELCONSUMER") == 0)
			gone++;
	}
	freeReplyObject(rep);
	return gone;
}

/* Parses "ms-seq" into its millisecond part; returns false for anything else. */
static bool id_ms(const char *id, unsigned long long *ms)
{
	char *end;
	if (!id || !*id || *id == '-')
		return false;
	*ms = strtoull(id, &end, 10);
	return *end == '-' || *end == '\0';
}

int queue_trim(struct queue *q, long long retention_ms)
{
	queue_settle(q);
	unsigned long long cutoff, ms;
	struct timespec now;
	char min_id[48];

	clock_gettime(CLOCK_REALTIME, &now);
	cutoff = (unsigned long long)now.tv_sec * 1000ULL + (unsigned long long)now.tv_nsec / 1000000ULL;
	cutoff = cutoff > (unsigned long long)retention_ms ? cutoff - (unsigned long long)retention_ms : 0;

	/* Never past the oldest pending entry, nor past what the group has not read yet. */
	redisReply *rep = redis_cmd(q->r, "XPENDING %s %s", q->stream, QUEUE_GROUP);
	if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements < 2) {
		check(q, rep, "XPENDING");
		return -1;
	}
	if (rep->element[1]->type == REDIS_REPLY_STRING && id_ms(rep->element[1]->str, &ms) && ms < cutoff)
		cutoff = ms;
	freeReplyObject(rep);
	rep = redis_cmd(q->r, "XINFO GROUPS %s", q->stream);
	if (!rep || rep->type != REDIS_REPLY_ARRAY) {
		check(q, rep, "XINFO GROUPS");
		return -1;
	}
	bool found = false;
	for (size_t i = 0; i < rep->elements; i++) {
		const redisReply *g = rep->element[i];
		bool ours = false;
		const char *last = NULL;
		for (size_t k = 0; g->type == REDIS_REPLY_ARRAY && k + 1 < g->elements; k += 2) {
			const redisReply *key = g->element[k], *v = g->element[k + 1];
			if (key->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
				continue;
			if (strcmp(key->str, "name") == 0)
				ours = strcmp(v->str, QUEUE_GROUP) == 0;
			else if (strcmp(key->str, "last-delivered-id") == 0)
				last = v->str;
		}
		if (ours && last && id_ms(last, &ms)) {
			found = true;
			if (ms < cutoff)
				cutoff = ms;
		}
	}
	freeReplyObject(rep);
	if (!found || cutoff == 0)
		return 0;
	/* Whole milliseconds below the cutoff: "cutoff-0" keeps every entry of that millisecond. */
	snprintf(min_id, sizeof(min_id), "%llu-0", cutoff);
	return check(q, redis_cmd(q->r, "XTRIM %s MINID ~ %s", q->stream, min_id), "XTRIM");
}

/* One integer reply of `fmt` (one key), or -1. */
static long long int_reply(struct queue *q, const char *fmt, const char *key)
{
	redisReply *rep = redis_cmd(q->r, fmt, key);
	long long v = rep && rep->type == REDIS_REPLY_INTEGER ? rep->integer : -1;
	if (rep)
		freeReplyObject(rep);
	return v;
}

int queue_stats(struct queue *q, struct queue_stats *out)
{
	/* A finish's reply may wait in the socket (queue_finish_async): read first, as every queue
	 * call does, or the counts would drop the connection for it (or read it as theirs). */
	queue_settle(q);
	out->length = int_reply(q, "XLEN %s", q->stream);
	out->delayed = int_reply(q, "ZCARD %s", q->delayed);
	out->dead = int_reply(q, "XLEN %s", q->dead);
	out->pending = -1;
	redisReply *rep = redis_cmd(q->r, "XPENDING %s %s", q->stream, QUEUE_GROUP);
	if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements >= 1 && rep->element[0]->type == REDIS_REPLY_INTEGER)
		out->pending = rep->element[0]->integer;
	if (rep)
		freeReplyObject(rep);
	return out->length < 0 || out->delayed < 0 || out->dead < 0 || out->pending < 0 ? -1 : 0;
}
