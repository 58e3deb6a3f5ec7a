/* test_worker.c: the notification worker against the real Redis and real SMTP sinks: delivery, outages, rejections, crashes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "config.h"
#include "jobs.h"
#include "queue.h"
#include "redis.h"
#include "rig.h"

/*
 * The first two tests use the stack's own worker, stream (jobs:email) and Maildir. The others
 * each start their own SMTP sink on a free loopback port, their own workers, and use a stream
 * of their own (STORE_JOB_STREAM) on the stack's Redis, so they can stop sinks and kill
 * workers without disturbing anything else. Every process they start dies with them
 * (PR_SET_PDEATHSIG) and is stopped in the fixture's fini; every wait has a deadline.
 */


TestSuite(worker, .fini = rig_stop_all, .timeout = 300);

/* --- one test's world: a directory, a Maildir, a stream and a port ------------------- */

struct world {
	char tag[64];
	char dir[1024];
	char maildir[1100];
	char rcptlog[1100];
	char stream[160];
	int port;
	redisContext *redis;
};

static void world_init(struct world *g, const char *tag)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	memset(g, 0, sizeof(*g));
	snprintf(g->tag, sizeof(g->tag), "%s-%d", tag, (int)getpid());
	snprintf(g->dir, sizeof(g->dir), "%s/worker-tests/%s-%ld%09ld", test_env("STORE_TEST_VAR"), g->tag,
		 (long)ts.tv_sec, ts.tv_nsec);
	snprintf(g->maildir, sizeof(g->maildir), "%s/mail", g->dir);
	snprintf(g->rcptlog, sizeof(g->rcptlog), "%s/rcpt.log", g->dir);
	snprintf(g->stream, sizeof(g->stream), "jobs:test:%s:%ld%09ld", g->tag, (long)ts.tv_sec, ts.tv_nsec);
	char sub[1200];
	for (const char *const *d = (const char *const[]){"new", "cur", "tmp", NULL}; *d; d++) {
		snprintf(sub, sizeof(sub), "%s/%s", g->maildir, *d);
		rig_mkdirs(sub);
	}
	g->port = rig_free_port();
	g->redis = test_redis();
}

static void world_free(struct world *g)
{
	if (g->redis) {
		/* The test's keys go; the stack's Redis keeps only what other tests made. */
		freeReplyObject(redisCommand(g->redis, "DEL %s %s:dead %s:delayed", g->stream, g->stream, g->stream));
		redisFree(g->redis);
	}
}


/* The stack's aiosmtpd Mailbox, or (with options) smtp_sink.py, on g->port. */
static pid_t start_sink(struct world *g, const char *const *opts)
{
	char listen[64], script[4200], logfile[1200];
	char *argv[32];
	int n = 0;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", g->port);
	snprintf(logfile, sizeof(logfile), "%s/smtp.log", g->dir);
	argv[n++] = RIG_PYTHON;
	if (!opts) {
		argv[n++] = "-m";
		argv[n++] = "aiosmtpd";
		argv[n++] = "-n";
		argv[n++] = "-l";
		argv[n++] = listen;
		argv[n++] = "-c";
		argv[n++] = "aiosmtpd.handlers.Mailbox";
		argv[n++] = g->maildir;
	} else {
		snprintf(script, sizeof(script), "%s/tests/integration/smtp_sink.py", rig_root());
		argv[n++] = script;
		argv[n++] = listen;
		argv[n++] = g->maildir;
		argv[n++] = "--log";
		argv[n++] = g->rcptlog;
		for (const char *const *o = opts; *o && n < 30; o++)
			argv[n++] = (char *)*o;
	}
	argv[n] = NULL;
	pid_t pid = rig_spawn(argv, NULL, logfile);
	double until = rig_now() + 20;
	while (!rig_port_open(g->port)) {
		cr_assert(rig_alive(pid), "the SMTP sink exited at start (log: %s)", logfile);
		cr_assert_lt(rig_now(), until, "the SMTP sink did not listen within 20 s (log: %s)", logfile);
		rig_sleep(0.1);
	}
	return pid;
}

