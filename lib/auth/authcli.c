/* authcli.c — the client side of logins (lib/auth/authcli.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/atomic.h"
#include "auth/authcli.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "auth/token.h"

#define REPLY_MAX (1024 * 1024)

char *fcm_cli_base(const char *host, const char **shown)
{
	CURLU *u;
	char *b, *h = NULL;

	if (!host || !*host)
		host = getenv("FCM_HOST");
	if (!host || !*host)
		host = "127.0.0.1:7777";
	*shown = host;
	if (!strncmp(host, "http://", 7) || !strncmp(host, "https://", 8))
		b = fcm_strdup(host);
	else
		b = fcm_asprintf("http://%s", host);
	while (strlen(b) > 8 && b[strlen(b) - 1] == '/')
		b[strlen(b) - 1] = '\0';
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, b, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK)
		fcm_die(FCM_E_USAGE, "the host '%.200s' is not host:port or an http(s) URL", host);
	curl_free(h);
	curl_url_cleanup(u);
	return b;
}

char *fcm_cli_token_path(void)
{
	const char *home = getenv("HOME");

	if (!home || home[0] != '/')
		fcm_die(FCM_E_USAGE, "HOME is not set: it says where ~/.fcm-token goes");
	return fcm_asprintf("%s/.fcm-token", home);
}

int fcm_cli_token(char tok[FCM_TOKEN_HEXLEN + 1], int *from_file)
{
	const char *t = getenv("FCM_TOKEN");
	char *path, *text;
	size_t len = 0;

	*from_file = 0;
	if (t && *t) {
		if (!fcm_token_syntax_ok(t, strlen(t)))
			fcm_die(FCM_E_USAGE, "FCM_TOKEN is not a token (64 hex digits)");
		memcpy(tok, t, FCM_TOKEN_HEXLEN + 1);
		return 1;
	}
	path = fcm_cli_token_path();
	text = fcm_read_file(path, 4096, &len);
	if (!text) {
		free(path);
		return 0;
	}
	while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!fcm_token_syntax_ok(text, len))
		fcm_die(FCM_E_USAGE, "%s does not hold a token (64 hex digits): remove it and run 'fcm login'", path);
	memcpy(tok, text, FCM_TOKEN_HEXLEN);
	tok[FCM_TOKEN_HEXLEN] = '\0';
	explicit_bzero(text, len);
	free(text);
	free(path);
	*from_file = 1;
	return 1;
}

int fcm_cli_token_save(const char *tok, const char *host)
{
	char *path = fcm_cli_token_path();
	char *line = fcm_asprintf("%s\n", tok);
	char *hpath = fcm_asprintf("%s/.fcm-host", getenv("HOME"));
	char *hline = fcm_asprintf("%s\n", host);
	int r = fcm_write_atomic(path, line, strlen(line), 0600);
	int e = errno;

	if (r == 0)
		r = fcm_write_atomic(hpath, hline, strlen(hline), 0644);
	else
		errno = e;
	explicit_bzero(line, strlen(line));
	free(line);
	free(path);
	free(hpath);
	free(hline);
	return r;
}

struct buf {
	char *p;
	size_t len;
};

static size_t on_data(char *d, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;
	size_t k = size * n;
	char *np;

	if (b->len + k > REPLY_MAX || !(np = realloc(b->p, b->len + k + 1)))
		return 0;
	b->p = np;
	memcpy(b->p + b->len, d, k);
	b->len += k;
	b->p[b->len] = '\0';
	return k;
}

jv fcm_cli_request(const char *base, const char *method, const char *path, const char *tok,
    jv body, long *status, char *err, size_t errlen)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct buf b = { 0 };
	char *url = fcm_asprintf("%s%s", base, path), *auth = NULL, *data = NULL;
	const char *ca = getenv("FCM_CA_CERT");
	CURLcode cc;
	jv v = jv_invalid();

	*status = 0;
	if (!c)
		fcm_die_nomem();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	h = curl_slist_append(h, "Accept: application/json");
	if (tok) {
		auth = fcm_asprintf("Authorization: Bearer %s", tok);
		h = curl_slist_append(h, auth);
	}
	if (jv_is_valid(body)) {
		jv s = jv_dump_string(body, 0);
		data = fcm_strdup(jv_string_value(s));
		jv_free(s);
		h = curl_slist_append(h, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	} else {
		jv_free(body);
		if (!strcmp(method, "POST"))
			curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_cleanup(c);
	curl_slist_free_all(h);
	if (cc != CURLE_OK) {
		snprintf(err, errlen, "unable to reach the fcm host at %.200s: %s", base, curl_easy_strerror(cc));
	} else {
		v = b.p ? jv_parse_sized(b.p, (int)b.len) : jv_invalid();
		if (!jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			v = jv_invalid();
			snprintf(err, errlen, "the fcm host at %.200s answered HTTP %ld without JSON: is it an fcm API?", base, *status);
		}
	}
	if (auth) {
		explicit_bzero(auth, strlen(auth));
		free(auth);
	}
	if (data) {
		explicit_bzero(data, strlen(data));
		free(data);
	}
	if (b.p) {
		explicit_bzero(b.p, b.len);
		free(b.p);
	}
	free(url);
	return v;
}
