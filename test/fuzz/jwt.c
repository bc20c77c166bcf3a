/* test/fuzz/jwt.c — the JWT splitter and base64url decoder (lib/auth/jwt.c),
 * as fcm-api parses the ID token a login sends it before any signature check.
 *
 * fuzz-deps: lib/auth/jwt.c lib/core/err.c
 * fuzz-libs: -ljq
 *
 * The input is the token itself.  Checks: nothing is written or read past a
 * buffer (ASan: the decoder writes into the fixed signature buffer of
 * struct fcm_jwt); an accepted token has a signature of at most
 * FCM_JWT_SIG_MAX bytes that re-encodes to its text (canonical base64url),
 * the signed part ends at the second dot, header and claims are objects;
 * and base64url of the whole input, when it decodes, re-encodes to itself
 * and refuses a buffer one byte short.
 *
 * Built with -DFCM_UNIT instead (no libFuzzer), main() runs the edge cases,
 * among them the 1,368-character signature that once overflowed the buffer;
 * test/auth.bats runs that under AddressSanitizer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/jwt.h"

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "jwt: check failed: %s\n", what);
		abort();
	}
}

/* s[0..n) without its trailing '=' is what a re-encoding gives. */
static int same_unpadded(const char *enc, const char *s, size_t n)
{
	while (n && s[n - 1] == '=')
		n--;
	return strlen(enc) == n && !memcmp(enc, s, n);
}

static void one(const char *tok, size_t size)
{
	struct fcm_jwt j;
	char err[256];

	err[0] = '\0';
	if (fcm_jwt_parse(tok, size, &j, err, sizeof err) == 0) {
		const char *sig = tok + j.signed_len + 1;
		char *enc;

		check(j.signed_len < size && tok[j.signed_len] == '.', "the signed part ends at a dot");
		check(j.sig_len >= 1 && j.sig_len <= FCM_JWT_SIG_MAX, "signature length");
		check(jv_get_kind(j.header) == JV_KIND_OBJECT && jv_get_kind(j.claims) == JV_KIND_OBJECT,
		    "header and claims are objects");
		enc = fcm_b64url_encode(j.sig, j.sig_len);
		check(same_unpadded(enc, sig, size - j.signed_len - 1), "the signature re-encodes to its text");
		free(enc);
		fcm_jwt_free(&j);
	} else {
		check(err[0] != '\0', "a refusal says why");
		check(!jv_is_valid(j.header) && !jv_is_valid(j.claims) && j.sig_len == 0,
		    "a refused token leaves nothing");
	}

	/* base64url of the whole input, into a buffer exactly as big as needed
	 * (heap, so ASan sees one byte too far), then one byte short. */
	size_t cap = size * 3 / 4 + 3, len = 0, len2 = 0;
	unsigned char *out = malloc(cap ? cap : 1);
	if (!out)
		return;
	if (fcm_b64url_decode(tok, size, out, cap, &len) == 0) {
		char *enc = fcm_b64url_encode(out, len);
		check(same_unpadded(enc, tok, size), "base64url round trip");
		free(enc);
		free(out);
		out = malloc(len ? len : 1);
		if (!out)
			return;
		check(fcm_b64url_decode(tok, size, out, len, &len2) == 0 && len2 == len, "decodes into exactly its size");
		if (len)
			check(fcm_b64url_decode(tok, size, out, len - 1, &len2) < 0, "refuses a buffer one byte short");
	}
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	char *tok = malloc(size ? size : 1);

	if (!tok)
		return 0;
	memcpy(tok, data, size);
	one(tok, size);
	free(tok);
	return 0;
}

#ifdef FCM_UNIT
/* A token with a signature of n characters ('A'..., canonical when n % 4 != 1
 * and the last character's unused bits are zero: 'A' is 0). */
static char *token(size_t n, const char *pad)
{
	/* {"alg":"RS256"} . {"sub":"x"} */
	static const char head[] = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.";
	size_t h = strlen(head), p = strlen(pad);
	char *t = malloc(h + n + p + 1);

	memcpy(t, head, h);
	memset(t + h, 'A', n);
	memcpy(t + h + n, pad, p);
	t[h + n + p] = '\0';
	return t;
}

static int fails;

static void expect(size_t n, const char *pad, int ok)
{
	char *t = token(n, pad);
	struct fcm_jwt j;
	char err[256] = "";
	int got = fcm_jwt_parse(t, strlen(t), &j, err, sizeof err) == 0;

	if (got != ok) {
		printf("FAIL signature of %zu characters%s: %s (%s)\n", n, *pad ? " + padding" : "",
		    got ? "accepted" : "refused", err);
		fails++;
	}
	if (got)
		fcm_jwt_free(&j);
	one(t, strlen(t));
	free(t);
}

int main(void)
{
	/* 1,024 bytes: 1,366 characters, or 1,368 with "==". */
	expect(1366, "", 1);
	expect(1366, "==", 1);
	/* One byte more: refused, never written past the buffer. */
	expect(1367, "", 0);
	expect(1368, "", 0);		/* the case that overflowed: 1,026 bytes */
	expect(1369, "", 0);		/* not base64url (n % 4 == 1) */
	expect(1370, "", 0);
	expect(1372, "", 0);
	expect(1368, "==", 0);
	expect(4000, "", 0);
	expect(1, "", 0);
	expect(2, "", 1);
	expect(0, "", 0);
	if (fails)
		return 1;
	printf("all jwt checks passed\n");
	return 0;
}
#endif