/* A store-worker on g's stream and sink. `env` adds or overrides STORE_* settings. */
static pid_t start_worker(struct world *g, const char *name, const char *const *env)
{
	static char vars[16][1200];
	const char *all[32];
	char bin[4200], logfile[4200];
	int n = 0;

	snprintf(vars[0], sizeof(vars[0]), "STORE_REDIS_HOST=%s", test_env("STORE_TEST_REDIS_HOST"));
	snprintf(vars[1], sizeof(vars[1]), "STORE_REDIS_PORT=%s", test_env("STORE_TEST_REDIS_PORT"));
	snprintf(vars[2], sizeof(vars[2]), "STORE_SMTP_URL=smtp://127.0.0.1:%d", g->port);
	snprintf(vars[3], sizeof(vars[3]), "STORE_SMTP_FROM=Store Tests <store@localhost>");
	snprintf(vars[4], sizeof(vars[4]), "STORE_TEMPLATE_DIR=%s/worker/templates", rig_root());
	snprintf(vars[5], sizeof(vars[5]), "STORE_JOB_STREAM=%s", g->stream);
	snprintf(vars[6], sizeof(vars[6]), "STORE_WORKER_NAME=%s-%s", g->tag, name);
	snprintf(vars[7], sizeof(vars[7]), "STORE_SMTP_TIMEOUT=10");
	snprintf(vars[8], sizeof(vars[8]), "STORE_LOG_LEVEL=info");
	for (int i = 0; i < 9; i++)
		all[n++] = vars[i];
	for (const char *const *e = env; e && *e && n < 30; e++)
		all[n++] = *e;
	all[n] = NULL;
	snprintf(bin, sizeof(bin), "%s/worker/store-worker", rig_root());
	/* Under the stack's log directory, so the sanitizer check of scripts/store test reads it. */
	snprintf(logfile, sizeof(logfile), "%s/log/test-worker-%s-%s.log", test_env("STORE_TEST_VAR"), g->tag, name);
	char *argv[] = {bin, NULL};
	return rig_spawn(argv, all, logfile);
}

/* --- Redis ------------------------------------------------------------------------------ */

static redisReply *cmd(redisContext *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	redisReply *r = redisvCommand(c, fmt, ap);
	va_end(ap);
	cr_assert_not_null(r, "redis: %s", c->errstr);
	cr_assert_neq(r->type, REDIS_REPLY_ERROR, "redis: %s", r->str);
	return r;
}

static long long int_cmd(redisContext *c, const char *fmt, const char *key)
{
	redisReply *r = cmd(c, fmt, key);
	long long v = r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
	freeReplyObject(r);
	return v;
}

/* Jobs handed out and not acknowledged, optionally of one consumer only. */
static long long pending(struct world *g, const char *consumer)
{
	redisReply *r = cmd(g->redis, "XPENDING %s workers", g->stream);
	long long total = r->elements >= 4 && r->element[0]->type == REDIS_REPLY_INTEGER ? r->element[0]->integer : 0;
	long long mine = 0;
	if (consumer && r->elements >= 4 && r->element[3]->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->element[3]->elements; i++)
			if (strcmp(r->element[3]->element[i]->element[0]->str, consumer) == 0)
				mine = atoll(r->element[3]->element[i]->element[1]->str);
	freeReplyObject(r);
	return consumer ? mine : total;
}

/* Entries the group has not handed out yet (XINFO GROUPS "lag", Redis 7). */
static long long lag(struct world *g)
{
	redisReply *r = cmd(g->redis, "XINFO GROUPS %s", g->stream);
	long long v = -1;
	for (size_t i = 0; i < r->elements; i++)
		for (size_t k = 0; k + 1 < r->element[i]->elements; k += 2)
			if (strcmp(r->element[i]->element[k]->str, "lag") == 0 &&
			    r->element[i]->element[k + 1]->type == REDIS_REPLY_INTEGER)
				v = r->element[i]->element[k + 1]->integer;
	freeReplyObject(r);
	return v;
}

static long long dead_count(struct world *g)
{
	char key[200];
	snprintf(key, sizeof(key), "%s:dead", g->stream);
	return int_cmd(g->redis, "XLEN %s", key);
}

static long long delayed_count(struct world *g)
{
	char key[200];
	snprintf(key, sizeof(key), "%s:delayed", g->stream);
	return int_cmd(g->redis, "ZCARD %s", key);
}

/* Waits until the worker made the group (so jobs added now are all delivered). */
static void wait_group(struct world *g)
{
	double until = rig_now() + 20;
	for (;;) {
		redisReply *r = redisCommand(g->redis, "XINFO GROUPS %s", g->stream);
		bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0;
		freeReplyObject(r);
		if (ok)
			return;
		cr_assert_lt(rig_now(), until, "no worker created the consumer group on %s", g->stream);
		rig_sleep(0.1);
	}
}

