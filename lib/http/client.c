/* client.c — the one client of fcm's HTTP API (lib/http/client.h). */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "auth/token.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "http/client.h"
#include "http/ws.h"

#define HOST_DEFAULT "127.0.0.1:7777"
#define BODY_MAX (64 * 1024 * 1024)
#define CONNECT_TIMEOUT 15L
#define REQUEST_TIMEOUT 1000L
#define UPGRADE_TIMEOUT 120

static struct {
	int ready;
	const char *given;		/* fcm_client_set_host() */
	char *host;			/* as the user gave it */
	char *base;			/* scheme://host[:port][/prefix], no trailing '/' */
	char *hostport;			/* host[:port], for the upgrade's Host: */
	char *prefix;			/* the URL's path, no trailing '/' ("" for none) */
	char token[FCM_TOKEN_HEXLEN + 1];
	int from;
} S;

/* --- settings ------------------------------------------------------------- */

static int loopback(const char *h)
{
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]") || !strcmp(h, "::1");
}

static void setup_host(void)
{
	const char *what = S.given ? "--host" : "FCM_HOST";
	const char *h = S.given ? S.given : getenv("FCM_HOST");
	char *host = NULL, *port = NULL, *path = NULL, *extra[3] = { NULL, NULL, NULL };
	CURLU *u = curl_url();
	size_t n;

	if (h && *h)
		S.host = fcm_strdup(h);
	else if (!(S.host = fcm_saved_host()))
		S.host = fcm_strdup(HOST_DEFAULT);
	S.base = strncmp(S.host, "http://", 7) && strncmp(S.host, "https://", 8) ?
	    fcm_asprintf("http://%s", S.host) : fcm_strdup(S.host);
	while ((n = strlen(S.base)) > 8 && S.base[n - 1] == '/')
		S.base[n - 1] = '\0';
	if (!u || curl_url_set(u, CURLUPART_URL, S.base, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		fcm_die(FCM_E_USAGE, "%s '%.200s' is not host:port or an http(s) URL", what, S.host);
	if (curl_url_get(u, CURLUPART_QUERY, &extra[0], 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &extra[1], 0) == CURLUE_OK ||
	    curl_url_get(u, CURLUPART_USER, &extra[2], 0) == CURLUE_OK)
		fcm_die(FCM_E_USAGE, "%s '%.200s' must be host:port or a URL without user, query or fragment",
		    what, S.host);
	S.hostport = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK ?
	    fcm_asprintf("%s:%s", host, port) : fcm_strdup(host);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	S.prefix = fcm_strdup(path ? path : "");
	while ((n = strlen(S.prefix)) && S.prefix[n - 1] == '/')
		S.prefix[n - 1] = '\0';
	if (!strncmp(S.base, "http://", 7) && !loopback(host) && !getenv("FCM_INSECURE"))
		fcm_warn("%s %s is plain http: the token crosses the network unencrypted (use https://, or set FCM_INSECURE=1 to silence this)",
		    what, S.host);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
}

/* A token file: 64 hex digits and a newline at most.  1 found, 0 none. */
static int token_file(const char *path, int from)
{
	struct stat st;
	size_t len;
	char *text;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0 || !(text = fcm_read_file(path, 4096, &len)))
		return 0;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!fcm_token_syntax_ok(text, len))
		fcm_die(FCM_E_USAGE, "%s does not hold a token (64 hex digits)%s", path,
		    from == FCM_CLIENT_TOKEN_HOME ? ": remove it and run 'fcm login'" : "");
	if (from == FCM_CLIENT_TOKEN_HOME && (st.st_mode & 077))
		fcm_warn("%s is readable by others: chmod 600 %s", path, path);
	memcpy(S.token, text, FCM_TOKEN_HEXLEN + 1);
	explicit_bzero(text, len);
	free(text);
	S.from = from;
	return 1;
}

