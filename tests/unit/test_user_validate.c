/* test_user_validate.c: e-mail normalisation and the password policy of the user service. */
#include <criterion/criterion.h>
#include <string.h>

#include "validate.h"

Test(email, normalised_addresses)
{
	char out[EMAIL_MAX + 1];
	cr_assert(email_normalize("  Ada.Lovelace+shop@Example.COM \t", out));
	cr_assert_str_eq(out, "ada.lovelace+shop@example.com");
	cr_assert(email_normalize("o'brien@sub.example.co.uk", out));
	cr_assert(email_normalize("a@b.io", out));
}

Test(email, refused_addresses)
{
	const char *bad[] = {"",	    "   ",		  "plain",	    "@example.com",  "a@",
			     "a@b",	    "a@@b.com",		  "a b@example.com", ".a@example.com", "a.@example.com",
			     "a..b@x.com",  "a@-x.com",		  "a@x-.com",	    "a@x.c0m",	     "a@x.c",
			     "a@exa_mple.com", "a\"b@example.com", "a@example..com", "a@.example.com", "a@example.com.",
			     "ä@example.com", NULL};
	char out[EMAIL_MAX + 1];
	for (size_t i = 0; bad[i]; i++)
		cr_assert(!email_normalize(bad[i], out), "accepted %s", bad[i]);
	cr_assert(!email_normalize(NULL, out));
}

Test(email, length_limits)
{
	char in[400], out[EMAIL_MAX + 1];
	memset(in, 'a', 64);
	strcpy(in + 64, "@example.com");
	cr_assert(email_normalize(in, out), "64-character local part");
	memset(in, 'a', 65);
	strcpy(in + 65, "@example.com");
	cr_assert(!email_normalize(in, out), "65-character local part");
	memset(in, 'a', 300);
	strcpy(in + 300, "@example.com");
	cr_assert(!email_normalize(in, out));
}

Test(password, policy)
{
	char p128[129], p129[130];
	memset(p128, 'x', 128);
	p128[127] = 'y';
	p128[128] = '\0';
	memset(p129, 'x', 129);
	p129[128] = 'y';
	p129[129] = '\0';
	cr_assert_null(password_policy("a long passphrase", "a@example.com"));
	cr_assert_null(password_policy(p128, NULL));
	cr_assert_not_null(password_policy(p129, NULL));
	cr_assert_not_null(password_policy("123456789", NULL), "9 characters");
	cr_assert_null(password_policy("ünïcödé!!x", NULL), "10 code points, more bytes");
	cr_assert_not_null(password_policy("ünïcödé!!", NULL), "9 code points");
	cr_assert_not_null(password_policy("aaaaaaaaaaaa", NULL));
	cr_assert_not_null(password_policy("Password1234", NULL), "common, any case");
	cr_assert_not_null(password_policy("qwertyuiop", NULL));
	cr_assert_not_null(password_policy("Ada@Example.com", "ada@example.com"));
	cr_assert_not_null(password_policy("\xff\xfe\xfd\xfc\xfb\xfa\xf9\xf8\xf7\xf6", NULL), "not UTF-8");
}