/* Appends one job document (built by lib/jobs) to `stream`; copies its id into `id`. */
static void add_job(redisContext *c, const char *stream, const char *type, const char *to, const char *name,
		    char id[JOBS_ID_LEN + 1])
{
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string(name));
	struct json_object *job = jobs_build(type, to, data, "test-worker");
	cr_assert_not_null(job);
	if (id)
		snprintf(id, JOBS_ID_LEN + 1, "%s", json_object_get_string(json_object_object_get(job, "id")));
	freeReplyObject(cmd(c, "XADD %s * job %s", stream, json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN)));
	json_object_put(job);
	json_object_put(data);
}

/* Adds `n` welcome jobs to `to` in one pipeline. */
static void add_jobs(struct world *g, int n, const char *to)
{
	for (int i = 0; i < n; i++) {
		struct json_object *data = json_object_new_object();
		char name[32];
		snprintf(name, sizeof(name), "Bulk %d", i);
		json_object_object_add(data, "name", json_object_new_string(name));
		struct json_object *job = jobs_build("welcome", to, data, "test-worker-bulk");
		redisAppendCommand(g->redis, "XADD %s * job %s", g->stream,
				   json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN));
		json_object_put(job);
		json_object_put(data);
	}
	for (int i = 0; i < n; i++) {
		redisReply *r = NULL;
		cr_assert_eq(redisGetReply(g->redis, (void **)&r), REDIS_OK);
		cr_assert_eq(r->type, REDIS_REPLY_STRING);
		freeReplyObject(r);
	}
}


/* Lines of the sink's RCPT log that name `addr` with `code`. */
static int rcpt_count(struct world *g, const char *addr, int code)
{
	char *log = rig_slurp(g->rcptlog), want[300];
	int n = 0;
	snprintf(want, sizeof(want), "RCPT %s %d\n", addr, code);
	for (const char *p = log; p && (p = strstr(p, want)); p += strlen(want))
		n++;
	free(log);
	return n;
}

static const char *jstr(struct json_object *o, const char *path1, const char *path2, const char *path3)
{
	struct json_object *v = o;
	const char *keys[] = {path1, path2, path3};
	for (int i = 0; i < 3 && keys[i]; i++)
		cr_assert(json_object_object_get_ex(v, keys[i], &v), "no %s", keys[i]);
	return json_object_get_string(v);
}

static pid_t stack_worker_pid(void)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/run/worker.pid", test_env("STORE_TEST_VAR"));
	char *s = rig_slurp(path);
	cr_assert_not_null(s, "no %s: is the stack's worker running?", path);
	pid_t pid = (pid_t)atol(s);
	free(s);
	cr_assert_gt(pid, 0);
	cr_assert_eq(kill(pid, 0), 0, "the stack's worker (pid %d) is not running", (int)pid);
	return pid;
}

/* --- the stack's worker --------------------------------------------------------------------- */

Test(worker, register_sends_the_welcome_mail_with_to_subject_and_body)
{
	char email[128];
	const char *name = "Zo\xc3\xab <b>\xc3\x9cn\xc3\xaf" "code</b> & Co";
	unique_email(email, sizeof(email), "welcome-mail");
	register_user(email, TEST_PASSWORD, name);

	char *path = rig_find_mail_to(test_env("STORE_TEST_MAILDIR"), email, 30);
	struct json_object *m = rig_parse_mail(path);
	cr_assert_str_eq(jstr(m, "to", NULL, NULL), email);
	cr_assert_str_eq(jstr(m, "subject", NULL, NULL), "Welcome to the store, Zo\xc3\xab <b>\xc3\x9cn\xc3\xaf" "code</b> & Co");
	cr_assert_str_eq(jstr(m, "mime-version", NULL, NULL), "1.0");
	cr_assert_str_eq(jstr(m, "content_type", NULL, NULL), "multipart/alternative");
	cr_assert_str_neq(jstr(m, "date", NULL, NULL), "None");
	cr_assert_str_neq(jstr(m, "from", NULL, NULL), "None");
	const char *mid = jstr(m, "message-id", NULL, NULL);
	cr_assert(mid[0] == '<' && strspn(mid + 1, "0123456789abcdef") == JOBS_ID_LEN && mid[1 + JOBS_ID_LEN] == '@',
		  "Message-ID %s does not carry the job id", mid);
	cr_assert_eq(json_object_array_length(json_object_object_get(m, "defects")), 0, "MIME defects: %s",
		     json_object_to_json_string(json_object_object_get(m, "defects")));
	cr_assert_str_eq(jstr(m, "parts", "text/plain", "charset"), "utf-8");
	cr_assert_str_eq(jstr(m, "parts", "text/html", "charset"), "utf-8");
	const char *text = jstr(m, "parts", "text/plain", "body");
	const char *html = jstr(m, "parts", "text/html", "body");
	cr_assert_not_null(strstr(text, "Hello Zo\xc3\xab <b>\xc3\x9cn\xc3\xaf" "code</b> & Co,"), "%s", text);
	cr_assert_not_null(strstr(html, "Hello Zo\xc3\xab &lt;b&gt;\xc3\x9cn\xc3\xaf" "code&lt;/b&gt; &amp; Co,"), "%s",
			   html);
	cr_assert_null(strstr(html, "<b>"), "the name reached the HTML unescaped");
	json_object_put(m);
	free(path);
}