static void setup_token(int need)
{
	const char *t = getenv("FCM_TOKEN"), *home = getenv("HOME");
	char *p;

	if (t && *t) {
		if (!fcm_token_syntax_ok(t, strlen(t)))
			fcm_die(FCM_E_USAGE, "FCM_TOKEN is not a token (64 hex digits)");
		memcpy(S.token, t, FCM_TOKEN_HEXLEN + 1);
		S.from = FCM_CLIENT_TOKEN_ENV;
		return;
	}
	if (home && *home) {
		p = fcm_asprintf("%s/.fcm-token", home);
		int found = token_file(p, FCM_CLIENT_TOKEN_HOME);
		free(p);
		if (found)
			return;
	}
	p = fcm_path(".token");
	token_file(p, FCM_CLIENT_TOKEN_ROOT);
	free(p);
	if (!S.from && need)
		fcm_die(FCM_E_USAGE, "no token for %s: set FCM_TOKEN or write it to ~/.fcm-token (the host's admin token is in $FCM_ROOT/.token)",
		    S.host);
}

int fcm_remote_mode(void)
{
	const char *h = getenv("FCM_HOST");

	return (h && *h) || geteuid() != 0;
}

void fcm_client_set_host(const char *host)
{
	S.given = host && *host ? host : NULL;
}

void fcm_client_setup(int need_token)
{
	if (S.ready)
		return;
	setup_host();
	if (need_token != FCM_CLIENT_ANONYMOUS)
		setup_token(need_token);
	S.ready = 1;
}

const char *fcm_client_host(void)
{
	return S.host ? S.host : HOST_DEFAULT;
}

int fcm_client_token_from(void)
{
	return S.from;
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

/* --- replies --------------------------------------------------------------- */

static jv error_reply(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static jv error_reply(int kind, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return fcm_error_reply(kind, msg);
}

/* The reply for a body (may be NULL) with an HTTP status.  Sets *status to 0
 * when a 2xx body is not JSON. */
static jv reply_of(long *status, const char *p, size_t n)
{
	jv v = n ? jv_parse_sized(p, (int)n) : jv_null();
	int ok = *status >= 200 && *status <= 299;

	if (ok && !jv_is_valid(v)) {
		jv_free(v);
		v = error_reply(FCM_E_INTERNAL, "the fcm API at %s answered HTTP %ld with a reply that is not JSON",
		    S.host, *status);
		*status = 0;
	} else if (!ok) {
		int kind = fcm_client_kind_of_status(*status);
		if (jv_get_kind(v) != JV_KIND_OBJECT) {
			jv_free(v);
			v = jv_object();
		}
		v = jv_object_set(v, jv_string("ok"), jv_false());
		if (!fcm_get_str(v, "kind"))
			v = jv_object_set(v, jv_string("kind"), jv_string(fcm_kind_name(kind)));
		if (!fcm_get_str(v, "error"))
			v = jv_object_set(v, jv_string("error"),
			    jv_string_fmt("the fcm API at %s answered HTTP %ld", S.host, *status));
	}
	return v;
}

static jv unreachable(CURLcode rc)
{
	return error_reply(FCM_E_UNAVAILABLE, "unable to reach the fcm API at %s: %s", S.host, curl_easy_strerror(rc));
}

/* --- requests -------------------------------------------------------------- */

struct body {
	char *p;
	size_t len, cap;
	int out_fd;		/* a 2xx body goes there */
	int out_errno;		/* writing it failed */
	CURL *c;
};

static size_t on_body(char *d, size_t sz, size_t nm, void *cls)
{
	struct body *b = cls;
	size_t k = sz * nm;
	long code = 0;

	if (b->out_fd >= 0 && curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &code) == CURLE_OK &&
	    code >= 200 && code <= 299) {
		for (size_t off = 0; off < k;) {
			ssize_t w = write(b->out_fd, d + off, k - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				b->out_errno = w < 0 ? errno : EIO;
				return 0;
			}
			off += (size_t)w;
		}
		return k;
	}
	if (b->len + k > BODY_MAX)
		return 0;
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		char *np;
		while (cap < b->len + k + 1)
			cap *= 2;
		if (!(np = realloc(b->p, cap)))
			fcm_die_nomem();
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, k);
	b->len += k;
	return k;
}

