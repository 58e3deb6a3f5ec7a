/* rig.c: the integration tests' process and Maildir rig: start and stop programs, wait for mail, read it. */
#include "rig.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <signal.h>
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

static pid_t procs[RIG_MAX_PROCS];

double rig_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void rig_sleep(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	nanosleep(&ts, NULL);
}

/* The checkout's root, from STORE_TEST_STORE (ROOT/scripts/store). */
const char *rig_root(void)
{
	static char r[4096];
	snprintf(r, sizeof(r), "%s", test_env("STORE_TEST_STORE"));
	char *p = strstr(r, "/scripts/store");
	cr_assert_not_null(p, "STORE_TEST_STORE is not .../scripts/store");
	*p = '\0';
	return r;
}

void rig_mkdirs(const char *path)
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

int rig_free_port(void)
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

bool rig_port_open(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

/* --- processes ------------------------------------------------------------------------ */

pid_t rig_spawn(char *const argv[], const char *const *env, const char *logfile)
{
	int slot = -1;
	for (int i = 0; i < RIG_MAX_PROCS && slot < 0; i++)
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
	for (int i = 0; i < RIG_MAX_PROCS; i++)
		if (procs[i] == pid)
			procs[i] = 0;
}

/* Sends `sig` and waits up to `timeout` s for the exit; returns the wait status. */
int rig_stop(pid_t pid, int sig, double timeout)
{
	int status = 0;
	double until = rig_now() + timeout;
	kill(pid, sig);
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (rig_now() > until) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			forget(pid);
			cr_assert_fail("pid %d did not exit within %.0f s of signal %d", (int)pid, timeout, sig);
		}
		rig_sleep(0.05);
	}
	forget(pid);
	return status;
}

bool rig_alive(pid_t pid)
{
	int status;
	return waitpid(pid, &status, WNOHANG) == 0;
}

/* --- the Maildir ------------------------------------------------------------------------- */

char *rig_slurp(const char *path)
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

size_t rig_maildir_count(const char *maildir)
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
char **rig_maildir_ids(const char *maildir, size_t *distinct, size_t *total)
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
		char *msg = rig_slurp(path);
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

void rig_free_ids(char **ids)
{
	for (char **p = ids; *p; p++)
		free(*p);
	free(ids);
}

/* How many messages carry job id `id`. */
size_t rig_count_id(const char *maildir, const char *id)
{
	size_t distinct, total, n = 0;
	char **ids = rig_maildir_ids(maildir, &distinct, &total);
	for (char **p = ids; *p; p++)
		n += strcmp(*p, id) == 0;
	rig_free_ids(ids);
	return n;
}

/* Waits until the Maildir holds `want` distinct job ids; returns how many messages it holds. */
size_t rig_wait_distinct(const char *maildir, size_t want, double timeout, const char *what)
{
	double until = rig_now() + timeout;
	size_t distinct = 0, total = 0;
	for (;;) {
		if (rig_maildir_count(maildir) >= want) {
			char **ids = rig_maildir_ids(maildir, &distinct, &total);
			rig_free_ids(ids);
			if (distinct >= want)
				return total;
		}
		if (rig_now() > until)
			cr_assert_fail("%s: %zu of %zu jobs delivered after %.0f s (Maildir %s)", what,
				       distinct ? distinct : rig_maildir_count(maildir), want, timeout, maildir);
		rig_sleep(0.2);
	}
}

/* Runs argv[0] with `env` ("K=V", NULL-terminated, may be NULL) added; returns what it wrote
 * on stdout and stderr (malloc'd) and its wait status in *status. Bounded: 60 s. */
char *rig_run_output(char *const argv[], const char *const *env, int *status)
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
struct json_object *rig_parse_mail(const char *path)
{
	const char script[] =
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
	char *const argv[] = {RIG_PYTHON, "-c", (char *)script, (char *)path, NULL};
	int status;
	char *buf = rig_run_output(argv, NULL, &status);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "python could not parse %s", path);
	struct json_object *o = json_tokener_parse(buf);
	cr_assert_not_null(o, "%s", buf);
	free(buf);
	return o;
}

/* Finds the message to `to` in the Maildir within `timeout` s; returns its path (caller frees). */
/* Calls visit(path, message, arg) for each message in `maildir`/new, its CRs turned into LFs
 * (the sink may store either line end), until visit returns true; returns whether one did. */
static bool each_message(const char *maildir, bool (*visit)(const char *, const char *, void *), void *arg)
{
	char dir[1200], path[2400];
	bool stop = false;
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	DIR *d = opendir(dir);
	cr_assert_not_null(d, "%s", dir);
	for (struct dirent *e; !stop && (e = readdir(d));) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		char *msg = rig_slurp(path);
		for (char *p = msg; p && *p; p++)
			if (*p == '\r')
				*p = '\n';
		stop = msg && visit(path, msg, arg);
		free(msg);
	}
	closedir(d);
	return stop;
}

struct find_to {
	char needle[300], subject[300]; /* subject "" : any */
	char *path;
};

static bool is_to(const char *path, const char *msg, void *arg)
{
	struct find_to *f = arg;
	if (!strstr(msg, f->needle) || (f->subject[0] && !strstr(msg, f->subject)))
		return false;
	f->path = strdup(path);
	return true;
}

char *rig_find_mail(const char *maildir, const char *to, const char *subject, double timeout)
{
	struct find_to f = {.path = NULL};
	double until = rig_now() + timeout;
	snprintf(f.needle, sizeof(f.needle), "\nTo: %s\n", to);
	if (subject)
		snprintf(f.subject, sizeof(f.subject), "\nSubject: %s\n", subject);
	while (!each_message(maildir, is_to, &f)) {
		cr_assert_lt(rig_now(), until, "no message to %s%s%s in %s within %.0f s", to, subject ? " about " : "",
			     subject ? subject : "", maildir, timeout);
		rig_sleep(0.2);
	}
	return f.path;
}

char *rig_find_mail_to(const char *maildir, const char *to, double timeout)
{
	return rig_find_mail(maildir, to, NULL, timeout);
}

struct all_to {
	const char *const *to;
	size_t n, have;
	bool *got;
};

static bool mark_to(const char *path, const char *msg, void *arg)
{
	struct all_to *a = arg;
	char needle[300];
	(void)path;
	for (size_t i = 0; i < a->n; i++) {
		snprintf(needle, sizeof(needle), "\nTo: %s\n", a->to[i]);
		if (!a->got[i] && strstr(msg, needle)) {
			a->got[i] = true;
			a->have++;
		}
	}
	return a->have == a->n;
}

void rig_wait_mail_to_all(const char *maildir, const char *const *to, size_t n, double timeout, const char *what)
{
	struct all_to a = {to, n, 0, calloc(n ? n : 1, sizeof(bool))};
	double until = rig_now() + timeout;
	cr_assert_not_null(a.got);
	while (!each_message(maildir, mark_to, &a)) {
		cr_assert_lt(rig_now(), until, "%s: %zu of %zu addresses got a message within %.0f s", what, a.have, n,
			     timeout);
		rig_sleep(0.5);
	}
	free(a.got);
}

void rig_stop_all(void)
{
	for (int i = 0; i < RIG_MAX_PROCS; i++) {
		if (procs[i] > 0) {
			kill(procs[i], SIGKILL);
			waitpid(procs[i], NULL, 0);
			procs[i] = 0;
		}
	}
}
