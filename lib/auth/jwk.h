/* jwk.h — checking a JWT's signature against an issuer's JSON Web Key Set
 * (RFC 7517/7518) with libcrypto.  Only the algorithms OpenID providers
 * sign ID tokens with are accepted: RS256 (RSA, at least 2048 bits) and
 * ES256 (P-256).  "none", the HMAC algorithms and everything else are
 * refused, whatever the token's header asks for. */
#ifndef FCM_JWK_H
#define FCM_JWK_H

#include <stddef.h>

#include <jv.h>

#include "auth/jwt.h"

/* Verify token j (parsed from tok) against the key set jwks ({"keys":[...]},
 * not consumed): the key is chosen by the header's "kid" (or, without one,
 * every key of the right type is tried).  1 when the signature verifies;
 * 0 when it does not or no key fits, -1 on an unusable token or key set;
 * with a sentence in err for 0 and -1. */
int fcm_jwk_verify(const struct fcm_jwt *j, const char *tok, jv jwks, char *err, size_t errlen);

#endif