static CURL *easy(void)
{
	const char *ca = getenv("FCM_CA_CERT");
	CURL *c;

	if (!S.ready)
		fcm_die(FCM_E_BUG, "fcm_client_setup was not called");
	if (!(c = curl_easy_init()))
		fcm_die(FCM_E_INTERNAL, "unable to start libcurl");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fcm/" FCM_VERSION);
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	return c;
}

static char *bearer(void)
{
	return S.from ? fcm_asprintf("Authorization: Bearer %s", S.token) : NULL;
}

static void forget(char *secret)
{
	if (secret) {
		explicit_bzero(secret, strlen(secret));
		free(secret);
	}
}

long fcm_client_request(const char *method, const char *path, const char *body, int out_fd, jv *reply)
{
	CURL *c = easy();
	struct curl_slist *h = NULL;
	struct body b = { .out_fd = out_fd, .c = c };
	char *url = fcm_asprintf("%s%s", S.base, path), *auth = bearer();
	long status = 0;
	CURLcode rc;

	if (auth)
		h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (out_fd < 0)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, REQUEST_TIMEOUT);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	forget(auth);
	free(url);
	if (b.out_errno) {
		*reply = error_reply(FCM_E_INTERNAL, "unable to write the reply: %s", strerror(b.out_errno));
		status = 0;
	} else if (rc != CURLE_OK) {
		*reply = unreachable(rc);
		status = 0;
	} else {
		*reply = reply_of(&status, b.p, b.len);
	}
	if (b.p)
		explicit_bzero(b.p, b.len);	/* a login's reply holds a token */
	free(b.p);
	return status;
}

/* --- WebSocket connections ------------------------------------------------- */

struct fcm_client_conn {
	CURL *c;
	curl_socket_t fd;
};

static long now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void wait_fd(const struct fcm_client_conn *k, short ev)
{
	struct pollfd p = { .fd = k->fd, .events = ev };

	poll(&p, 1, 1000);
}

