/* token.c: guest cart tokens: generation, the format check, the stored hash. */
#include "token.h"

#include <sodium.h>
#include <string.h>

#define PREFIX "ct_"
#define PREFIX_LEN 3
#define RAW_LEN 32

void cart_token_new(char out[CART_TOKEN_LEN + 1])
{
	unsigned char raw[RAW_LEN];

	randombytes_buf(raw, sizeof(raw));
	memcpy(out, PREFIX, PREFIX_LEN);
	sodium_bin2base64(out + PREFIX_LEN, CART_TOKEN_LEN + 1 - PREFIX_LEN, raw, sizeof(raw),
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
}

bool cart_token_valid(const char *s)
{
	unsigned char raw[RAW_LEN];
	size_t n = 0;
	const char *end = NULL;

	if (!s || strlen(s) != CART_TOKEN_LEN || memcmp(s, PREFIX, PREFIX_LEN) != 0)
		return false;
	/* sodium's decoder refuses characters outside the alphabet and non-zero padding bits. */
	if (sodium_base642bin(raw, sizeof(raw), s + PREFIX_LEN, CART_TOKEN_LEN - PREFIX_LEN, NULL, &n, &end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		return false;
	return n == RAW_LEN && end == s + CART_TOKEN_LEN;
}

void cart_token_hash(const char *token, char out[CART_TOKEN_HASH_LEN + 1])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)token, strlen(token), NULL, 0);
	sodium_bin2hex(out, CART_TOKEN_HASH_LEN + 1, h, sizeof(h));
}
