/* validate.c: e-mail normalisation and the password policy of the user service. */
#include "validate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parse.h"

extern const char *const common_passwords[];
extern const size_t common_passwords_count;

static bool atext(char c)
{
	return isalnum((unsigned char)c) || strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL;
}

static bool domain_valid(const char *d)
{
	size_t labels = 0;
	const char *label = d, *last = d;

	if (strlen(d) < 3 || strlen(d) > 253)
		return false;
	for (const char *p = d;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t n = (size_t)(p - label);
			if (n == 0 || n > 63 || label[0] == '-' || label[n - 1] == '-')
				return false;
			labels++;
			last = label;
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!(isalnum((unsigned char)*p) || *p == '-')) {
			return false;
		}
	}
	if (labels < 2 || strlen(last) < 2)
		return false;
	for (const char *p = last; *p; p++)
		if (!isalpha((unsigned char)*p))
			return false;
	return true;
}

bool email_normalize(const char *in, char out[EMAIL_MAX + 1])
{
	size_t start = 0, end;

	if (!in)
		return false;
	end = strlen(in);
	while (start < end && isspace((unsigned char)in[start]))
		start++;
	while (end > start && isspace((unsigned char)in[end - 1]))
		end--;
	if (end - start < 3 || end - start > EMAIL_MAX)
		return false;
	for (size_t i = start; i < end; i++)
		out[i - start] = (char)tolower((unsigned char)in[i]);
	out[end - start] = '\0';

	char *at = strchr(out, '@');
	if (!at || strchr(at + 1, '@'))
		return false;
	size_t llen = (size_t)(at - out);
	if (llen == 0 || llen > 64 || out[0] == '.' || out[llen - 1] == '.')
		return false;
	for (size_t i = 0; i < llen; i++) {
		if (out[i] == '.' && out[i + 1] == '.')
			return false;
		if (out[i] != '.' && !atext(out[i]))
			return false;
	}
	return domain_valid(at + 1);
}

bool password_is_common(const char *pw)
{
	for (size_t i = 0; i < common_passwords_count; i++)
		if (strcasecmp(common_passwords[i], pw) == 0)
			return true;
	return false;
}

const char *password_policy(const char *pw, const char *email)
{
	size_t len = strlen(pw), chars;

	if (!parse_utf8_valid(pw, len))
		return "must be valid UTF-8";
	chars = parse_utf8_len(pw, len);
	if (chars < PASSWORD_MIN || chars > PASSWORD_MAX)
		return "must be 10 to 128 characters long";
	bool same = true;
	for (size_t i = 1; i < len; i++)
		if (pw[i] != pw[0])
			same = false;
	if (same)
		return "must not be one character repeated";
	if (email && strcasecmp(pw, email) == 0)
		return "must not be your e-mail address";
	if (password_is_common(pw))
		return "is too common; choose another";
	return NULL;
}