/* Send all of p within the deadline.  0 or -1. */
static int send_all(struct fcm_client_conn *k, const char *p, size_t n, long deadline)
{
	while (n) {
		long w = fcm_client_conn_send(k, p, n);
		if (w < 0 || now_s() > deadline)
			return -1;
		if (!w)
			wait_fd(k, POLLOUT);
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Receive the reply head byte by byte up to its blank line (so that the
 * frames after it stay unread).  Its length, or -1. */
static long recv_head(struct fcm_client_conn *k, char *head, size_t cap, long deadline)
{
	size_t n = 0;

	while (n < cap - 1) {
		long r = fcm_client_conn_recv(k, head + n, 1);
		if (r < 0 && errno == EAGAIN && now_s() <= deadline) {
			wait_fd(k, POLLIN);
			continue;
		}
		if (r <= 0)
			return -1;
		if (++n >= 4 && !memcmp(head + n - 4, "\r\n\r\n", 4)) {
			head[n] = '\0';
			return (long)n;
		}
	}
	return -1;
}

/* The reply to a refused upgrade: its body (Content-Length, at most 64 KiB). */
static jv refused(struct fcm_client_conn *k, long status, const char *head, long deadline)
{
	const char *cl = strcasestr(head, "\r\nContent-Length:");
	size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0, n = 0;
	char *p;
	jv v;

	if (want > 65536)
		want = 65536;
	p = fcm_malloc(want + 1);
	while (n < want) {
		long r = fcm_client_conn_recv(k, p + n, want - n);
		if (r < 0 && errno == EAGAIN && now_s() <= deadline) {
			wait_fd(k, POLLIN);
			continue;
		}
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	v = reply_of(&status, p, n);
	free(p);
	return v;
}

struct fcm_client_conn *fcm_client_upgrade(const char *path, jv *reply)
{
	struct fcm_client_conn *k = fcm_malloc(sizeof *k);
	char key[25], accept[29], head[16384], *req, *auth = bearer();
	const char *acc;
	long deadline, status = 0;
	CURLcode rc;

	k->c = easy();
	curl_easy_setopt(k->c, CURLOPT_URL, S.base);
	curl_easy_setopt(k->c, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(k->c);
	if (rc != CURLE_OK) {
		*reply = unreachable(rc);
		goto fail;
	}
	if (curl_easy_getinfo(k->c, CURLINFO_ACTIVESOCKET, &k->fd) != CURLE_OK || k->fd == CURL_SOCKET_BAD)
		fcm_die(FCM_E_INTERNAL, "libcurl gave no socket");
	if (fcm_ws_key_new(key) < 0 || fcm_ws_accept(key, accept) < 0)
		fcm_die(FCM_E_INTERNAL, "unable to make a WebSocket key");
	req = fcm_asprintf("GET %s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fcm/%s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n%s%s\r\n",
	    S.prefix, path, S.hostport, FCM_VERSION, key, auth ? auth : "", auth ? "\r\n" : "");
	deadline = now_s() + CONNECT_TIMEOUT;
	rc = send_all(k, req, strlen(req), deadline) < 0 ? CURLE_SEND_ERROR : CURLE_OK;
	forget(req);
	if (rc != CURLE_OK) {
		*reply = unreachable(rc);
		goto fail;
	}
	deadline = now_s() + UPGRADE_TIMEOUT;	/* starting a session may take a while */
	if (recv_head(k, head, sizeof head, deadline) < 0 || sscanf(head, "HTTP/1.%*d %ld", &status) != 1) {
		*reply = error_reply(FCM_E_UNAVAILABLE, "the fcm API at %s gave no answer to the console request", S.host);
		goto fail;
	}
	if (status != 101) {
		*reply = refused(k, status, head, deadline);
		goto fail;
	}
	acc = strcasestr(head, "\r\nSec-WebSocket-Accept:");
	if (acc)
		acc += strspn(acc + 23, " \t") + 23;
	if (!acc || strncmp(acc, accept, 28)) {
		*reply = error_reply(FCM_E_INTERNAL, "the fcm API at %s upgraded without the right Sec-WebSocket-Accept",
		    S.host);
		goto fail;
	}
	forget(auth);
	*reply = jv_null();
	return k;
fail:
	forget(auth);
	fcm_client_conn_close(k);
	return NULL;
}

int fcm_client_conn_fd(const struct fcm_client_conn *k)
{
	return (int)k->fd;
}

long fcm_client_conn_send(struct fcm_client_conn *k, const void *p, size_t n)
{
	size_t sent = 0;
	CURLcode rc = curl_easy_send(k->c, p, n, &sent);

	if (rc == CURLE_AGAIN)
		return 0;
	return rc == CURLE_OK ? (long)sent : -1;
}

long fcm_client_conn_recv(struct fcm_client_conn *k, void *p, size_t n)
{
	size_t got = 0;
	CURLcode rc = curl_easy_recv(k->c, p, n, &got);

	if (rc == CURLE_AGAIN) {
		errno = EAGAIN;
		return -1;
	}
	if (rc != CURLE_OK) {
		errno = EIO;
		return -1;
	}
	return (long)got;
}

void fcm_client_conn_close(struct fcm_client_conn *k)
{
	if (!k)
		return;
	curl_easy_cleanup(k->c);
	free(k);
}

/* --- the login's files -------------------------------------------------------- */

char *fcm_client_token_path(void)
{
	const char *home = getenv("HOME");

	if (!home || home[0] != '/')
		fcm_die(FCM_E_USAGE, "HOME is not set: it says where ~/.fcm-token goes");
	return fcm_asprintf("%s/.fcm-token", home);
}

int fcm_client_token_save(const char *token, const char *host)
{
	char *path = fcm_client_token_path(), *hpath = fcm_asprintf("%s/.fcm-host", getenv("HOME"));
	char *line = fcm_asprintf("%s\n", token), *hline = fcm_asprintf("%s\n", host);
	int r = fcm_write_atomic(path, line, strlen(line), 0600);

	if (r == 0)
		r = fcm_write_atomic(hpath, hline, strlen(hline), 0644);
	forget(line);
	free(path);
	free(hpath);
	free(hline);
	return r;
}
