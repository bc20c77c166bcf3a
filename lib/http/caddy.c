/* caddy.c — Caddy's admin API over libcurl (caddy.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http/caddy.h"
#include "core/err.h"
#include "core/paths.h"

#define RESP_MAX (16L * 1024 * 1024)

const char *fcm_caddy_admin(void)
{
	static char *def;
	const char *a = getenv("FCM_CADDY_ADMIN");

	if (a && *a)
		return a;
	if (!def)
		def = fcm_asprintf("unix/%s/caddy/admin.sock", fcm_root());
	return def;
}

static int sane(const char *s)
{
	if (strlen(s) > 200)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '"' || *s == '\\')
			return 0;
	return 1;
}

/* Split the endpoint into a base URL and a socket path (or NULL). */
static int parse(char **url, char **sock, char *err, size_t errlen)
{
	const char *a = fcm_caddy_admin();

	*url = *sock = NULL;
	if (!sane(a))
		goto bad;
	if (!strncmp(a, "unix//", 6)) {
		if (a[6] == '\0' || a[5] != '/')
			goto bad;
		*sock = fcm_strdup(a + 5);
		*url = fcm_strdup("http://localhost");
		return 0;
	}
	if (!strncmp(a, "https://", 8))
		goto bad;
	if (!strncmp(a, "http://", 7))
		a += 7;
	if (!*a || strchr(a, '/') || !strchr(a, ':'))
		goto bad;
	*url = fcm_asprintf("http://%s", a);
	return 0;
bad:
	snprintf(err, errlen, "FCM_CADDY_ADMIN must be http://HOST:PORT or unix//PATH (Caddy's admin endpoint), not '%.80s'",
	    fcm_caddy_admin());
	return -1;
}

char *fcm_caddy_listen(char *err, size_t errlen)
{
	char *url, *sock, *r;

	if (parse(&url, &sock, err, errlen) < 0)
		return NULL;
	r = sock ? fcm_asprintf("unix/%s", sock) : fcm_strdup(url + 7);
	free(url);
	free(sock);
	return r;
}

struct buf {
	char *p;
	size_t n;
	int big;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t len = size * nmemb;
	char *q;

	if (b->n + len > (size_t)RESP_MAX) {
		b->big = 1;
		return 0;
	}
	if (!(q = realloc(b->p, b->n + len + 1)))
		return 0;
	b->p = q;
	memcpy(b->p + b->n, data, len);
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

long fcm_caddy_request(const char *method, const char *path, const char *body,
    char **resp, char *err, size_t errlen)
{
	char *base, *sock, *url, ebuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *h = NULL;
	struct buf b = { NULL, 0, 0 };
	long status = -1;
	CURLcode rc;
	CURL *c;

	*resp = NULL;
	if (parse(&base, &sock, err, errlen) < 0)
		return -1;
	if (!(c = curl_easy_init()))
		fcm_die(FCM_E_INTERNAL, "unable to initialise libcurl");
	url = fcm_asprintf("%s%s", base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (sock) {
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
		/* Caddy allows only an empty Host on its unix socket. */
		h = curl_slist_append(h, "Host;");
	}
	if (body) {
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		*resp = b.p ? b.p : fcm_strdup("");
		b.p = NULL;
	} else if (b.big) {
		snprintf(err, errlen, "Caddy's admin API at %s answered %s %s with more than %ld bytes",
		    fcm_caddy_admin(), method, path, RESP_MAX);
	} else if (rc == CURLE_COULDNT_CONNECT) {
		status = -2;
		snprintf(err, errlen, "Caddy is not running: nothing answers at its admin endpoint %s (%s); start it ('fcm daemon' runs it) or point FCM_CADDY_ADMIN at it",
		    fcm_caddy_admin(), *ebuf ? ebuf : curl_easy_strerror(rc));
	} else {
		snprintf(err, errlen, "unable to talk to Caddy's admin API at %s: %s",
		    fcm_caddy_admin(), *ebuf ? ebuf : curl_easy_strerror(rc));
	}
	free(b.p);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	free(base);
	free(sock);
	return status;
}
