/* crypto.c — libcrypto (OpenSSL), loaded when a program first calls it
 * (lazylib.h).
 *
 * fcm uses it for a few hashes and signature checks: JWTs and OIDC keys
 * (lib/auth), WebSocket and CSRF (lib/http), key fingerprints.  Linked, it
 * cost every command about 1 ms at its start on a host with 500 VMs
 * (doc/performance.md), fcm ls and create included, which never call it. */
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "core/lazylib.h"

#define CRYPTO_FUNCS(X) \
	X(BIGNUM *, BN_bin2bn, (const unsigned char *s, int len, BIGNUM *ret), (s, len, ret)) \
	X(void, BN_free, (BIGNUM *a), (a)) \
	X(void, CRYPTO_free, (void *p, const char *file, int line), (p, file, line)) \
	X(int, CRYPTO_memcmp, (const void *a, const void *b, size_t len), (a, b, len)) \
	X(ECDSA_SIG *, ECDSA_SIG_new, (void), ()) \
	X(void, ECDSA_SIG_free, (ECDSA_SIG *sig), (sig)) \
	X(int, ECDSA_SIG_set0, (ECDSA_SIG *sig, BIGNUM *r, BIGNUM *s), (sig, r, s)) \
	X(int, i2d_ECDSA_SIG, (const ECDSA_SIG *sig, unsigned char **pp), (sig, pp)) \
	X(int, EVP_Digest, (const void *data, size_t count, unsigned char *md, unsigned int *size, \
	    const EVP_MD *type, ENGINE *impl), (data, count, md, size, type, impl)) \
	X(int, EVP_DigestInit_ex, (EVP_MD_CTX *ctx, const EVP_MD *type, ENGINE *impl), (ctx, type, impl)) \
	X(int, EVP_DigestUpdate, (EVP_MD_CTX *ctx, const void *d, size_t cnt), (ctx, d, cnt)) \
	X(int, EVP_DigestFinal_ex, (EVP_MD_CTX *ctx, unsigned char *md, unsigned int *s), (ctx, md, s)) \
	X(int, EVP_DigestVerifyInit, (EVP_MD_CTX *ctx, EVP_PKEY_CTX **pctx, const EVP_MD *type, \
	    ENGINE *e, EVP_PKEY *pkey), (ctx, pctx, type, e, pkey)) \
	X(int, EVP_DigestVerify, (EVP_MD_CTX *ctx, const unsigned char *sigret, size_t siglen, \
	    const unsigned char *tbs, size_t tbslen), (ctx, sigret, siglen, tbs, tbslen)) \
	X(int, EVP_EncodeBlock, (unsigned char *t, const unsigned char *f, int n), (t, f, n)) \
	X(EVP_MD_CTX *, EVP_MD_CTX_new, (void), ()) \
	X(void, EVP_MD_CTX_free, (EVP_MD_CTX *ctx), (ctx)) \
	X(EVP_PKEY_CTX *, EVP_PKEY_CTX_new_from_name, (OSSL_LIB_CTX *libctx, const char *name, \
	    const char *propquery), (libctx, name, propquery)) \
	X(void, EVP_PKEY_CTX_free, (EVP_PKEY_CTX *ctx), (ctx)) \
	X(int, EVP_PKEY_fromdata_init, (EVP_PKEY_CTX *ctx), (ctx)) \
	X(int, EVP_PKEY_fromdata, (EVP_PKEY_CTX *ctx, EVP_PKEY **ppkey, int selection, \
	    OSSL_PARAM params[]), (ctx, ppkey, selection, params)) \
	X(void, EVP_PKEY_free, (EVP_PKEY *pkey), (pkey)) \
	X(const EVP_MD *, EVP_sha1, (void), ()) \
	X(const EVP_MD *, EVP_sha256, (void), ()) \
	X(OSSL_PARAM_BLD *, OSSL_PARAM_BLD_new, (void), ()) \
	X(void, OSSL_PARAM_BLD_free, (OSSL_PARAM_BLD *bld), (bld)) \
	X(int, OSSL_PARAM_BLD_push_BN, (OSSL_PARAM_BLD *bld, const char *key, const BIGNUM *bn), \
	    (bld, key, bn)) \
	X(int, OSSL_PARAM_BLD_push_octet_string, (OSSL_PARAM_BLD *bld, const char *key, \
	    const void *buf, size_t bsize), (bld, key, buf, bsize)) \
	X(int, OSSL_PARAM_BLD_push_utf8_string, (OSSL_PARAM_BLD *bld, const char *key, \
	    const char *buf, size_t bsize), (bld, key, buf, bsize)) \
	X(OSSL_PARAM *, OSSL_PARAM_BLD_to_param, (OSSL_PARAM_BLD *bld), (bld)) \
	X(void, OSSL_PARAM_free, (OSSL_PARAM *p), (p))

FCM_LAZYLIB("libcrypto.so.3", CRYPTO_FUNCS, NULL)