Test(worker, malformed_jobs_are_dead_lettered_and_the_worker_keeps_running)
{
	pid_t before = stack_worker_pid();
	redisContext *c = test_redis();
	char marker[64], bad_json[128], bad_type[512], no_name[512], hex[JOBS_ID_LEN + 1];
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(marker, sizeof(marker), "m%d-%ld%09ld", (int)getpid(), (long)ts.tv_sec, ts.tv_nsec);
	snprintf(hex, sizeof(hex), "%08x%024lx", (unsigned)getpid(), (unsigned long)ts.tv_nsec);
	snprintf(bad_json, sizeof(bad_json), "{\"v\":1,\"oops\" %s", marker);
	snprintf(bad_type, sizeof(bad_type),
		 "{\"v\":1,\"id\":\"%s\",\"type\":\"spam\",\"recipient\":\"a@example.com\",\"data\":{\"m\":\"%s\"},"
		 "\"request_id\":\"r\",\"created_at\":\"t\"}",
		 hex, marker);
	snprintf(no_name, sizeof(no_name),
		 "{\"v\":1,\"id\":\"%s\",\"type\":\"welcome\",\"recipient\":\"a@example.com\",\"data\":{\"m\":\"%s\"},"
		 "\"request_id\":\"r\",\"created_at\":\"t\"}",
		 hex, marker);
	const char *docs[] = {bad_json, bad_type, no_name};
	const char *why[] = {"not one JSON document", "unknown job type", "{{name}}"};
	for (int i = 0; i < 3; i++)
		freeReplyObject(cmd(c, "XADD jobs:email * job %s", docs[i]));
	freeReplyObject(cmd(c, "XADD jobs:email * nojob %s", marker));

	/* Each one reaches the dead-letter stream with its reason. */
	bool found[3] = {false, false, false};
	double until = rig_now() + 30;
	while (!(found[0] && found[1] && found[2])) {
		cr_assert_lt(rig_now(), until, "not dead-lettered within 30 s: %d %d %d", found[0], found[1], found[2]);
		rig_sleep(0.2);
		redisReply *r = cmd(c, "XREVRANGE jobs:email:dead + - COUNT 1000");
		for (size_t i = 0; i < r->elements; i++) {
			redisReply *f = r->element[i]->element[1];
			const char *job = NULL, *error = NULL;
			for (size_t k = 0; k + 1 < f->elements; k += 2) {
				if (strcmp(f->element[k]->str, "job") == 0)
					job = f->element[k + 1]->str;
				else if (strcmp(f->element[k]->str, "error") == 0)
					error = f->element[k + 1]->str;
			}
			for (int d = 0; d < 3 && job && error; d++) {
				if (strcmp(job, docs[d]) == 0) {
					cr_assert_not_null(strstr(error, why[d]), "job %d: error \"%s\"", d, error);
					found[d] = true;
				}
			}
		}
		freeReplyObject(r);
	}
	redisFree(c);

	/* Same process, still delivering. */
	cr_assert_eq(stack_worker_pid(), before, "the worker was restarted");
	char email[128];
	unique_email(email, sizeof(email), "after-malformed");
	register_user(email, TEST_PASSWORD, "Still Here");
	char *path = rig_find_mail_to(test_env("STORE_TEST_MAILDIR"), email, 30);
	free(path);
	cr_assert_eq(stack_worker_pid(), before);
}

/* --- workers of the tests' own ------------------------------------------------------------ */

/* Waits until worker `w` (still alive) has put `n` messages in the Maildir: the middle of a batch. */
static void wait_count(struct world *g, pid_t w, size_t n)
{
	double until = rig_now() + 60;
	while (rig_maildir_count(g->maildir) < n) {
		cr_assert(rig_alive(w), "the worker died");
		cr_assert_lt(rig_now(), until, "the worker sent only %zu in 60 s", rig_maildir_count(g->maildir));
		rig_sleep(0.01);
	}
}

