/* web.h — the web dashboard's side of fcm-api (doc/web.md): which paths are
 * its files, the session cookie and the CSRF token bound to it, and the
 * headers every page carries.  Pure functions, no I/O. */
#ifndef FCM_WEB_H
#define FCM_WEB_H

#include <stddef.h>

#define FCM_WEB_COOKIE "fcm_session"
#define FCM_WEB_CSRF_HEADER "X-FCM-CSRF"
#define FCM_WEB_CSRF_HEXLEN 64
/* A session lasts at most this long in the browser (the token may end sooner). */
#define FCM_WEB_SESSION_TTL (7 * 24 * 3600)

/* The Content-Security-Policy of every dashboard answer: scripts and
 * connections from the daemon only, never inline script; styles may be set
 * inline (xterm.js sizes its rows with style elements). */
extern const char fcm_web_csp[];

/* The file of the dashboard a request path names: "index.html" for "/" and
 * the pages' paths ("/login"), "assets/NAME" for "/assets/NAME"
 * (NAME of a-z 0-9 . - _, no leading dot); NULL for any other path.  *ctype
 * gets its Content-Type. */
const char *fcm_web_file(const char *path, const char **ctype);

/* The value of cookie name in a Cookie header: 1 with it copied to out (NUL
 * terminated), 0 when there is none or it does not fit. */
int fcm_web_cookie(const char *hdr, const char *name, char *out, size_t outlen);

/* The session cookie's value holds how the session began and the token:
 * "t.<token>" a token the person typed (sign-out forgets it), "m.<token>" a
 * token minted for this browser by an OIDC sign-in (sign-out revokes it).
 * 0 with *minted, *tok and *len (pointing into value), or -1. */
int fcm_web_session_parse(const char *value, int *minted, const char **tok, size_t *len);

/* The CSRF token of a session: hex SHA-256 of a fixed label and the
 * session's token, so a page that can read it (the dashboard, told it by
 * GET /v1/session) can send it and a page elsewhere cannot make it.  out
 * holds FCM_WEB_CSRF_HEXLEN + 1 bytes.  0, or -1 (libcrypto failed). */
int fcm_web_csrf(const char *tok, size_t len, char *out);

/* Does the presented CSRF token (may be NULL) match the session's?
 * Constant time.  1 or 0. */
int fcm_web_csrf_ok(const char *tok, size_t len, const char *presented);

/* Does an Origin header name the host the request went to (Host header),
 * over http or https?  1 or 0 (also 0 when either is missing). */
int fcm_web_same_origin(const char *origin, const char *host);

#endif
