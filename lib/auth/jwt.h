/* jwt.h — base64url and the splitting of a JSON Web Token (RFC 7515/7519),
 * the only part of OpenID Connect written by hand here.  Signatures are
 * checked with libcrypto (lib/auth/jwk.h); JSON goes through libjq's jv.
 *
 * A compact JWS is BASE64URL(header) "." BASE64URL(payload) "."
 * BASE64URL(signature); the signature covers the bytes before the second
 * dot.  fcm_jwt_parse() is pure (no I/O, bounded input) and is what a
 * fuzz target would drive. */
#ifndef FCM_JWT_H
#define FCM_JWT_H

#include <stddef.h>

#include <jv.h>

#define FCM_JWT_MAX (16 * 1024)		/* longer tokens are refused */
#define FCM_JWT_SIG_MAX 1024		/* RSA-8192 signature: 1024 bytes */

/* Decode base64url without padding (padding '=' at the end is accepted)
 * into out[0..outmax).  0 with *outlen, or -1 when s[0..n) is not
 * base64url or decodes to more than outmax bytes (nothing is ever written
 * past out[outmax - 1]).  n * 3 / 4 + 3 bytes always suffice. */
int fcm_b64url_decode(const char *s, size_t n, unsigned char *out, size_t outmax, size_t *outlen);
/* Encode without padding (malloc'd, NUL-terminated). */
char *fcm_b64url_encode(const unsigned char *p, size_t n);

struct fcm_jwt {
	jv header;		/* the JOSE header, an object */
	jv claims;		/* the payload, an object */
	size_t signed_len;	/* bytes of the token the signature covers */
	unsigned char sig[FCM_JWT_SIG_MAX];
	size_t sig_len;
};

/* Split and decode tok[0..len).  0 with j filled (free with fcm_jwt_free),
 * or -1 with a sentence in err (j left empty). */
int fcm_jwt_parse(const char *tok, size_t len, struct fcm_jwt *j, char *err, size_t errlen);
void fcm_jwt_free(struct fcm_jwt *j);

#endif