/* Waits until all `n` jobs are delivered and acknowledged with nothing dead; returns the number
 * of messages (n plus duplicates). */
static size_t wait_all_delivered(struct world *g, size_t n, double timeout, const char *what)
{
	size_t distinct, total;
	rig_wait_distinct(g->maildir, n, timeout, what);
	rig_sleep(1); /* a duplicate would come now */
	rig_free_ids(rig_maildir_ids(g->maildir, &distinct, &total));
	cr_assert_eq(distinct, n);
	cr_assert_eq(pending(g, NULL), 0);
	cr_assert_eq(lag(g), 0);
	cr_assert_eq(dead_count(g), 0);
	return total;
}

static void wait_dead(struct world *g, long long n, const char *what)
{
	double until = rig_now() + 30;
	while (dead_count(g) < n) {
		cr_assert_lt(rig_now(), until, "%s was not dead-lettered within 30 s", what);
		rig_sleep(0.2);
	}
}

/* The fields of the one dead letter of g's stream. */
struct dead_letter {
	char job[4096], error[1024], attempts[16];
};

static void the_dead_letter(struct world *g, struct dead_letter *d)
{
	char key[200];
	snprintf(key, sizeof(key), "%s:dead", g->stream);
	redisReply *r = cmd(g->redis, "XRANGE %s - +", key);
	cr_assert_eq(r->elements, 1, "%zu dead letters, want 1", r->elements);
	memset(d, 0, sizeof(*d));
	redisReply *f = r->element[0]->element[1];
	for (size_t k = 0; k + 1 < f->elements; k += 2) {
		const char *n = f->element[k]->str, *v = f->element[k + 1]->str;
		if (strcmp(n, "job") == 0)
			snprintf(d->job, sizeof(d->job), "%s", v);
		else if (strcmp(n, "error") == 0)
			snprintf(d->error, sizeof(d->error), "%s", v);
		else if (strcmp(n, "attempts") == 0)
			snprintf(d->attempts, sizeof(d->attempts), "%s", v);
	}
	freeReplyObject(r);
}

/* A rig with its sink (`sink_opts` as for start_sink) and one worker "a" (`env` as for
 * start_worker) that has made the group; returns the sink, the worker in *w. */
static pid_t world_up(struct world *g, const char *tag, const char *const *sink_opts, const char *const *env, pid_t *w)
{
	world_init(g, tag);
	pid_t sink = start_sink(g, sink_opts);
	*w = start_worker(g, "a", env);
	wait_group(g);
	return sink;
}

/* SIGTERM to each worker (each must exit 0), then the sink; drops the test's keys. */
static void world_done(struct world *g, pid_t sink, const pid_t *workers, int n)
{
	for (int i = 0; i < n; i++) {
		int status = rig_stop(workers[i], SIGTERM, 15);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a worker did not exit 0 on SIGTERM");
	}
	if (sink > 0)
		rig_stop(sink, SIGTERM, 15);
	world_free(g);
}

Test(worker, jobs_wait_while_the_smtp_server_is_down_and_none_are_lost)
{
	struct world g;
	world_init(&g, "outage");
	/* No sink yet: the port refuses connections. */
	pid_t w = start_worker(&g, "a", NULL);
	wait_group(&g);
	add_jobs(&g, 50, "outage@example.com");
	rig_sleep(4);
	cr_assert_eq(rig_maildir_count(g.maildir), 0);
	cr_assert_eq(pending(&g, NULL) + lag(&g), 50, "every job is still waiting on the stream");
	cr_assert_eq(dead_count(&g), 0, "an outage must not dead-letter jobs");
	cr_assert_eq(delayed_count(&g), 0, "nor use up their attempts");
	cr_assert(rig_alive(w));

	pid_t sink = start_sink(&g, NULL);
	size_t total = wait_all_delivered(&g, 50, 60, "after the SMTP server came back");
	cr_assert_eq(total, 50, "duplicates: %zu messages for 50 jobs", total);
	world_done(&g, sink, &w, 1);
}

