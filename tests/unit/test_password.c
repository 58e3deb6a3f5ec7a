/* test_password.c: argon2id hashing, the dummy hash, rehash detection and the concurrency limit. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "password.h"
#include "settings.h"

static struct user_settings cfg = {.pwhash_opslimit = 2, .pwhash_memlimit_kib = 19456};

Test(password, hash_and_verify)
{
	char hash[PASSWORD_HASH_MAX];
	cr_assert_eq(password_init(&cfg, 2, 8), 0);
	cr_assert_eq(password_hash("correct horse battery", hash), PW_OK);
	cr_assert(strncmp(hash, "$argon2id$", 10) == 0, "%s", hash);
	cr_assert(strstr(hash, "m=19456,t=2") != NULL, "OWASP minimum parameters: %s", hash);
	cr_assert_eq(password_verify(hash, "correct horse battery"), PW_OK);
	cr_assert_eq(password_verify(hash, "correct horse batterY"), PW_MISMATCH);
	cr_assert_eq(password_verify(hash, ""), PW_MISMATCH);
	cr_assert_eq(password_verify("not a hash", "x"), PW_MISMATCH);
}

Test(password, unknown_account_runs_the_dummy_hash)
{
	cr_assert_eq(password_init(&cfg, 2, 8), 0);
	cr_assert_eq(password_verify(NULL, "dummy password for unknown accounts"), PW_MISMATCH,
		     "the dummy hash never verifies, whatever is typed");
}

Test(password, raised_parameters_ask_for_a_rehash)
{
	char hash[PASSWORD_HASH_MAX];
	cr_assert_eq(password_init(&cfg, 2, 8), 0);
	cr_assert_eq(password_hash("correct horse battery", hash), PW_OK);
	cr_assert(!password_needs_rehash(hash));
	struct user_settings stronger = cfg;
	stronger.pwhash_opslimit = 3;
	cr_assert_eq(password_init(&stronger, 2, 8), 0);
	cr_assert(password_needs_rehash(hash));
	char newer[PASSWORD_HASH_MAX];
	cr_assert_eq(password_hash("correct horse battery", newer), PW_OK);
	cr_assert(!password_needs_rehash(newer));
	cr_assert_eq(password_verify(hash, "correct horse battery"), PW_OK, "old hashes still verify");
}

static pthread_barrier_t start;

static void *hash_once(void *arg)
{
	char hash[PASSWORD_HASH_MAX];
	pthread_barrier_wait(&start);
	*(enum pw_result *)arg = password_hash("correct horse battery", hash);
	return NULL;
}

Test(password, at_most_two_per_core_admitted)
{
	enum { N = 8 };
	pthread_t t[N];
	enum pw_result res[N];
	int ok = 0, busy = 0;
	cr_assert_eq(password_init(&cfg, 1, 8), 0); /* one core: one running, one waiting, the rest refused */
	pthread_barrier_init(&start, NULL, N);
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, hash_once, &res[i]);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		ok += res[i] == PW_OK;
		busy += res[i] == PW_BUSY;
	}
	pthread_barrier_destroy(&start);
	cr_assert_eq(ok + busy, N);
	cr_assert_geq(ok, 2);
	cr_assert_geq(busy, 1, "no request was refused with %d hashing at once", N);
}

/* #15.6: the pool admitted two hashes per core whatever STORE_THREADS was, so on a host with
 * more cores than request threads every request thread could be waiting on a hash. */
Test(password, admission_leaves_request_threads_free_for_any_core_count)
{
	for (long threads = 1; threads <= 256; threads++)
		for (long cores = 1; cores <= 512; cores++) {
			long admit = password_admit_max(threads, cores);
			cr_assert_geq(admit, 1);
			cr_assert_leq(admit, cores * 2, "%ld threads, %ld cores: %ld", threads, cores, admit);
			if (threads >= 2)
				cr_assert_leq(admit, threads - 1, "%ld threads, %ld cores: %ld admitted leave no thread free",
					      threads, cores, admit);
			if (threads >= 4)
				cr_assert_leq(admit, threads - threads / 4, "%ld threads, %ld cores: %ld", threads, cores, admit);
		}
	cr_assert_eq(password_admit_max(8, 2), 4, "the figures measured in docs/BENCHMARKS.md stay");
}

