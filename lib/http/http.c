/* http.c — routing, bearer tokens, request bodies and statuses for the HTTP
 * API; pure functions (see http.h). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jv.h>

#include "core/err.h"
#include "http/http.h"
#include "core/jsonl.h"
#include "core/utf8.h"

int fcm_http_method(const char *m)
{
	if (!strcmp(m, "GET"))
		return FCM_M_GET;
	if (!strcmp(m, "HEAD"))
		return FCM_M_HEAD;
	if (!strcmp(m, "POST"))
		return FCM_M_POST;
	if (!strcmp(m, "DELETE"))
		return FCM_M_DELETE;
	return FCM_M_OTHER;
}

void fcm_http_allow(unsigned allow, char *out, size_t outlen)
{
	static const struct { unsigned m; const char *name; } names[] = {
		{ FCM_M_GET, "GET" }, { FCM_M_HEAD, "HEAD" }, { FCM_M_POST, "POST" },
		{ FCM_M_DELETE, "DELETE" },
	};
	size_t n = 0;

	if (outlen)
		out[0] = '\0';
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (allow & names[i].m) {
			int w = snprintf(out + n, outlen - n, "%s%s", n ? ", " : "", names[i].name);
			if (w < 0 || (size_t)w >= outlen - n)
				return;
			n += (size_t)w;
		}
}

#define SEG_MAX 6

int fcm_http_route(const char *method, const char *path, struct fcm_route *r,
    char *err, size_t errlen)
{
	const char *seg[SEG_MAX];
	size_t seglen[SEG_MAX], nseg = 0, plen = strlen(path);
	const char *p;
	char why[256];

	memset(r, 0, sizeof *r);
	r->method = fcm_http_method(method);
	if (plen == 0 || path[0] != '/') {
		snprintf(err, errlen, "the request path must start with '/'");
		return 400;
	}
	if (plen > FCM_API_PATH_MAX) {
		snprintf(err, errlen, "the request path is longer than %d bytes", FCM_API_PATH_MAX);
		return 400;
	}
	/* Split into segments; an empty segment ("//", a trailing "/") or
	 * more than SEG_MAX of them match no endpoint. */
	for (p = path + 1;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash ? (size_t)(slash - p) : strlen(p);
		if ((n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) {
			snprintf(err, errlen, "the request path may not have '.' or '..' segments");
			return 400;
		}
		if (n == 0 || nseg == SEG_MAX) {
			snprintf(err, errlen, "no such endpoint (see 'GET /v1/health' and doc/api.md)");
			return 404;
		}
		seg[nseg] = p;
		seglen[nseg++] = n;
		if (!slash)
			break;
		p = slash + 1;
	}
#define IS(i, s) (seglen[i] == sizeof(s) - 1 && !memcmp(seg[i], s, sizeof(s) - 1))
	if (nseg < 2 || !IS(0, "v1"))
		goto nope;
	if (nseg == 2 && IS(1, "health")) {
		r->kind = FCM_R_HEALTH;
		r->allow = FCM_M_GET | FCM_M_HEAD;
	} else if (nseg == 3 && IS(1, "auth") && IS(2, "me")) {
		r->kind = FCM_R_ME;
		r->allow = FCM_M_GET | FCM_M_HEAD;
	} else if (nseg == 3 && IS(1, "auth") && IS(2, "config")) {
		r->kind = FCM_R_AUTH_CONFIG;
		r->allow = FCM_M_GET | FCM_M_HEAD;
	} else if (nseg == 3 && IS(1, "auth") && (IS(2, "device") || IS(2, "login") || IS(2, "logout"))) {
		r->kind = IS(2, "device") ? FCM_R_AUTH_DEVICE : IS(2, "login") ? FCM_R_AUTH_LOGIN : FCM_R_AUTH_LOGOUT;
		r->allow = FCM_M_POST;
	} else if (nseg == 2 && IS(1, "commands")) {
		r->kind = FCM_R_COMMANDS;
		r->allow = FCM_M_GET | FCM_M_HEAD;
	} else if (nseg == 2 && IS(1, "session")) {
		r->kind = FCM_R_SESSION;
		r->allow = FCM_M_GET | FCM_M_HEAD | FCM_M_POST | FCM_M_DELETE;
	} else if (nseg == 4 && IS(1, "vms") && IS(3, "console")) {
		r->kind = FCM_R_CONSOLE;
		r->allow = FCM_M_GET;
		if (seglen[2] > FCM_NAME_MAX) {
			snprintf(err, errlen, "a VM name is at most %d characters", FCM_NAME_MAX);
			return 400;
		}
		memcpy(r->vm, seg[2], seglen[2]);
		r->vm[seglen[2]] = '\0';
		if (fcm_name_check(r->vm, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s", why);
			return 400;
		}
	} else {
		goto nope;
	}
#undef IS
	if (!(r->method & r->allow)) {
		char allow[64];
		fcm_http_allow(r->allow, allow, sizeof allow);
		snprintf(err, errlen, "method %.16s%s is not allowed here: use %s",
		    method, strlen(method) > 16 ? "..." : "", allow);
		return 405;
	}
	return 0;
nope:
	snprintf(err, errlen, "no such endpoint (see 'GET /v1/health' and doc/api.md)");
	return 404;
}

int fcm_http_bearer(const char *hdr, const char **tok, size_t *len)
{
	const char *p = hdr, *end;

	if (strncasecmp(p, "Bearer", 6) || (p[6] != ' ' && p[6] != '\t'))
		return -1;
	p += 6;
	while (*p == ' ' || *p == '\t')
		p++;
	end = p;
	while (*end && *end != ' ' && *end != '\t')
		end++;
	for (const char *q = end; *q; q++)
		if (*q != ' ' && *q != '\t')
			return -1;
	if (end == p)
		return -1;
	*tok = p;
	*len = (size_t)(end - p);
	return 0;
}

/* The one table of kinds and HTTP statuses. */
static const struct {
	int kind;
	int status;
} statuses[] = {
	{ FCM_E_USAGE, 400 },
	{ FCM_E_UNAUTHORIZED, 401 },
	{ FCM_E_FORBIDDEN, 403 },
	{ FCM_E_NOT_FOUND, 404 },
	{ FCM_E_CONFLICT, 409 },
	{ FCM_E_UNAVAILABLE, 503 },
	{ FCM_E_INTERNAL, 500 },
};

int fcm_http_status_of(int kind)
{
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (statuses[i].kind == kind)
			return statuses[i].status;
	return 500;
}

int fcm_http_kind_of(int status)
{
	for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
		if (statuses[i].status == status)
			return statuses[i].kind;
	return status >= 400 && status < 500 ? FCM_E_USAGE : FCM_E_INTERNAL;
}

int fcm_http_listen_parse(const char *s, void *out, unsigned *outlen, int *v6,
    char *err, size_t errlen)
{
	char host[64];
	const char *colon, *h = s;
	size_t hn;
	char *end;
	long port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			goto bad;
		h = s + 1;
		hn = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			goto bad;
		hn = (size_t)(colon - s);
	}
	if (hn == 0 || hn >= sizeof host)
		goto bad;
	memcpy(host, h, hn);
	host[hn] = '\0';
	port = strtol(colon + 1, &end, 10);
	if (!colon[1] || *end || port < 0 || port > 65535 || colon[1] == '-' || colon[1] == '+')
		goto bad;
	memset(out, 0, sizeof(struct sockaddr_in6));
	if (s[0] != '[') {
		struct sockaddr_in *sin = out;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			goto bad;
		*outlen = sizeof *sin;
		*v6 = 0;
	} else {
		struct sockaddr_in6 *sin6 = out;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			goto bad;
		*outlen = sizeof *sin6;
		*v6 = 1;
	}
	return 0;
bad:
	snprintf(err, errlen, "bad listen address '%.80s': use IPv4:PORT (127.0.0.1:7777) or [IPv6]:PORT", s);
	return -1;
}

void fcm_http_log_safe(const char *s, size_t max, char *out, size_t outlen)
{
	size_t o = 0, i;

	if (!outlen)
		return;
	for (i = 0; s[i] && i < max && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\') {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (s[i] && i == max && o + 3 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}