Test(worker, a_permanently_rejected_recipient_is_dead_lettered_once)
{
	struct world g;
	pid_t w, sink = world_up(&g, "reject", (const char *const[]){"--reject", "gone@example.com", NULL}, NULL, &w);
	char bad[JOBS_ID_LEN + 1];
	add_job(g.redis, g.stream, "welcome", "gone@example.com", "Gone", bad);
	for (int i = 0; i < 3; i++)
		add_job(g.redis, g.stream, "welcome", "here@example.com", "Here", NULL);

	rig_wait_distinct(g.maildir, 3, 30, "the accepted recipients");
	wait_dead(&g, 1, "the rejected job");
	struct dead_letter d;
	the_dead_letter(&g, &d);
	cr_assert_not_null(strstr(d.job, bad), "the dead letter holds the job");
	cr_assert_not_null(strstr(d.error, "550"), "the last error names the reply: %s", d.error);
	cr_assert_str_eq(d.attempts, "1");

	/* Not retried: a few seconds later the server still saw one attempt. */
	rig_sleep(3);
	cr_assert_eq(rcpt_count(&g, "gone@example.com", 550), 1);
	cr_assert_eq(delayed_count(&g), 0);
	cr_assert_eq(pending(&g, NULL), 0);
	cr_assert_eq(rig_count_id(g.maildir, bad), 0);
	world_done(&g, sink, &w, 1);
}

Test(worker, temporary_failures_are_retried_with_backoff_until_attempts_run_out)
{
	struct world g;
	pid_t w, sink = world_up(&g, "tempfail",
			       (const char *const[]){"--tempfail", "busy@example.com:2", "--tempfail",
						     "never@example.com:1000", NULL},
			       (const char *const[]){"STORE_JOB_BACKOFF_MS=300", "STORE_JOB_MAX_ATTEMPTS=4", NULL}, &w);
	char busy[JOBS_ID_LEN + 1], never[JOBS_ID_LEN + 1];
	add_job(g.redis, g.stream, "welcome", "busy@example.com", "Busy", busy);
	add_job(g.redis, g.stream, "welcome", "never@example.com", "Never", never);

	/* 451, 451, then accepted: delivered once, on the third attempt. */
	rig_wait_distinct(g.maildir, 1, 30, "the job refused twice with 451");
	cr_assert_eq(rig_count_id(g.maildir, busy), 1);
	cr_assert_eq(rcpt_count(&g, "busy@example.com", 451), 2);
	cr_assert_eq(rcpt_count(&g, "busy@example.com", 250), 1);

	/* Always 451: four attempts (300, 600, 1200 ms apart, +-20 %), then the dead-letter stream. */
	wait_dead(&g, 1, "the job that never gets through");
	cr_assert_eq(rcpt_count(&g, "never@example.com", 451), 4);
	struct dead_letter d;
	the_dead_letter(&g, &d);
	cr_assert_not_null(strstr(d.job, never));
	cr_assert_not_null(strstr(d.error, "451"), "%s", d.error);
	cr_assert_str_eq(d.attempts, "4");
	rig_sleep(2);
	cr_assert_eq(rcpt_count(&g, "never@example.com", 451), 4, "retried after being dead-lettered");
	cr_assert_eq(delayed_count(&g), 0);
	world_done(&g, sink, &w, 1);
}

Test(worker, a_job_already_sent_is_not_sent_again)
{
	struct world g;
	pid_t w, sink = world_up(&g, "dedup", NULL, NULL, &w);

	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string("Twice"));
	struct json_object *job = jobs_build("welcome", "twice@example.com", data, "test-dedup");
	const char *doc = json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN);
	char id[JOBS_ID_LEN + 1], other[JOBS_ID_LEN + 1];
	snprintf(id, sizeof(id), "%s", json_object_get_string(json_object_object_get(job, "id")));
	freeReplyObject(cmd(g.redis, "XADD %s * job %s", g.stream, doc));
	rig_wait_distinct(g.maildir, 1, 30, "the first copy");

	char key[80];
	snprintf(key, sizeof(key), "jobs:sent:%s", id);
	long long ttl = int_cmd(g.redis, "TTL %s", key);
	cr_assert(ttl > 604000 && ttl <= 604800, "jobs:sent:<id> kept a week, TTL %lld", ttl);

	/* The same job again, twice in a row (a redelivery, a retry-dead of something sent), then another. */
	freeReplyObject(cmd(g.redis, "XADD %s * job %s", g.stream, doc));
	freeReplyObject(cmd(g.redis, "XADD %s * job %s", g.stream, doc));
	add_job(g.redis, g.stream, "welcome", "twice@example.com", "Other", other);
	rig_wait_distinct(g.maildir, 2, 30, "the job after the repeats");
	rig_sleep(0.5);
	cr_assert_eq(rig_count_id(g.maildir, id), 1, "a job recorded as sent went out again");
	cr_assert_eq(rig_count_id(g.maildir, other), 1);
	cr_assert_eq(pending(&g, NULL), 0);
	json_object_put(job);
	json_object_put(data);
	world_done(&g, sink, &w, 1);
}