Test(password, many_cores_few_threads_refuses_beyond_the_free_threads)
{
	enum { N = 8 };
	pthread_t t[N];
	enum pw_result res[N];
	int busy = 0;
	cr_assert_eq(password_init(&cfg, 64, 4), 0); /* 64 cores, 4 request threads: 3 admitted */
	pthread_barrier_init(&start, NULL, N);
	for (int i = 0; i < N; i++)
		pthread_create(&t[i], NULL, hash_once, &res[i]);
	for (int i = 0; i < N; i++) {
		pthread_join(t[i], NULL);
		busy += res[i] == PW_BUSY;
	}
	pthread_barrier_destroy(&start);
	cr_assert_geq(busy, 1, "%d hashes at once with 4 request threads were all admitted", N);
}

/* The hashing threads run at nice +10 when the system allows it. */
Test(password, hashing_threads_run_at_a_lower_priority)
{
	char hash[PASSWORD_HASH_MAX];
	cr_assert_eq(password_init(&cfg, 2, 8), 0);
	cr_assert_eq(password_hash("correct horse battery", hash), PW_OK); /* the pool has started */
	DIR *d = opendir("/proc/self/task");
	cr_assert_not_null(d);
	int niced = 0;
	for (struct dirent *e; (e = readdir(d));) {
		char path[300], stat[1024];
		snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
		FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[n] = '\0';
		/* Field 19 is nice; fields after the ")" that closes the command name. */
		char *p = strrchr(stat, ')');
		long nice = 0;
		for (int field = 3; p && field <= 19; field++)
			p = strchr(p + 1, ' ');
		if (p && sscanf(p, " %ld", &nice) == 1 && nice == 10)
			niced++;
	}
	closedir(d);
	cr_assert_geq(niced, 1, "no thread runs at nice 10");
}

/* STORE_PWHASH_*: OWASP's minimum for argon2id; no configuration may go below it. */
Test(settings, pwhash_floor_and_refresh_bounds)
{
	struct user_settings s = {0};
	char err[256];
	unsetenv("STORE_PWHASH_MEMLIMIT_KIB");
	unsetenv("STORE_PWHASH_OPSLIMIT");
	unsetenv("STORE_REFRESH_TTL");
	cr_assert_eq(config_load_vars(user_settings_vars, USER_SETTINGS_NVARS, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.refresh_ttl, 2592000);
	cr_assert_eq(s.pwhash_memlimit_kib, 19456);
	cr_assert_eq(s.pwhash_opslimit, 2);
	setenv("STORE_PWHASH_MEMLIMIT_KIB", "19455", 1);
	cr_assert_eq(config_load_vars(user_settings_vars, USER_SETTINGS_NVARS, &s, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "STORE_PWHASH_MEMLIMIT_KIB"));
	setenv("STORE_PWHASH_MEMLIMIT_KIB", "1048576", 1);
	setenv("STORE_PWHASH_OPSLIMIT", "1", 1);
	cr_assert_eq(config_load_vars(user_settings_vars, USER_SETTINGS_NVARS, &s, err, sizeof(err)), -1);
	cr_assert_not_null(strstr(err, "STORE_PWHASH_OPSLIMIT"));
	setenv("STORE_PWHASH_OPSLIMIT", "10", 1);
	setenv("STORE_REFRESH_TTL", "31536001", 1);
	cr_assert_eq(config_load_vars(user_settings_vars, USER_SETTINGS_NVARS, &s, err, sizeof(err)), -1);
	setenv("STORE_REFRESH_TTL", "31536000", 1);
	cr_assert_eq(config_load_vars(user_settings_vars, USER_SETTINGS_NVARS, &s, err, sizeof(err)), 0);
	cr_assert_eq(s.pwhash_memlimit_kib, 1048576);
}
