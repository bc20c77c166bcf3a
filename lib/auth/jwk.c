/* jwk.c — JWT signatures against a JWK set, with libcrypto (lib/auth/jwk.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "auth/jwk.h"
#include "auth/jwt.h"

#define B64_MAX 2048	/* a key member, encoded */

/* A base64url member of a JWK into a fresh buffer; NULL when absent or bad. */
static unsigned char *member(jv key, const char *name, size_t *len)
{
	const char *s = fcm_get_str(key, name);
	unsigned char *out;

	if (!s || strlen(s) > B64_MAX)
		return NULL;
	size_t cap = strlen(s) * 3 / 4 + 3;
	out = fcm_malloc(cap);
	if (fcm_b64url_decode(s, strlen(s), out, cap, len) < 0 || *len == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static EVP_PKEY *from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *rsa_key(jv key)
{
	size_t nl = 0, el = 0;
	unsigned char *n = member(key, "n", &nl), *e = member(key, "e", &el);
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (!n || !e || el > 8)
		goto out;
	while (nl && !n[0]) {		/* leading zeros do not count */
		memmove(n, n + 1, --nl);
	}
	if (nl * 8 < 2048)
		goto out;
	bn = BN_bin2bn(n, (int)nl, NULL);
	be = BN_bin2bn(e, (int)el, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (!bn || !be || !bld || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be))
		goto out;
	pkey = from_params("RSA", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return pkey;
}

static EVP_PKEY *ec_key(jv key)
{
	size_t xl = 0, yl = 0;
	const char *crv = fcm_get_str(key, "crv");
	unsigned char *x = member(key, "x", &xl), *y = member(key, "y", &yl);
	unsigned char pub[65];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	if (!crv || strcmp(crv, "P-256") || !x || !y || xl != 32 || yl != 32)
		goto out;
	pub[0] = 4;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (!bld || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub))
		goto out;
	pkey = from_params("EC", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pkey;
}

/* Verify with one key: 1 good, 0 bad. */
static int verify_one(EVP_PKEY *pkey, int ec, const struct fcm_jwt *j, const char *tok)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char *der = NULL;
	const unsigned char *sig = j->sig;
	size_t siglen = j->sig_len;
	int ok = 0;

	if (ec) {
		/* JWS carries r || s, 32 bytes each; libcrypto wants DER. */
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r, *s;
		int dl;
		if (!es || j->sig_len != 64) {
			ECDSA_SIG_free(es);
			goto out;
		}
		r = BN_bin2bn(j->sig, 32, NULL);
		s = BN_bin2bn(j->sig + 32, 32, NULL);
		if (!r || !s || !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			goto out;
		}
		dl = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (dl <= 0)
			goto out;
		sig = der;
		siglen = (size_t)dl;
	}
	if (md && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, pkey) == 1 &&
	    EVP_DigestVerify(md, sig, siglen, (const unsigned char *)tok, j->signed_len) == 1)
		ok = 1;
out:
	OPENSSL_free(der);
	EVP_MD_CTX_free(md);
	return ok;
}

int fcm_jwk_verify(const struct fcm_jwt *j, const char *tok, jv jwks, char *err, size_t errlen)
{
	const char *alg = fcm_get_str(j->header, "alg");
	const char *kid = fcm_get_str(j->header, "kid");
	const char *kty;
	jv keys;
	int ec, tried = 0, r = 0;

	if (!alg) {
		snprintf(err, errlen, "the token's header names no signing algorithm");
		return -1;
	}
	if (!strcmp(alg, "RS256"))
		ec = 0;
	else if (!strcmp(alg, "ES256"))
		ec = 1;
	else {
		snprintf(err, errlen, "the token is signed with '%.16s': only RS256 and ES256 are accepted", alg);
		return -1;
	}
	kty = ec ? "EC" : "RSA";
	keys = jv_get_kind(jwks) == JV_KIND_OBJECT ? jv_object_get(jv_copy(jwks), jv_string("keys")) : jv_invalid();
	if (jv_get_kind(keys) != JV_KIND_ARRAY) {
		jv_free(keys);
		snprintf(err, errlen, "the issuer's key set (jwks_uri) has no \"keys\" array");
		return -1;
	}
	jv_array_foreach(keys, i, key) {
		const char *k_kty, *k_kid, *k_use, *k_alg;
		EVP_PKEY *pkey;
		if (r || jv_get_kind(key) != JV_KIND_OBJECT) {
			jv_free(key);
			continue;
		}
		k_kty = fcm_get_str(key, "kty");
		k_kid = fcm_get_str(key, "kid");
		k_use = fcm_get_str(key, "use");
		k_alg = fcm_get_str(key, "alg");
		if (!k_kty || strcmp(k_kty, kty) || (kid && (!k_kid || strcmp(kid, k_kid))) ||
		    (k_use && strcmp(k_use, "sig")) || (k_alg && strcmp(k_alg, alg))) {
			jv_free(key);
			continue;
		}
		pkey = ec ? ec_key(key) : rsa_key(key);
		jv_free(key);
		if (!pkey)
			continue;
		tried++;
		r = verify_one(pkey, ec, j, tok);
		EVP_PKEY_free(pkey);
		(void)i;
	}
	jv_free(keys);
	if (r)
		return 1;
	if (!tried)
		snprintf(err, errlen, "the issuer publishes no usable %s key%s%.64s%s for this token",
		    alg, kid ? " with kid '" : "", kid ? kid : "", kid ? "'" : "");
	else
		snprintf(err, errlen, "the token's signature does not verify against the issuer's keys (tampered, or not from this issuer)");
	return 0;
}
