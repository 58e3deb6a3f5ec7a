/* settings.h: the user service's own settings (STORE_REFRESH_TTL, password hashing cost, STORE_MAX_SESSIONS). */
#ifndef STORE_USER_SETTINGS_H
#define STORE_USER_SETTINGS_H

#include <stddef.h>

#include "config.h"

struct user_settings {
	long refresh_ttl;         /* STORE_REFRESH_TTL seconds 300..31536000, default 2592000 */
	long pwhash_memlimit_kib; /* STORE_PWHASH_MEMLIMIT_KIB 19456..1048576, default 19456 */
	long pwhash_opslimit;     /* STORE_PWHASH_OPSLIMIT 2..10, default 2 */
	long max_sessions;        /* STORE_MAX_SESSIONS 1..1000, default 20 */
};

/* Filled once at start (lib/server.c, or create-admin), read-only afterwards. */
extern struct user_settings user_settings;

#define USER_SETTINGS_NVARS 4
extern const struct config_var user_settings_vars[USER_SETTINGS_NVARS];

#endif
