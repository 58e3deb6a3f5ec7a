/* validate.h: the user service's pure rules: e-mail normalisation and the password policy. */
#ifndef STORE_USER_VALIDATE_H
#define STORE_USER_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>

#define EMAIL_MAX 254
#define PASSWORD_MIN 10
#define PASSWORD_MAX 128
#define NAME_MAX_CHARS 100

/*
 * Trims surrounding whitespace, lower-cases ASCII and checks the address: one '@',
 * a local part of 1..64 dot-atom characters (no leading, trailing or double dots),
 * a domain of 2+ labels of letters, digits and inner hyphens with an alphabetic TLD.
 * Writes the normalised address into `out` (room for EMAIL_MAX + 1) and returns true.
 */
bool email_normalize(const char *in, char out[EMAIL_MAX + 1]);

/*
 * Checks a new password: PASSWORD_MIN..PASSWORD_MAX characters, not one repeated
 * character, not the e-mail address, not in the shipped list of common passwords
 * (compared case-insensitively). Returns NULL when acceptable, or the reason (static).
 */
const char *password_policy(const char *password, const char *email);

/* true if `pw` is in the common-password list (case-insensitive). */
bool password_is_common(const char *pw);

#endif
