/* token.h — API tokens and who they stand for.
 *
 * A token is 64 lowercase hex digits (32 random bytes).  The daemon's admin
 * token lives in $FCM_ROOT/.token (mode 0600, one line), made on first run
 * by fcm_admin_token_ensure().  Clients send it as
 *   Authorization: Bearer <token>
 *
 * User tokens (from `fcm login`, the OAuth work) are stored hashed: the
 * file $FCM_ROOT/tokens/<sha256-hex-of-token> holds one JSON object
 *   {"user":"alice","admin":false,"expires_at":1764000000}
 * ("admin" and "expires_at" optional; "user" follows the VM name rules, as
 * owners do).  fcm_token_principal() is the one
 * place that maps a presented token to a principal; new kinds of token plug
 * in there.  Tokens are compared in constant time and never logged. */
#ifndef FCM_TOKEN_H
#define FCM_TOKEN_H

#include <stddef.h>

#define FCM_TOKEN_BYTES  32
#define FCM_TOKEN_HEXLEN 64
#define FCM_USER_MAX     64

struct fcm_principal {
	char name[FCM_USER_MAX + 1];	/* "admin" for the admin token */
	int admin;			/* sees and touches every VM */
};

/* Make $FCM_ROOT/.token unless it exists: a fresh random token, written to a
 * 0600 temporary file and linked into place, so that two first runs agree on
 * one token.  An existing file readable by others is made 0600 (with a
 * warning); one that does not hold a token is an error, never replaced.
 * 0, or -1 with a sentence in err. */
int fcm_admin_token_ensure(char *err, size_t errlen);
/* The admin token into out.  0, or -1 with a sentence in err. */
int fcm_admin_token_read(char out[FCM_TOKEN_HEXLEN + 1], char *err, size_t errlen);

/* Is s[0..n) a token: exactly 64 lowercase hex digits? */
int fcm_token_syntax_ok(const char *s, size_t n);
/* Equal, in time independent of where they differ (and of b's contents). */
int fcm_token_equal(const char *a, size_t alen, const char *b, size_t blen);
/* SHA-256 of the token, hex: how user tokens are stored. */
void fcm_token_hash(const char *tok, size_t len, char out[65]);

/* Who presents tok[0..len): 1 with *p filled; 0 when it is no valid token
 * (unknown, malformed, expired); -1 on a system error (the token file cannot
 * be read), with a sentence in err. */
int fcm_token_principal(const char *tok, size_t len, struct fcm_principal *p,
    char *err, size_t errlen);

#endif
