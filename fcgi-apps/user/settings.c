/* settings.c: the user service's settings table. */
#include "settings.h"

#include <stddef.h>

#include "config.h"

struct user_settings user_settings;

#define INT(f) CONFIG_INT, offsetof(struct user_settings, f)

const struct config_var user_settings_vars[USER_SETTINGS_NVARS] = {
	{"STORE_REFRESH_TTL", INT(refresh_ttl), "2592000", 300, 31536000, 0},
	/* OWASP's minimum for argon2id: no configuration may go below it. */
	{"STORE_PWHASH_MEMLIMIT_KIB", INT(pwhash_memlimit_kib), "19456", 19456, 1048576, 0},
	{"STORE_PWHASH_OPSLIMIT", INT(pwhash_opslimit), "2", 2, 10, 0},
	/* Sessions per account: a new sign-in beyond it ends the one that would end first. */
	{"STORE_MAX_SESSIONS", INT(max_sessions), "20", 1, 1000, 0},
};
