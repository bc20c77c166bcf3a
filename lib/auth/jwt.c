/* jwt.c — base64url and JWT splitting (lib/auth/jwt.h).  Pure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "auth/jwt.h"

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int fcm_b64url_decode(const char *s, size_t n, unsigned char *out, size_t outmax, size_t *outlen)
{
	unsigned acc = 0;
	int bits = 0;
	size_t o = 0;

	while (n && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int v = b64val((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o == outmax)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	/* Leftover bits must be zero (canonical encoding). */
	if (bits && (acc & ((1u << bits) - 1)))
		return -1;
	*outlen = o;
	return 0;
}

char *fcm_b64url_encode(const unsigned char *p, size_t n)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = fcm_malloc(n / 3 * 4 + 5), *o = out;
	size_t i = 0;

	for (; i + 2 < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
		*o++ = tab[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
	} else if (n - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		*o++ = tab[v >> 18];
		*o++ = tab[(v >> 12) & 63];
		*o++ = tab[(v >> 6) & 63];
	}
	*o = '\0';
	return out;
}

/* A base64url part holding a JSON object. */
static jv json_part(const char *s, size_t n, const char *what, char *err, size_t errlen)
{
	size_t cap = n * 3 / 4 + 3, len = 0;
	unsigned char *buf = fcm_malloc(cap);
	jv v;

	if (fcm_b64url_decode(s, n, buf, cap, &len) < 0) {
		free(buf);
		snprintf(err, errlen, "the token's %s is not base64url", what);
		return jv_invalid();
	}
	v = jv_parse_sized((const char *)buf, (int)len);
	free(buf);
	if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		snprintf(err, errlen, "the token's %s is not a JSON object", what);
		return jv_invalid();
	}
	return v;
}

int fcm_jwt_parse(const char *tok, size_t len, struct fcm_jwt *j, char *err, size_t errlen)
{
	const char *d1, *d2;

	j->header = jv_invalid();
	j->claims = jv_invalid();
	j->signed_len = j->sig_len = 0;
	if (len == 0 || len > FCM_JWT_MAX) {
		snprintf(err, errlen, "the token is %s", len ? "too long" : "empty");
		return -1;
	}
	if (memchr(tok, '\0', len)) {
		snprintf(err, errlen, "the token is not a JWT (header.payload.signature)");
		return -1;
	}
	d1 = memchr(tok, '.', len);
	d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - tok)) : NULL;
	if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - tok))) {
		snprintf(err, errlen, "the token is not a JWT (header.payload.signature)");
		return -1;
	}
	size_t slen = len - (size_t)(d2 + 1 - tok);
	/* The decoder stops at sizeof j->sig: a longer signature (e.g. 1,368
	 * characters, 1,026 bytes) is refused, never written past the buffer. */
	if (slen == 0 || fcm_b64url_decode(d2 + 1, slen, j->sig, sizeof j->sig, &j->sig_len) < 0) {
		snprintf(err, errlen, "the token's signature is %s", slen ? "not base64url of a signature" : "missing");
		return -1;
	}
	j->header = json_part(tok, (size_t)(d1 - tok), "header", err, errlen);
	if (!jv_is_valid(j->header))
		goto bad;
	j->claims = json_part(d1 + 1, (size_t)(d2 - d1 - 1), "payload", err, errlen);
	if (!jv_is_valid(j->claims))
		goto bad;
	j->signed_len = (size_t)(d2 - tok);
	return 0;
bad:
	fcm_jwt_free(j);
	return -1;
}

void fcm_jwt_free(struct fcm_jwt *j)
{
	jv_free(j->header);
	jv_free(j->claims);
	j->header = jv_invalid();
	j->claims = jv_invalid();
	j->signed_len = j->sig_len = 0;
}
