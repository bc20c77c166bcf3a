/* http.h — the pure parts of fcm's HTTP API (doc/api.md), shared by fcm-api,
 * its client and the fuzz targets: routing the API's own endpoints (the
 * commands route themselves: lib/cmd), reading a bearer token, and the one
 * table of error kinds and HTTP statuses.  No I/O here. */
#ifndef FCM_HTTP_H
#define FCM_HTTP_H

#include <stddef.h>

#include "core/name.h"
#include "auth/token.h"

#define FCM_API_LISTEN_DEFAULT "127.0.0.1:7777"
#define FCM_API_BODY_MAX (64 * 1024)
#define FCM_API_PATH_MAX 512

enum fcm_http_method {
	FCM_M_GET = 1,
	FCM_M_HEAD = 2,
	FCM_M_POST = 4,
	FCM_M_DELETE = 8,
	FCM_M_OTHER = 16,
};

enum fcm_route_kind {
	FCM_R_HEALTH = 1,	/* GET  /v1/health */
	FCM_R_ME,		/* GET  /v1/auth/me */
	FCM_R_CONSOLE,		/* GET  /v1/vms/{vm}/console (WebSocket) */
	FCM_R_AUTH_CONFIG,	/* GET  /v1/auth/config (no token) */
	FCM_R_AUTH_DEVICE,	/* POST /v1/auth/device (no token) */
	FCM_R_AUTH_LOGIN,	/* POST /v1/auth/login (no token) */
	FCM_R_AUTH_LOGOUT,	/* POST /v1/auth/logout */
	FCM_R_CMD,		/* a command's route (lib/cmd/cmd.h) */
	FCM_R_COMMANDS,		/* GET  /v1/commands: the commands' definitions */
	FCM_R_SESSION,		/* GET/POST/DELETE /v1/session (the dashboard's, doc/web.md) */
};

struct fcm_route {
	int kind;
	int method;		/* enum fcm_http_method */
	unsigned allow;		/* methods the path allows (for 405 and Allow:) */
	char vm[FCM_NAME_MAX + 1];	/* name or id, checked */
};

int fcm_http_method(const char *m);
/* "GET, HEAD" etc. for an Allow header. */
void fcm_http_allow(unsigned allow, char *out, size_t outlen);

/* Route a request: method and path (percent-decoded, without the query).
 * 0 with r filled, or an HTTP status (400 a malformed path or VM name, 404
 * no such endpoint, 405 a method the path does not allow) with a sentence in
 * err.  Pure. */
int fcm_http_route(const char *method, const char *path, struct fcm_route *r,
    char *err, size_t errlen);

/* The token of an Authorization header "Bearer <token>" (scheme in any
 * case): 0 with *tok, *len pointing into hdr; -1 when it is not one. */
int fcm_http_bearer(const char *hdr, const char **tok, size_t *len);

/* The HTTP status of an error kind (core/err.h): usage 400, unauthorized
 * 401, forbidden 403, not_found 404, conflict 409, unavailable 503, else
 * 500; and the kind of a status (other 4xx: usage, other 5xx: internal).
 * One table both ways. */
int fcm_http_status_of(int kind);
int fcm_http_kind_of(int status);

/* Parse "a.b.c.d:port" or "[v6]:port" (port 0: any free port) into a
 * sockaddr (out must hold a struct sockaddr_in6).  0, or -1 with a sentence. */
int fcm_http_listen_parse(const char *s, void *out, unsigned *outlen, int *v6,
    char *err, size_t errlen);

/* A copy of s fit for a log line: printable ASCII, others as \xNN, at most
 * max characters of s. */
void fcm_http_log_safe(const char *s, size_t max, char *out, size_t outlen);

#endif
