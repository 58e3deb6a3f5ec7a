/* password.c: argon2id through libsodium, bounded to one running hash per core. */
#include "password.h"

#include <semaphore.h>
#include <stdatomic.h>
#include <string.h>

#include "config.h"

static unsigned long long opslimit;
static size_t memlimit;
static sem_t running;
static atomic_long admitted;
static long admit_max;
static char dummy[PASSWORD_HASH_MAX];

int password_init(const struct store_config *cfg, long cores)
{
	if (sodium_init() < 0)
		return -1;
	if (cores < 1)
		cores = 1;
	opslimit = (unsigned long long)cfg->pwhash_opslimit;
	memlimit = (size_t)cfg->pwhash_memlimit_kib * 1024;
	admit_max = cores * 2;
	if (sem_init(&running, 0, (unsigned)cores) != 0)
		return -1;
	return crypto_pwhash_str_alg(dummy, "dummy password for unknown accounts", 35, opslimit, memlimit,
				     crypto_pwhash_ALG_ARGON2ID13) == 0
		       ? 0
		       : -1;
}

static bool admit(void)
{
	if (atomic_fetch_add(&admitted, 1) >= admit_max) {
		atomic_fetch_sub(&admitted, 1);
		return false;
	}
	while (sem_wait(&running) != 0)
		;
	return true;
}

static void release(void)
{
	sem_post(&running);
	atomic_fetch_sub(&admitted, 1);
}

enum pw_result password_hash(const char *pw, char out[PASSWORD_HASH_MAX])
{
	if (!admit())
		return PW_BUSY;
	int rc = crypto_pwhash_str_alg(out, pw, strlen(pw), opslimit, memlimit, crypto_pwhash_ALG_ARGON2ID13);
	release();
	return rc == 0 ? PW_OK : PW_ERROR;
}

enum pw_result password_verify(const char *hash, const char *pw)
{
	if (!admit())
		return PW_BUSY;
	int rc = crypto_pwhash_str_verify(hash ? hash : dummy, pw, strlen(pw));
	release();
	return rc == 0 && hash ? PW_OK : PW_MISMATCH;
}

bool password_needs_rehash(const char *hash)
{
	return crypto_pwhash_str_needs_rehash(hash, opslimit, memlimit) != 0;
}