/*
 * The worker writes its metrics file (STORE_METRICS_FILE, every 5 s) with queue_stats, often
 * right after a send, whose finish was written and its reply left to be read later
 * (queue_finish_async). The counts must settle that reply first. Before, queue_stats took the
 * socket, readable with the reply, for a connection Redis had closed and dropped it, and the
 * next queue call waited out the Redis timeout for a reply that would never come, then logged
 * "redis unreachable": about 2.5 s lost at each metrics write after a send (seen in the stack's
 * worker log), or, with the reply not there yet, counts read from the wrong replies.
 */
Test(worker, the_metrics_counts_after_a_send_keep_the_redis_connection)
{
	struct world g;
	struct store_config cfg = {.redis_host = (char *)test_env("STORE_TEST_REDIS_HOST"),
				   .redis_port = atol(test_env("STORE_TEST_REDIS_PORT")),
				   .redis_timeout_ms = 2000};
	char id[JOBS_ID_LEN + 1], err[128];
	struct queue_entry *e;
	size_t n;
	world_init(&g, "stats");
	struct redis_conn *r = redis_conn_new(&cfg);
	cr_assert_not_null(r);
	struct queue q;
	queue_init(&q, r, g.stream, "stats", 60000);
	cr_assert_eq(queue_create_group(&q, err, sizeof(err)), 0, "%s", err);
	add_job(g.redis, g.stream, "welcome", "stats@example.com", "Stats", id);
	cr_assert_eq(queue_read(&q, ">", 10, 0, &e, &n), 0);
	cr_assert_eq(n, 1);
	cr_assert_eq(queue_finish_async(&q, e[0].id, id), 0);
	queue_entries_free(e, n);
	free(e);
	rig_sleep(0.2); /* the finish's reply is in the socket now */

	struct redis_stats before, after;
	struct queue_stats qs;
	redis_stats(&before);
	cr_assert_eq(queue_stats(&q, &qs), 0);
	double t0 = rig_now();
	queue_promote(&q, 10);
	double took = rig_now() - t0;
	redis_stats(&after);
	cr_assert_eq(after.drops, before.drops, "the counts dropped the connection");
	cr_assert_lt(took, 0.5, "the next queue call took %.2f s", took);
	cr_assert_eq(qs.length, 1, "stream length %lld", qs.length);
	cr_assert_eq(qs.pending, 0, "the finish acknowledged the entry: pending %lld", qs.pending);
	redis_conn_free(r);
	world_free(&g);
}

Test(worker, kill_9_mid_batch_a_second_worker_delivers_all_1000)
{
	struct world g;
	pid_t a, sink = world_up(&g, "kill9", NULL, NULL, &a);
	char consumer_a[160];
	snprintf(consumer_a, sizeof(consumer_a), "%s-a", g.tag);
	add_jobs(&g, 1000, "bulk@example.com");

	/* Somewhere in the middle of the batch... */
	wait_count(&g, a, 200);
	int status = rig_stop(a, SIGKILL, 10);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	long long in_flight = pending(&g, consumer_a);
	cr_assert_lt(rig_maildir_count(g.maildir), 1000, "worker a finished before it was killed");
	cr_assert_leq(in_flight, 16, "more in flight than one batch");

	/* ...a second worker reclaims what a held (idle 1 s) and delivers the rest. */
	pid_t b = start_worker(&g, "b", (const char *const[]){"STORE_JOB_IDLE_MS=1000", NULL});
	size_t total = wait_all_delivered(&g, 1000, 180, "after kill -9");
	cr_assert_leq(total - 1000, (size_t)in_flight, "%zu duplicates, more than the %lld jobs in flight at the kill",
		      total - 1000, in_flight);
	world_done(&g, sink, &b, 1);
}

