/* token.h: guest cart tokens: 256 random bits, URL-safe text, stored only as a hash. */
#ifndef STORE_CART_TOKEN_H
#define STORE_CART_TOKEN_H

#include <stdbool.h>

/* "ct_" and 43 base64url characters (32 random bytes, no padding). */
#define CART_TOKEN_LEN 46
/* Hex of the BLAKE2b-256 of the token. */
#define CART_TOKEN_HASH_LEN 64

/* Writes a new token into out (CART_TOKEN_LEN + 1 bytes). Needs sodium_init() first. */
void cart_token_new(char out[CART_TOKEN_LEN + 1]);

/* true when `s` (may be NULL) has the exact form of a token: prefix, length, alphabet and no
 * stray bits in the last character. Says nothing about whether a cart has it. */
bool cart_token_valid(const char *s);

/* Writes the hex hash under which a token is stored (CART_TOKEN_HASH_LEN + 1 bytes). */
void cart_token_hash(const char *token, char out[CART_TOKEN_HASH_LEN + 1]);

#endif
