/* hashtime.c: times libsodium's argon2id crypto_pwhash_str, the cost of one login, for bench/run.
 *
 * usage: hashtime OPSLIMIT MEMLIMIT_KIB ROUNDS [PARALLEL]
 * Prints "one_hash_s=<median seconds of ROUNDS single hashes>" and, with
 * PARALLEL > 1, "parallel_hashes_per_s=<rate of PARALLEL threads hashing at once>".
 * Built by bench/run with the system compiler; not part of the product.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static unsigned long long opslimit;
static size_t memlimit;
static long rounds;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int hash_once(void)
{
	static const char pw[] = "benchmark password 0123456789";
	char out[crypto_pwhash_STRBYTES];
	return crypto_pwhash_str_alg(out, pw, sizeof(pw) - 1, opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static void *hash_loop(void *arg)
{
	(void)arg;
	for (long i = 0; i < rounds; i++)
		if (hash_once() != 0)
			return (void *)1;
	return NULL;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

int main(int argc, char **argv)
{
	long ops, mem_kib, parallel = 1;
	double *t;

	if ((argc != 4 && argc != 5) || !parse_long(argv[1], 1, 100, &ops) ||
	    !parse_long(argv[2], 8, 4194304, &mem_kib) || !parse_long(argv[3], 1, 1000, &rounds) ||
	    (argc == 5 && !parse_long(argv[4], 1, 256, &parallel))) {
		fprintf(stderr, "usage: hashtime OPSLIMIT MEMLIMIT_KIB ROUNDS [PARALLEL]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	opslimit = (unsigned long long)ops;
	memlimit = (size_t)mem_kib * 1024;
	if (hash_once() != 0) { /* warm-up: page in the memory once */
		fprintf(stderr, "hashtime: crypto_pwhash_str failed (out of memory?)\n");
		return 1;
	}
	if (!(t = calloc((size_t)rounds, sizeof(*t))))
		return 1;
	for (long i = 0; i < rounds; i++) {
		double t0 = now_s();
		if (hash_once() != 0)
			return 1;
		t[i] = now_s() - t0;
	}
	qsort(t, (size_t)rounds, sizeof(*t), cmp_double);
	printf("one_hash_s=%.6f\n", t[rounds / 2]);
	free(t);

	if (parallel > 1) {
		pthread_t tid[256];
		double t0 = now_s();
		for (long i = 0; i < parallel; i++)
			if (pthread_create(&tid[i], NULL, hash_loop, NULL) != 0)
				return 1;
		for (long i = 0; i < parallel; i++)
			pthread_join(tid[i], NULL);
		printf("parallel_hashes_per_s=%.2f\n", (double)(parallel * rounds) / (now_s() - t0));
	}
	return 0;
}