Test(worker, sigterm_finishes_the_message_in_flight_exits_0_and_loses_nothing)
{
	struct world g;
	pid_t a, sink = world_up(&g, "sigterm", NULL, NULL, &a);
	add_jobs(&g, 300, "term@example.com");
	wait_count(&g, a, 50);
	double t0 = rig_now();
	int status = rig_stop(a, SIGTERM, 15);
	cr_assert(WIFEXITED(status), "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_lt(rig_now() - t0, 5, "SIGTERM took %.1f s", rig_now() - t0);
	cr_assert_lt(rig_maildir_count(g.maildir), 300, "worker a finished before SIGTERM");

	/* What a held was handed back at once: b (default idle time) takes it without waiting. */
	pid_t b = start_worker(&g, "b", NULL);
	size_t total = wait_all_delivered(&g, 300, 60, "after SIGTERM");
	cr_assert_eq(total, 300, "SIGTERM must not cause a duplicate (%zu messages)", total);
	world_done(&g, sink, &b, 1);
}

Test(worker, three_workers_share_a_stream_without_duplicates)
{
	struct world g;
	pid_t w[3], sink = world_up(&g, "three", NULL, NULL, &w[0]);
	w[1] = start_worker(&g, "b", NULL);
	w[2] = start_worker(&g, "c", NULL);
	add_jobs(&g, 300, "three@example.com");
	size_t total = wait_all_delivered(&g, 300, 120, "three workers");
	cr_assert_eq(total, 300, "%zu messages for 300 jobs", total);
	world_done(&g, sink, w, 3);
}

/* The number on the line of `scripts/store jobs` that starts with `name`, or -1 for "-". */
static long long jobs_line(const char *out, const char *name)
{
	char want[64];
	snprintf(want, sizeof(want), "\n  %s ", name);
	const char *p = strstr(out, want);
	cr_assert_not_null(p, "no %s line in:\n%s", name, out);
	p += strlen(want);
	while (*p == ' ')
		p++;
	return *p == '-' ? -1 : atoll(p);
}

Test(worker, store_jobs_shows_the_counts_and_retry_dead_requeues)
{
	struct world g;
	world_init(&g, "cli");
	char env_stream[200], dead[200], delayed[200], docs[2][600];
	snprintf(env_stream, sizeof(env_stream), "STORE_JOB_STREAM=%s", g.stream);
	snprintf(dead, sizeof(dead), "%s:dead", g.stream);
	snprintf(delayed, sizeof(delayed), "%s:delayed", g.stream);
	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string("Cli"));
	for (int i = 0; i < 2; i++) {
		struct json_object *job = jobs_build("welcome", "cli@example.com", data, "test-cli");
		snprintf(docs[i], sizeof(docs[i]), "%s", json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN));
		json_object_put(job);
		freeReplyObject(cmd(g.redis, "XADD %s * job %s error %s attempts 1 failed_at t worker w source_id 1-1",
				    dead, docs[i], i ? "550 no such user" : "missing placeholder {{name}}"));
	}
	json_object_put(data);
	add_job(g.redis, g.stream, "welcome", "cli@example.com", "One", NULL);
	freeReplyObject(cmd(g.redis, "ZADD %s 1 {}", delayed));

	char *const status_argv[] = {(char *)test_env("STORE_TEST_STORE"), "jobs", NULL};
	const char *const env[] = {env_stream, NULL};
	int status;
	char *out = rig_run_output(status_argv, env, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	cr_assert_eq(jobs_line(out, "length"), 1, "%s", out);
	cr_assert_eq(jobs_line(out, "delayed"), 1, "%s", out);
	cr_assert_eq(jobs_line(out, "dead"), 2, "%s", out);
	cr_assert_eq(jobs_line(out, "pending"), -1, "no group yet: %s", out);
	free(out);

	char *const dead_argv[] = {(char *)test_env("STORE_TEST_STORE"), "jobs", "dead", NULL};
	out = rig_run_output(dead_argv, env, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	cr_assert_not_null(strstr(out, "550 no such user"), "%s", out);
	cr_assert_not_null(strstr(out, docs[0]), "%s", out);
	free(out);

	char *const retry_argv[] = {(char *)test_env("STORE_TEST_STORE"), "jobs", "retry-dead", NULL};
	out = rig_run_output(retry_argv, env, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	cr_assert_not_null(strstr(out, "re-queued 2"), "%s", out);
	free(out);
	cr_assert_eq(dead_count(&g), 0);
	redisReply *r = cmd(g.redis, "XREVRANGE %s + - COUNT 2", g.stream);
	cr_assert_eq(r->elements, 2);
	for (size_t i = 0; i < 2; i++) {
		redisReply *f = r->element[i]->element[1];
		cr_assert_eq(f->elements, 2, "a re-queued job is a new job: only its document");
		cr_assert_str_eq(f->element[0]->str, "job");
		cr_assert_str_eq(f->element[1]->str, docs[1 - i]);
	}
	freeReplyObject(r);

	/* A worker now sends all three, and dead-letters the delayed entry that is not a retry. */
	pid_t sink = start_sink(&g, NULL);
	pid_t w = start_worker(&g, "a", NULL);
	rig_wait_distinct(g.maildir, 3, 30, "the re-queued jobs");
	wait_dead(&g, 1, "the unreadable delayed entry");
	cr_assert_eq(delayed_count(&g), 0);
	world_done(&g, sink, &w, 1);
}
