/* client.c — placeholder: the API client (to be replaced by the term-client branch). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth/token.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "http/client.h"

#define BODY_MAX (64 * 1024 * 1024)
static const char *host_setting;	/* FCM_HOST as given */
static char *base;			/* scheme://host[:port][/prefix], no trailing '/' */
static char token[FCM_TOKEN_HEXLEN + 1];

/* --- settings ------------------------------------------------------------ */

static int loopback_host(const char *h)
{
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]") || !strcmp(h, "::1");
}

static void setup_base(void)
{
	const char *h = getenv("FCM_HOST");
	CURLU *u;
	char *host = NULL;

	if (!h || !*h)
		h = "127.0.0.1:7777";
	host_setting = h;
	if (!strncmp(h, "http://", 7) || !strncmp(h, "https://", 8))
		base = fcm_strdup(h);
	else
		base = fcm_asprintf("http://%s", h);
	while (strlen(base) > 8 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		fcm_die(FCM_E_USAGE, "FCM_HOST '%.200s' is not host:port or an http(s) URL", h);
	{
		char *q = NULL, *frag = NULL, *user = NULL;
		int extra = curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK ||
		    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK ||
		    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
		curl_free(q);
		curl_free(frag);
		curl_free(user);
		if (extra)
			fcm_die(FCM_E_USAGE, "FCM_HOST '%.200s' must be host:port or a URL without user, query or fragment", h);
	}
	if (!strncmp(base, "http://", 7) && !loopback_host(host) && !getenv("FCM_INSECURE"))
		fcm_warn("FCM_HOST %s is plain http: the token crosses the network unencrypted (use https://, or set FCM_INSECURE=1 to silence this)",
		    h);
	curl_free(host);
	curl_url_cleanup(u);
}

/* Read a token file: 64 hex digits and a newline at most.  1 found, 0 none. */
static int token_file(const char *path, int warn_perms)
{
	struct stat st;
	size_t len;
	char *text;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return 0;
	text = fcm_read_file(path, 4096, &len);
	if (!text)
		return 0;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!fcm_token_syntax_ok(text, len)) {
		explicit_bzero(text, len);
		free(text);
		fcm_die(FCM_E_USAGE, "%s does not hold a token (64 hex digits)", path);
	}
	if (warn_perms && (st.st_mode & 077))
		fcm_warn("%s is readable by others: chmod 600 %s", path, path);
	memcpy(token, text, FCM_TOKEN_HEXLEN);
	token[FCM_TOKEN_HEXLEN] = '\0';
	explicit_bzero(text, len);
	free(text);
	return 1;
}

static void setup_token(void)
{
	const char *t = getenv("FCM_TOKEN"), *home = getenv("HOME");

	if (t && *t) {
		if (!fcm_token_syntax_ok(t, strlen(t)))
			fcm_die(FCM_E_USAGE, "FCM_TOKEN is not a token (64 hex digits)");
		memcpy(token, t, FCM_TOKEN_HEXLEN + 1);
		return;
	}
	if (home && *home) {
		char *p = fcm_asprintf("%s/.fcm-token", home);
		int ok = token_file(p, 1);
		free(p);
		if (ok)
			return;
	}
	{
		char *p = fcm_path(".token");
		int ok = token_file(p, 0);
		free(p);
		if (ok)
			return;
	}
	fcm_die(FCM_E_USAGE, "no token for %s: set FCM_TOKEN or write it to ~/.fcm-token (the host's admin token is in $FCM_ROOT/.token)",
	    host_setting);
}

/* --- HTTP ------------------------------------------------------------------ */

struct body {
	char *p;
	size_t len, cap;
	int stream;		/* write a 200 body straight to stdout */
	CURL *c;
};

static size_t on_body(char *d, size_t sz, size_t n, void *cls)
{
	struct body *b = cls;
	size_t k = sz * n;

	if (b->stream) {
		long code = 0;
		curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200) {
			if (fwrite(d, 1, k, stdout) != k || fflush(stdout) != 0)
				return 0;
			return k;
		}
	}
	if (b->len + k > BODY_MAX)
		return 0;
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + k + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			fcm_die_nomem();
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, k);
	b->len += k;
	b->p[b->len] = '\0';
	return k;
}

static void curl_common(CURL *c)
{
	const char *ca = getenv("FCM_CA_CERT");

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fcm-client/" FCM_VERSION);
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
}

int fcm_client_kind_of_status(long status)
{
	switch (status) {
	case 400: case 405: case 413: return FCM_E_USAGE;
	case 401: return FCM_E_UNAUTHORIZED;
	case 403: return FCM_E_FORBIDDEN;
	case 404: return FCM_E_NOT_FOUND;
	case 409: return FCM_E_CONFLICT;
	case 503: return FCM_E_UNAVAILABLE;
	default: return FCM_E_INTERNAL;
	}
}

static int setup_done;

void fcm_client_setup(int need_token)
{
	if (setup_done)
		return;
	setup_done = 1;
	setup_base();
	if (need_token)
		setup_token();
}

const char *fcm_client_host(void)
{
	return host_setting;
}

long fcm_client_request(const char *method, const char *path, const char *body, int out_fd, jv *reply)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct body b = { 0 };
	char *url = fcm_asprintf("%s%s", base, path), *auth = fcm_asprintf("Authorization: Bearer %s", token);
	long code = 0;
	CURLcode rc;

	if (!c)
		fcm_die(FCM_E_INTERNAL, "unable to start libcurl");
	curl_common(c);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	b.stream = out_fd >= 0;
	b.c = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	if (rc == CURLE_WRITE_ERROR && b.stream && code == 200)
		exit(FCM_EXIT_TEMP);	/* stdout went away (a pipe closed) */
	if (rc != CURLE_OK) {
		char msg[512];
		snprintf(msg, sizeof msg, "unable to reach the fcm API at %s: %s", host_setting, curl_easy_strerror(rc));
		free(b.p);
		*reply = fcm_error_reply(FCM_E_UNAVAILABLE, msg);
		return 0;
	}
	*reply = b.p && b.len ? jv_parse_sized(b.p, (int)b.len) : jv_null();
	if (!jv_is_valid(*reply)) {
		char msg[256];
		jv_free(*reply);
		snprintf(msg, sizeof msg, "the fcm API at %s answered HTTP %ld", host_setting, code);
		*reply = code >= 200 && code < 300 ? jv_null() : fcm_error_reply(fcm_client_kind_of_status(code), msg);
	}
	free(b.p);
	return code;
}
