/* test_worker.c: the notification worker against the real Redis and real SMTP sinks: delivery, outages, rejections, crashes. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "jobs.h"

/*
 * The first two tests use the stack's own worker, stream (jobs:email) and Maildir. The others
 * each start their own SMTP sink on a free loopback port, their own workers, and use a stream
 * of their own (STORE_JOB_STREAM) on the stack's Redis, so they can stop sinks and kill
 * workers without disturbing anything else. Every process they start dies with them
 * (PR_SET_PDEATHSIG) and is stopped in the fixture's fini; every wait has a deadline.
 */

#define MAX_PROCS 8
#define PYTHON "/usr/bin/python3" /* Debian's, which has aiosmtpd */

static pid_t procs[MAX_PROCS];

static void stop_all(void)
{
	for (int i = 0; i < MAX_PROCS; i++) {
		if (procs[i] > 0) {
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
			procs[i] = 0;
		}
	}
}

TestSuite(worker, .fini = stop_all, .timeout = 300);

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* The checkout's root, from STORE_TEST_STORE (ROOT/scripts/store). */
static const char *root(void)
{
	static char r[4096];
	snprintf(r, sizeof(r), "%s", test_env("STORE_TEST_STORE"));
	char *p = strstr(r, "/scripts/store");
	cr_assert_not_null(p, "STORE_TEST_STORE is not .../scripts/store");
	*p = '\0';
	return r;
}

static void mkdirs(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(tmp, 0755);
			*p = '/';
		}
	}
	cr_assert(mkdir(tmp, 0755) == 0 || errno == EEXIST, "mkdir %s: %s", tmp, strerror(errno));
}

/* --- one test's world: a directory, a Maildir, a stream and a port ------------------- */

struct rig {
	char tag[64];
	char dir[1024];
	char maildir[1100];
	char rcptlog[1100];
	char stream[160];
	int port;
	redisContext *redis;
};

static int free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	cr_assert(fd >= 0);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	close(fd);
	return ntohs(a.sin_port);
}

static bool port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void rig_init(struct rig *g, const char *tag)
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
		mkdirs(sub);
	}
	g->port = free_port();
	g->redis = test_redis();
}

static void rig_free(struct rig *g)
{
	if (g->redis) {
		/* The test's keys go; the stack's Redis keeps only what other tests made. */
		freeReplyObject(redisCommand(g->redis, "DEL %s %s:dead %s:delayed", g->stream, g->stream, g->stream));
		redisFree(g->redis);
	}
}

/* --- processes ------------------------------------------------------------------------ */

static pid_t spawn(char *const argv[], const char *const *env, const char *logfile)
{
	int slot = -1;
	for (int i = 0; i < MAX_PROCS && slot < 0; i++)
		if (procs[i] == 0)
			slot = i;
	cr_assert_geq(slot, 0, "too many processes");
	pid_t parent = getpid(), pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		for (const char *const *e = env; e && *e; e++)
			putenv((char *)*e);
		int fd = open(logfile, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		int null = open("/dev/null", O_RDONLY);
		if (null >= 0)
			dup2(null, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	procs[slot] = pid;
	return pid;
}

static void forget(pid_t pid)
{
	for (int i = 0; i < MAX_PROCS; i++)
		if (procs[i] == pid)
			procs[i] = 0;
}

/* Sends `sig` and waits up to `timeout` s for the exit; returns the wait status. */
static int stop_proc(pid_t pid, int sig, double timeout)
{
	int status = 0;
	double until = now_s() + timeout;
	kill(pid, sig);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (now_s() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			forget(pid);
			cr_assert_fail("pid %d did not exit within %.0f s of signal %d", (int)pid, timeout, sig);
		}
		sleep_s(0.05);
	}
	forget(pid);
	return status;
}

static bool alive(pid_t pid)
{
	int status;
	return waitpid(pid, &status, WNOHANG) == 0;
}

/* The stack's aiosmtpd Mailbox, or (with options) smtp_sink.py, on g->port. */
static pid_t start_sink(struct rig *g, const char *const *opts)
{
	char listen[64], script[4200], logfile[1200];
	char *argv[32];
	int n = 0;
	snprintf(listen, sizeof(listen), "127.0.0.1:%d", g->port);
	snprintf(logfile, sizeof(logfile), "%s/smtp.log", g->dir);
	argv[n++] = PYTHON;
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
		snprintf(script, sizeof(script), "%s/tests/integration/smtp_sink.py", root());
		argv[n++] = script;
		argv[n++] = listen;
		argv[n++] = g->maildir;
		argv[n++] = "--log";
		argv[n++] = g->rcptlog;
		for (const char *const *o = opts; *o && n < 30; o++)
			argv[n++] = (char *)*o;
	}
	argv[n] = NULL;
	pid_t pid = spawn(argv, NULL, logfile);
	double until = now_s() + 20;
	while (!port_open(g->port)) {
		cr_assert(alive(pid), "the SMTP sink exited at start (log: %s)", logfile);
		cr_assert_lt(now_s(), until, "the SMTP sink did not listen within 20 s (log: %s)", logfile);
		sleep_s(0.1);
	}
	return pid;
}

