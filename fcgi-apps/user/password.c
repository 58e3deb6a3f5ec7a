/* password.c: argon2id through libsodium on a low-priority pool of one thread per core. */
#include "password.h"
#include "settings.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

/*
 * Hashes run on a small pool of threads at a lower scheduling priority (nice +10), never on
 * the request threads: a login storm then uses the cores only when nothing else wants them,
 * so other routes keep their latency. A request thread waits while its hash runs or is
 * queued; how many may do so is bounded by the cores (two per core) and by the request
 * threads, some of which always stay free for other routes (password_admit_max); the rest
 * are refused at once with PW_BUSY.
 */
#define HASH_NICE 10

struct job {
	const char *pw, *hash; /* verify when hash is set (NULL: the dummy) */
	char *out;             /* hash into out when verify is false */
	bool verify, done;
	int rc;
	struct job *next;
};

static unsigned long long opslimit;
static size_t memlimit;
static long admit_max;
static char dummy[PASSWORD_HASH_MAX];
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t work_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static long inflight, nthreads;
static bool nice_warned;

static void *hasher(void *arg)
{
	(void)arg;
	/* Linux applies a thread's nice to that thread alone. A seccomp filter or a container may
	 * refuse it (systemd's @resources group holds setpriority; store-svc@.service allows it
	 * again): then the hashes compete with requests as equals, which the log says once. */
	if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), HASH_NICE) != 0) {
		int e = errno;
		pthread_mutex_lock(&mu);
		bool first = !nice_warned;
		nice_warned = true;
		pthread_mutex_unlock(&mu);
		if (first)
			log_msg(LOG_WARN, NULL, "password hashing runs at normal priority: setpriority: %s", strerror(e));
	}
	pthread_mutex_lock(&mu);
	for (;;) {
		while (!head)
			pthread_cond_wait(&work_cv, &mu);
		struct job *j = head;
		head = j->next;
		if (!head)
			tail = NULL;
		pthread_mutex_unlock(&mu);
		if (j->verify)
			j->rc = crypto_pwhash_str_verify(j->hash ? j->hash : dummy, j->pw, strlen(j->pw));
		else
			j->rc = crypto_pwhash_str_alg(j->out, j->pw, strlen(j->pw), opslimit, memlimit,
						      crypto_pwhash_ALG_ARGON2ID13);
		pthread_mutex_lock(&mu);
		j->done = true;
		pthread_cond_broadcast(&done_cv);
	}
	return NULL;
}

long password_admit_max(long threads, long cores)
{
	if (cores < 1)
		cores = 1;
	if (threads < 2)
		return 1; /* a single request thread: nothing can be kept free */
	long spare = threads / 4 > 1 ? threads / 4 : 1;
	long admit = threads - spare;
	return admit < cores * 2 ? admit : cores * 2;
}

int password_init(const struct user_settings *cfg, long cores, long threads)
{
	if (sodium_init() < 0)
		return -1;
	if (cores < 1)
		cores = 1;
	opslimit = (unsigned long long)cfg->pwhash_opslimit;
	memlimit = (size_t)cfg->pwhash_memlimit_kib * 1024;
	pthread_mutex_lock(&mu);
	admit_max = password_admit_max(threads, cores);
	/* More hashing threads than admitted hashes would never be busy. */
	long want = cores < admit_max ? cores : admit_max;
	for (; nthreads < want; nthreads++) {
		pthread_t t;
		if (pthread_create(&t, NULL, hasher, NULL) != 0) {
			pthread_mutex_unlock(&mu);
			return -1;
		}
		pthread_detach(t);
	}
	pthread_mutex_unlock(&mu);
	return crypto_pwhash_str_alg(dummy, "dummy password for unknown accounts", 35, opslimit, memlimit,
				     crypto_pwhash_ALG_ARGON2ID13) == 0
		       ? 0
		       : -1;
}

/* Queues `j` for the pool and waits for it; false (nothing queued) when too many are in flight. */
static bool run(struct job *j)
{
	pthread_mutex_lock(&mu);
	if (inflight >= admit_max) {
		pthread_mutex_unlock(&mu);
		return false;
	}
	inflight++;
	j->next = NULL;
	if (tail)
		tail->next = j;
	else
		head = j;
	tail = j;
	pthread_cond_signal(&work_cv);
	while (!j->done)
		pthread_cond_wait(&done_cv, &mu);
	inflight--;
	pthread_mutex_unlock(&mu);
	return true;
}

enum pw_result password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	struct job j = {.pw = pw, .out = out};
	if (!run(&j))
		return PW_BUSY;
	return j.rc == 0 ? PW_OK : PW_ERROR;
}

enum pw_result password_verify(const char *hash, const char *pw)
{
	struct job j = {.pw = pw, .hash = hash, .verify = true};
	if (!run(&j))
		return PW_BUSY;
	return j.rc == 0 && hash ? PW_OK : PW_MISMATCH;
}

bool password_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, opslimit, memlimit) != 0;
}
