/* rig.h: the integration tests' process and Maildir rig: start and stop programs, wait for mail, read it. */
#ifndef STORE_TEST_RIG_H
#define STORE_TEST_RIG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct json_object;

/* Processes started by rig_spawn that may run at once (per test program). */
#define RIG_MAX_PROCS 8
/* Debian's python3, which has aiosmtpd (a python3 earlier on PATH may not). */
#define RIG_PYTHON "/usr/bin/python3"

/*
 * Every function fails the running test (cr_assert) on an error it cannot report otherwise:
 * a wait that passes its deadline, a missing directory, a program that cannot start.
 */

/* Monotonic seconds; sleeps `s` seconds. */
double rig_now(void);
void rig_sleep(double s);

/* The checkout's root, from STORE_TEST_STORE (ROOT/scripts/store). Static storage. */
const char *rig_root(void);

/* mkdir -p `path` (mode 0755). */
void rig_mkdirs(const char *path);

/* A loopback TCP port free at the time of the call; whether 127.0.0.1:`port` accepts. */
int rig_free_port(void);
bool rig_port_open(int port);

/*
 * Starts argv[0] (a path, not searched on PATH) with `env` ("K=V", NULL-terminated, may be
 * NULL) added to this environment, stdin from /dev/null, stdout and stderr appended to
 * `logfile`. The process dies with the test (PR_SET_PDEATHSIG) and is killed by
 * rig_stop_all; at most RIG_MAX_PROCS at once. Returns its pid. `env`'s strings must
 * outlive the call only (the child copies them).
 */
pid_t rig_spawn(char *const argv[], const char *const *env, const char *logfile);

/* Sends `sig` to a process of rig_spawn and waits up to `timeout` s for its exit (then
 * SIGKILL, and the test fails). Returns the wait status. */
int rig_stop(pid_t pid, int sig, double timeout);

/* Whether a process of rig_spawn still runs (reaps it when it exited). */
bool rig_alive(pid_t pid);

/* SIGKILLs and reaps every process rig_spawn started that still runs: a suite's .fini. */
void rig_stop_all(void);

/* Runs argv[0] with `env` added (as rig_spawn) to completion, at most 60 s; returns what it
 * wrote on stdout and stderr (caller frees) and its wait status in *status. */
char *rig_run_output(char *const argv[], const char *const *env, int *status);

/* The whole file (caller frees), or NULL when it cannot be read. */
char *rig_slurp(const char *path);

/* --- a Maildir (as the SMTP sink writes it: new/ holds the delivered messages) ------------ */

/* Messages in `maildir`/new. */
size_t rig_maildir_count(const char *maildir);

/* Every message's job id (from its Message-ID), sorted; *distinct and *total are counts.
 * Returns a NULL-terminated array the caller frees with rig_free_ids. */
char **rig_maildir_ids(const char *maildir, size_t *distinct, size_t *total);
void rig_free_ids(char **ids);

/* How many messages carry job id `id`. */
size_t rig_count_id(const char *maildir, const char *id);

/* Waits up to `timeout` s until `maildir` holds `want` distinct job ids (`what` names the
 * wait in the failure); returns how many messages it holds. */
size_t rig_wait_distinct(const char *maildir, size_t want, double timeout, const char *what);

/* Waits up to `timeout` s for a message to `to`; returns its path (caller frees). */
char *rig_find_mail_to(const char *maildir, const char *to, double timeout);

/* The same for a message to `to` whose Subject is exactly `subject` (NULL: any). */
char *rig_find_mail(const char *maildir, const char *to, const char *subject, double timeout);

/* Waits up to `timeout` s until each of the `n` addresses `to` has a message in `maildir`
 * (`what` names the wait in the failure). */
void rig_wait_mail_to_all(const char *maildir, const char *const *to, size_t n, double timeout, const char *what);

/* Parses a stored message with Python's email package (an independent MIME reader) into
 * {to, from, subject, message_id, date, mime_version, content_type, defects,
 * parts{type:{charset,body}}}; the caller owns the result (json_object_put). */
struct json_object *rig_parse_mail(const char *path);

#endif