/* A store-worker on g's stream and sink. `env` adds or overrides STORE_* settings. */
static pid_t start_worker(struct rig *g, const char *name, const char *const *env)
{
	static char vars[16][1200];
	const char *all[32];
	char bin[4200], logfile[4200];
	int n = 0;

	snprintf(vars[0], sizeof(vars[0]), "STORE_REDIS_HOST=%s", test_env("STORE_TEST_REDIS_HOST"));
	snprintf(vars[1], sizeof(vars[1]), "STORE_REDIS_PORT=%s", test_env("STORE_TEST_REDIS_PORT"));
	snprintf(vars[2], sizeof(vars[2]), "STORE_SMTP_URL=smtp://127.0.0.1:%d", g->port);
	snprintf(vars[3], sizeof(vars[3]), "STORE_SMTP_FROM=Store Tests <store@localhost>");
	snprintf(vars[4], sizeof(vars[4]), "STORE_TEMPLATE_DIR=%s/worker/templates", root());
	snprintf(vars[5], sizeof(vars[5]), "STORE_JOB_STREAM=%s", g->stream);
	snprintf(vars[6], sizeof(vars[6]), "STORE_WORKER_NAME=%s-%s", g->tag, name);
	snprintf(vars[7], sizeof(vars[7]), "STORE_SMTP_TIMEOUT=10");
	snprintf(vars[8], sizeof(vars[8]), "STORE_LOG_LEVEL=info");
	for (int i = 0; i < 9; i++)
		all[n++] = vars[i];
	for (const char *const *e = env; e && *e && n < 30; e++)
		all[n++] = *e;
	all[n] = NULL;
	snprintf(bin, sizeof(bin), "%s/worker/store-worker", root());
	/* Under the stack's log directory, so the sanitizer check of scripts/store test reads it. */
	snprintf(logfile, sizeof(logfile), "%s/log/test-worker-%s-%s.log", test_env("STORE_TEST_VAR"), g->tag, name);
	char *argv[] = {bin, NULL};
	return spawn(argv, all, logfile);
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
static long long pending(struct rig *g, const char *consumer)
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
static long long lag(struct rig *g)
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

static long long dead_count(struct rig *g)
{
	char key[200];
	snprintf(key, sizeof(key), "%s:dead", g->stream);
	return int_cmd(g->redis, "XLEN %s", key);
}

static long long delayed_count(struct rig *g)
{
	char key[200];
	snprintf(key, sizeof(key), "%s:delayed", g->stream);
	return int_cmd(g->redis, "ZCARD %s", key);
}

/* Waits until the worker made the group (so jobs added now are all delivered). */
static void wait_group(struct rig *g)
{
	double until = now_s() + 20;
	for (;;) {
		redisReply *r = redisCommand(g->redis, "XINFO GROUPS %s", g->stream);
		bool ok = r && r->type == REDIS_REPLY_ARRAY && r->elements > 0;
		freeReplyObject(r);
		if (ok)
			return;
		cr_assert_lt(now_s(), until, "no worker created the consumer group on %s", g->stream);
		sleep_s(0.1);
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
static void add_jobs(struct rig *g, int n, const char *to)
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

/* --- the Maildir ------------------------------------------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)n + 1);
	size_t got = fread(s, 1, (size_t)n, f);
	s[got] = '\0';
	fclose(f);
	return s;
}

static size_t maildir_count(const char *maildir)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/new", maildir);
	DIR *d = opendir(path);
	size_t n = 0;
	cr_assert_not_null(d, "%s", path);
	for (struct dirent *e; (e = readdir(d));)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Reads every message's job id (from Message-ID); *distinct and *total are counts. Returns the
 * sorted ids (caller frees with free_ids). */
static char **maildir_ids(const char *maildir, size_t *distinct, size_t *total)
{
	char dir[1200], path[2400];
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	DIR *d = opendir(dir);
	size_t cap = 64, n = 0;
	char **ids = malloc(cap * sizeof(*ids));
	cr_assert_not_null(d);
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *msg = slurp(path);
		const char *mid = msg ? strstr(msg, "\nMessage-ID: <") : NULL;
		cr_assert_not_null(mid, "no Message-ID in %s", path);
		mid += strlen("\nMessage-ID: <");
		if (n == cap)
			ids = realloc(ids, (cap *= 2) * sizeof(*ids));
		ids[n++] = strndup(mid, strcspn(mid, "@>"));
		free(msg);
	}
	closedir(d);
	qsort(ids, n, sizeof(*ids), cmp_str);
	*distinct = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0)
			(*distinct)++;
	*total = n;
	ids = realloc(ids, (n + 1) * sizeof(*ids));
	ids[n] = NULL;
	return ids;
}

static void free_ids(char **ids)
{
	for (char **p = ids; *p; p++)
		free(*p);
	free(ids);
}

/* How many messages carry job id `id`. */
static size_t count_id(const char *maildir, const char *id)
{
	size_t distinct, total, n = 0;
	char **ids = maildir_ids(maildir, &distinct, &total);
	for (char **p = ids; *p; p++)
		n += strcmp(*p, id) == 0;
	free_ids(ids);
	return n;
}

/* Waits until the Maildir holds `want` distinct job ids; returns how many messages it holds. */
static size_t wait_distinct(const char *maildir, size_t want, double timeout, const char *what)
{
	double until = now_s() + timeout;
	size_t distinct = 0, total = 0;
	for (;;) {
		if (maildir_count(maildir) >= want) {
			char **ids = maildir_ids(maildir, &distinct, &total);
			free_ids(ids);
			if (distinct >= want)
				return total;
		}
		if (now_s() > until)
			cr_assert_fail("%s: %zu of %zu jobs delivered after %.0f s (Maildir %s)", what,
				       distinct ? distinct : maildir_count(maildir), want, timeout, maildir);
		sleep_s(0.2);
	}
}

/* Lines of the sink's RCPT log that name `addr` with `code`. */
static int rcpt_count(struct rig *g, const char *addr, int code)
{
	char *log = slurp(g->rcptlog), want[300];
	int n = 0;
	snprintf(want, sizeof(want), "RCPT %s %d\n", addr, code);
	for (const char *p = log; p && (p = strstr(p, want)); p += strlen(want))
		n++;
	free(log);
	return n;
}

/* Runs argv[0] with `env` ("K=V", NULL-terminated, may be NULL) added; returns what it wrote
 * on stdout and stderr (malloc'd) and its wait status in *status. Bounded: 60 s. */
static char *run_output(char *const argv[], const char *const *env, int *status)
{
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (const char *const *e = env; e && *e; e++)
			putenv((char *)*e);
		dup2(fds[1], 1);
		dup2(fds[1], 2);
		close(fds[0]);
		alarm(60);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	ssize_t r;
	while ((r = read(fds[0], buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n < 1024)
			buf = realloc(buf, cap *= 2);
	}
	buf[n] = '\0';
	close(fds[0]);
	waitpid(pid, status, 0);
	return buf;
}

/* Parses a stored message with Python's email package (an independent MIME reader) into JSON:
 * {to, from, subject, message_id, date, mime_version, content_type, defects, parts{type:{charset,body}}}. */
static struct json_object *parse_mail(const char *path)
{
	static const char script[] =
		"import sys, json, email, email.policy\n"
		"m = email.message_from_binary_file(open(sys.argv[1], 'rb'), policy=email.policy.default)\n"
		"o = {k: str(m[k]) for k in ('to', 'from', 'subject', 'message-id', 'date', 'mime-version')}\n"
		"o['content_type'] = m.get_content_type()\n"
		"o['defects'] = [repr(d) for d in m.defects]\n"
		"o['parts'] = {}\n"
		"for p in m.walk():\n"
		"    o['defects'] += [repr(d) for d in p.defects]\n"
		"    if not p.is_multipart():\n"
		"        o['parts'][p.get_content_type()] = {'charset': p.get_content_charset(), 'body': p.get_content()}\n"
		"print(json.dumps(o))\n";
	char *const argv[] = {PYTHON, "-c", (char *)script, (char *)path, NULL};
	int status;
	char *buf = run_output(argv, NULL, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "python could not parse %s", path);
	struct json_object *o = json_tokener_parse(buf);
	cr_assert_not_null(o, "%s", buf);
	free(buf);
	return o;
}

static const char *jstr(struct json_object *o, const char *path1, const char *path2, const char *path3)
{
	struct json_object *v = o;
	const char *keys[] = {path1, path2, path3};
	for (int i = 0; i < 3 && keys[i]; i++)
		cr_assert(json_object_object_get_ex(v, keys[i], &v), "no %s", keys[i]);
	return json_object_get_string(v);
}

/* Finds the message to `to` in the Maildir within `timeout` s; returns its path (caller frees). */
static char *find_mail_to(const char *maildir, const char *to, double timeout)
{
	char dir[1200], path[2400], needle[300];
	double until = now_s() + timeout;
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	snprintf(needle, sizeof(needle), "\nTo: %s\n", to);
	for (;;) {
		DIR *d = opendir(dir);
		cr_assert_not_null(d, "%s", dir);
		for (struct dirent *e; (e = readdir(d));) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			char *msg = slurp(path);
			/* The sink may store CRLF or LF line ends: compare without the CR. */
			for (char *p = msg; p && *p; p++)
				if (*p == '\r')
					*p = '\n';
			bool hit = msg && strstr(msg, needle);
			free(msg);
			if (hit) {
				closedir(d);
				return strdup(path);
			}
		}
		closedir(d);
		cr_assert_lt(now_s(), until, "no message to %s in %s within %.0f s", to, maildir, timeout);
		sleep_s(0.2);
	}
}

static pid_t stack_worker_pid(void)
{
	char path[1200];
	snprintf(path, sizeof(path), "%s/run/worker.pid", test_env("STORE_TEST_VAR"));
	char *s = slurp(path);
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

	char *path = find_mail_to(test_env("STORE_TEST_MAILDIR"), email, 30);
	struct json_object *m = parse_mail(path);
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
	double until = now_s() + 30;
	while (!(found[0] && found[1] && found[2])) {
		cr_assert_lt(now_s(), until, "not dead-lettered within 30 s: %d %d %d", found[0], found[1], found[2]);
		sleep_s(0.2);
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
	char *path = find_mail_to(test_env("STORE_TEST_MAILDIR"), email, 30);
	free(path);
	cr_assert_eq(stack_worker_pid(), before);
}

/* --- workers of the tests' own ------------------------------------------------------------ */

/* Waits until worker `w` (still alive) has put `n` messages in the Maildir: the middle of a batch. */
static void wait_count(struct rig *g, pid_t w, size_t n)
{
	double until = now_s() + 60;
	while (maildir_count(g->maildir) < n) {
		cr_assert(alive(w), "the worker died");
		cr_assert_lt(now_s(), until, "the worker sent only %zu in 60 s", maildir_count(g->maildir));
		sleep_s(0.01);
	}
}

/* Waits until all `n` jobs are delivered and acknowledged with nothing dead; returns the number
 * of messages (n plus duplicates). */
static size_t wait_all_delivered(struct rig *g, size_t n, double timeout, const char *what)
{
	size_t distinct, total;
	wait_distinct(g->maildir, n, timeout, what);
	sleep_s(1); /* a duplicate would come now */
	free_ids(maildir_ids(g->maildir, &distinct, &total));
	cr_assert_eq(distinct, n);
	cr_assert_eq(pending(g, NULL), 0);
	cr_assert_eq(lag(g), 0);
	cr_assert_eq(dead_count(g), 0);
	return total;
}

static void wait_dead(struct rig *g, long long n, const char *what)
{
	double until = now_s() + 30;
	while (dead_count(g) < n) {
		cr_assert_lt(now_s(), until, "%s was not dead-lettered within 30 s", what);
		sleep_s(0.2);
	}
}

/* The fields of the one dead letter of g's stream. */
struct dead_letter {
	char job[4096], error[1024], attempts[16];
};

static void the_dead_letter(struct rig *g, struct dead_letter *d)
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
static pid_t rig_up(struct rig *g, const char *tag, const char *const *sink_opts, const char *const *env, pid_t *w)
{
	rig_init(g, tag);
	pid_t sink = start_sink(g, sink_opts);
	*w = start_worker(g, "a", env);
	wait_group(g);
	return sink;
}

/* SIGTERM to each worker (each must exit 0), then the sink; drops the test's keys. */
static void rig_done(struct rig *g, pid_t sink, const pid_t *workers, int n)
{
	for (int i = 0; i < n; i++) {
		int status = stop_proc(workers[i], SIGTERM, 15);
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "a worker did not exit 0 on SIGTERM");
	}
	if (sink > 0)
		stop_proc(sink, SIGTERM, 15);
	rig_free(g);
}

Test(worker, jobs_wait_while_the_smtp_server_is_down_and_none_are_lost)
{
	struct rig g;
	rig_init(&g, "outage");
	/* No sink yet: the port refuses connections. */
	pid_t w = start_worker(&g, "a", NULL);
	wait_group(&g);
	add_jobs(&g, 50, "outage@example.com");
	sleep_s(4);
	cr_assert_eq(maildir_count(g.maildir), 0);
	cr_assert_eq(pending(&g, NULL) + lag(&g), 50, "every job is still waiting on the stream");
	cr_assert_eq(dead_count(&g), 0, "an outage must not dead-letter jobs");
	cr_assert_eq(delayed_count(&g), 0, "nor use up their attempts");
	cr_assert(alive(w));

	pid_t sink = start_sink(&g, NULL);
	size_t total = wait_all_delivered(&g, 50, 60, "after the SMTP server came back");
	cr_assert_eq(total, 50, "duplicates: %zu messages for 50 jobs", total);
	rig_done(&g, sink, &w, 1);
}

Test(worker, a_permanently_rejected_recipient_is_dead_lettered_once)
{
	struct rig g;
	pid_t w, sink = rig_up(&g, "reject", (const char *const[]){"--reject", "gone@example.com", NULL}, NULL, &w);
	char bad[JOBS_ID_LEN + 1];
	add_job(g.redis, g.stream, "welcome", "gone@example.com", "Gone", bad);
	for (int i = 0; i < 3; i++)
		add_job(g.redis, g.stream, "welcome", "here@example.com", "Here", NULL);

	wait_distinct(g.maildir, 3, 30, "the accepted recipients");
	wait_dead(&g, 1, "the rejected job");
	struct dead_letter d;
	the_dead_letter(&g, &d);
	cr_assert_not_null(strstr(d.job, bad), "the dead letter holds the job");
	cr_assert_not_null(strstr(d.error, "550"), "the last error names the reply: %s", d.error);
	cr_assert_str_eq(d.attempts, "1");

	/* Not retried: a few seconds later the server still saw one attempt. */
	sleep_s(3);
	cr_assert_eq(rcpt_count(&g, "gone@example.com", 550), 1);
	cr_assert_eq(delayed_count(&g), 0);
	cr_assert_eq(pending(&g, NULL), 0);
	cr_assert_eq(count_id(g.maildir, bad), 0);
	rig_done(&g, sink, &w, 1);
}

Test(worker, temporary_failures_are_retried_with_backoff_until_attempts_run_out)
{
	struct rig g;
	pid_t w, sink = rig_up(&g, "tempfail",
			       (const char *const[]){"--tempfail", "busy@example.com:2", "--tempfail",
						     "never@example.com:1000", NULL},
			       (const char *const[]){"STORE_JOB_BACKOFF_MS=300", "STORE_JOB_MAX_ATTEMPTS=4", NULL}, &w);
	char busy[JOBS_ID_LEN + 1], never[JOBS_ID_LEN + 1];
	add_job(g.redis, g.stream, "welcome", "busy@example.com", "Busy", busy);
	add_job(g.redis, g.stream, "welcome", "never@example.com", "Never", never);

	/* 451, 451, then accepted: delivered once, on the third attempt. */
	wait_distinct(g.maildir, 1, 30, "the job refused twice with 451");
	cr_assert_eq(count_id(g.maildir, busy), 1);
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
	sleep_s(2);
	cr_assert_eq(rcpt_count(&g, "never@example.com", 451), 4, "retried after being dead-lettered");
	cr_assert_eq(delayed_count(&g), 0);
	rig_done(&g, sink, &w, 1);
}

Test(worker, a_job_already_sent_is_not_sent_again)
{
	struct rig g;
	pid_t w, sink = rig_up(&g, "dedup", NULL, NULL, &w);

	struct json_object *data = json_object_new_object();
	json_object_object_add(data, "name", json_object_new_string("Twice"));
	struct json_object *job = jobs_build("welcome", "twice@example.com", data, "test-dedup");
	const char *doc = json_object_to_json_string_ext(job, JSON_C_TO_STRING_PLAIN);
	char id[JOBS_ID_LEN + 1], other[JOBS_ID_LEN + 1];
	snprintf(id, sizeof(id), "%s", json_object_get_string(json_object_object_get(job, "id")));
	freeReplyObject(cmd(g.redis, "XADD %s * job %s", g.stream, doc));
	wait_distinct(g.maildir, 1, 30, "the first copy");

	char key[80];
	snprintf(key, sizeof(key), "jobs:sent:%s", id);
	long long ttl = int_cmd(g.redis, "TTL %s", key);
	cr_assert(ttl > 604000 && ttl <= 604800, "jobs:sent:<id> kept a week, TTL %lld", ttl);

	/* The same job again, twice in a row (a redelivery, a retry-dead of something sent), then another. */
	freeReplyObject(cmd(g.redis, "XADD %s * job %s", g.stream, doc));
	freeReplyObject(cmd(g.redis, "XADD %s * job %s", g.stream, doc));
	add_job(g.redis, g.stream, "welcome", "twice@example.com", "Other", other);
	wait_distinct(g.maildir, 2, 30, "the job after the repeats");
	sleep_s(0.5);
	cr_assert_eq(count_id(g.maildir, id), 1, "a job recorded as sent went out again");
	cr_assert_eq(count_id(g.maildir, other), 1);
	cr_assert_eq(pending(&g, NULL), 0);
	json_object_put(job);
	json_object_put(data);
	rig_done(&g, sink, &w, 1);
}

Test(worker, kill_9_mid_batch_a_second_worker_delivers_all_1000)
{
	struct rig g;
	pid_t a, sink = rig_up(&g, "kill9", NULL, NULL, &a);
	char consumer_a[160];
	snprintf(consumer_a, sizeof(consumer_a), "%s-a", g.tag);
	add_jobs(&g, 1000, "bulk@example.com");

	/* Somewhere in the middle of the batch... */
	wait_count(&g, a, 200);
	int status = stop_proc(a, SIGKILL, 10);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	long long in_flight = pending(&g, consumer_a);
	cr_assert_lt(maildir_count(g.maildir), 1000, "worker a finished before it was killed");
	cr_assert_leq(in_flight, 16, "more in flight than one batch");

	/* ...a second worker reclaims what a held (idle 1 s) and delivers the rest. */
	pid_t b = start_worker(&g, "b", (const char *const[]){"STORE_JOB_IDLE_MS=1000", NULL});
	size_t total = wait_all_delivered(&g, 1000, 180, "after kill -9");
	cr_assert_leq(total - 1000, (size_t)in_flight, "%zu duplicates, more than the %lld jobs in flight at the kill",
		      total - 1000, in_flight);
	rig_done(&g, sink, &b, 1);
}

Test(worker, sigterm_finishes_the_message_in_flight_exits_0_and_loses_nothing)
{
	struct rig g;
	pid_t a, sink = rig_up(&g, "sigterm", NULL, NULL, &a);
	add_jobs(&g, 300, "term@example.com");
	wait_count(&g, a, 50);
	double t0 = now_s();
	int status = stop_proc(a, SIGTERM, 15);
	cr_assert(WIFEXITED(status), "killed by signal %d", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	cr_assert_eq(WEXITSTATUS(status), 0);
	cr_assert_lt(now_s() - t0, 5, "SIGTERM took %.1f s", now_s() - t0);
	cr_assert_lt(maildir_count(g.maildir), 300, "worker a finished before SIGTERM");

	/* What a held was handed back at once: b (default idle time) takes it without waiting. */
	pid_t b = start_worker(&g, "b", NULL);
	size_t total = wait_all_delivered(&g, 300, 60, "after SIGTERM");
	cr_assert_eq(total, 300, "SIGTERM must not cause a duplicate (%zu messages)", total);
	rig_done(&g, sink, &b, 1);
}

Test(worker, three_workers_share_a_stream_without_duplicates)
{
	struct rig g;
	pid_t w[3], sink = rig_up(&g, "three", NULL, NULL, &w[0]);
	w[1] = start_worker(&g, "b", NULL);
	w[2] = start_worker(&g, "c", NULL);
	add_jobs(&g, 300, "three@example.com");
	size_t total = wait_all_delivered(&g, 300, 120, "three workers");
	cr_assert_eq(total, 300, "%zu messages for 300 jobs", total);
	rig_done(&g, sink, w, 3);
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
	struct rig g;
	rig_init(&g, "cli");
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
	char *out = run_output(status_argv, env, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	cr_assert_eq(jobs_line(out, "length"), 1, "%s", out);
	cr_assert_eq(jobs_line(out, "delayed"), 1, "%s", out);
	cr_assert_eq(jobs_line(out, "dead"), 2, "%s", out);
	cr_assert_eq(jobs_line(out, "pending"), -1, "no group yet: %s", out);
	free(out);

	char *const dead_argv[] = {(char *)test_env("STORE_TEST_STORE"), "jobs", "dead", NULL};
	out = run_output(dead_argv, env, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s", out);
	cr_assert_not_null(strstr(out, "550 no such user"), "%s", out);
	cr_assert_not_null(strstr(out, docs[0]), "%s", out);
	free(out);

	char *const retry_argv[] = {(char *)test_env("STORE_TEST_STORE"), "jobs", "retry-dead", NULL};
	out = run_output(retry_argv, env, &status);
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
	wait_distinct(g.maildir, 3, 30, "the re-queued jobs");
	wait_dead(&g, 1, "the unreadable delayed entry");
	cr_assert_eq(delayed_count(&g), 0);
	rig_done(&g, sink, &w, 1);
}
