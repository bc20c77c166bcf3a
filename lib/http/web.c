/* web.c — paths, cookies and CSRF tokens of the web dashboard (web.h). */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "http/web.h"

const char fcm_web_csp[] =
    "default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; font-src 'self'; manifest-src 'self'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const char *fcm_web_file(const char *path, const char **ctype)
{
	static const char assets[] = "/assets/";
	const char *name, *dot;
	size_t n;

	if (!strcmp(path, "/") || !strcmp(path, "/login")) {
		*ctype = "text/html; charset=utf-8";
		return "index.html";
	}
	if (strncmp(path, assets, sizeof assets - 1))
		return NULL;
	name = path + sizeof assets - 1;
	n = strlen(name);
	if (n == 0 || n > 64 || name[0] == '.' ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789.-_") != n)
		return NULL;
	dot = strrchr(name, '.');
	if (!dot)
		return NULL;
	if (!strcmp(dot, ".js"))
		*ctype = "text/javascript; charset=utf-8";
	else if (!strcmp(dot, ".css"))
		*ctype = "text/css; charset=utf-8";
	else if (!strcmp(dot, ".svg"))
		*ctype = "image/svg+xml";
	else if (!strcmp(dot, ".png"))
		*ctype = "image/png";
	else
		return NULL;
	return path + 1;	/* "assets/NAME" */
}

int fcm_web_cookie(const char *hdr, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);

	while (hdr && *hdr) {
		while (*hdr == ' ' || *hdr == '\t' || *hdr == ';')
			hdr++;
		const char *end = strchr(hdr, ';');
		size_t n = end ? (size_t)(end - hdr) : strlen(hdr);
		if (n > nl && hdr[nl] == '=' && !strncmp(hdr, name, nl)) {
			size_t vl = n - nl - 1;
			while (vl && (hdr[nl + 1 + vl - 1] == ' ' || hdr[nl + 1 + vl - 1] == '\t'))
				vl--;
			if (vl + 1 > outlen)
				return 0;
			memcpy(out, hdr + nl + 1, vl);
			out[vl] = '\0';
			return 1;
		}
		hdr += n;
	}
	return 0;
}

int fcm_web_session_parse(const char *value, int *minted, const char **tok, size_t *len)
{
	if ((value[0] != 't' && value[0] != 'm') || value[1] != '.' || !value[2])
		return -1;
	*minted = value[0] == 'm';
	*tok = value + 2;
	*len = strlen(value + 2);
	return 0;
}

int fcm_web_csrf(const char *tok, size_t len, char *out)
{
	static const char label[] = "fcm-web-csrf-v1:";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) &&
	    EVP_DigestUpdate(ctx, label, sizeof label - 1) && EVP_DigestUpdate(ctx, tok, len) &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) && mdlen == 32;

	EVP_MD_CTX_free(ctx);
	if (!ok)
		return -1;
	for (unsigned i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	return 0;
}

int fcm_web_csrf_ok(const char *tok, size_t len, const char *presented)
{
	char want[FCM_WEB_CSRF_HEXLEN + 1];

	if (!presented || strlen(presented) != FCM_WEB_CSRF_HEXLEN || fcm_web_csrf(tok, len, want) < 0)
		return 0;
	return CRYPTO_memcmp(want, presented, FCM_WEB_CSRF_HEXLEN) == 0;
}

int fcm_web_same_origin(const char *origin, const char *host)
{
	const char *rest;

	if (!origin || !host || !*host)
		return 0;
	if (!strncmp(origin, "https://", 8))
		rest = origin + 8;
	else if (!strncmp(origin, "http://", 7))
		rest = origin + 7;
	else
		return 0;
	return !strcmp(rest, host);
}
