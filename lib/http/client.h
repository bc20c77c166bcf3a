/* client.h — the one client of fcm's HTTP API (doc/remote.md): remote mode
 * (lib/cmd), the remote console, fcm login / logout / whoami.  The only code that
 * calls libcurl's easy interface for the API.
 *
 * Settings, read once by fcm_client_setup():
 *   host   fcm_client_set_host() (--host), else $FCM_HOST, else the host
 *          `fcm login` saved in ~/.fcm-host, else 127.0.0.1:7777;
 *          host:port or an http(s):// URL (a path prefix allowed).  Plain
 *          http to a host that is not loopback draws a warning unless
 *          $FCM_INSECURE is set (the token would cross the network in clear).
 *   token  $FCM_TOKEN, else ~/.fcm-token (warned about when others may read
 *          it), else $FCM_ROOT/.token when readable (root on the host).
 *   TLS    $FCM_CA_CERT: a CA certificate file to trust for https.
 * Requests: http and https only, redirects never followed (the token goes to
 * the host only), 15 s to connect, 1000 s for a whole request (the API ends
 * a command after 900 s) but none for a streamed one (`logs -f`).  Proxies
 * are libcurl's defaults: http_proxy, https_proxy/HTTPS_PROXY, all_proxy and
 * no_proxy from the environment. */
#ifndef FCM_CLIENT_H
#define FCM_CLIENT_H

#include <stddef.h>

#include <jv.h>

/* fcm_client_setup(FCM_CLIENT_ANONYMOUS): read no token, send none (the
 * login requests). */
#define FCM_CLIENT_ANONYMOUS (-1)

/* Where the token came from. */
enum fcm_client_token_from {
	FCM_CLIENT_TOKEN_NONE = 0,
	FCM_CLIENT_TOKEN_ENV,		/* $FCM_TOKEN */
	FCM_CLIENT_TOKEN_HOME,		/* ~/.fcm-token, written by fcm login */
	FCM_CLIENT_TOKEN_ROOT,		/* $FCM_ROOT/.token, the host's admin token */
};

/* Whether commands go to the daemon: FCM_HOST is set (by the user, or from
 * ~/.fcm-host by the front end), or we are not root. */
int fcm_remote_mode(void);

/* The host to use instead of $FCM_HOST (a --host option); NULL or "" leaves
 * the rule above.  Call before fcm_client_setup. */
void fcm_client_set_host(const char *host);
/* Read the settings (once; later calls do nothing).  need_token: 1 die
 * (usage) without a token; 0 go on without one; FCM_CLIENT_ANONYMOUS read
 * none.  Dies (usage) on a malformed host or token. */
void fcm_client_setup(int need_token);
/* FCM_HOST as the user gave it (for messages). */
const char *fcm_client_host(void);
/* Where the token came from (enum fcm_client_token_from). */
int fcm_client_token_from(void);

/* One request.  method "GET"/"POST"/"DELETE"; path with its query; body
 * JSON text or NULL.  Returns the HTTP status and sets *reply to the parsed
 * JSON body (jv_null() when empty).  On an error status (not 2xx) *reply is
 * always {"ok":false,"kind":…,"error":…}: the API's own, with the kind for
 * the status filled in when it has none; for a body that is not JSON,
 * {"ok":false,"kind":<from the status>,"error":"the fcm API at HOST answered
 * HTTP N"}.  When no usable answer came, returns 0 with *reply =
 *   {"ok":false,"kind":"unavailable","error":"unable to reach the fcm API at HOST: …"}
 * (kind internal for a 2xx answer that is not JSON, or one that could not be
 * written to out_fd).  With out_fd >= 0 a 2xx body is written there as it
 * arrives (for `logs -f`) and *reply is jv_null(). */
long fcm_client_request(const char *method, const char *path, const char *body, int out_fd, jv *reply);
/* The kind for an HTTP status, for replies without one (400, 405, 413 usage,
 * 401 unauthorized, 403 forbidden, 404 not_found, 409 conflict, 503
 * unavailable, else internal). */
int fcm_client_kind_of_status(long status);

struct fcm_client_conn;

/* A WebSocket connection to the API (the console; framing: http/ws.h).
 * Connects (CURLOPT_CONNECT_ONLY) and upgrades on path (with its query),
 * waiting at most 120 s for the answer (the API may be starting a session).
 * Returns the connection, or NULL with *reply an error as fcm_client_request
 * gives (the API's refusal, or unavailable). */
struct fcm_client_conn *fcm_client_upgrade(const char *path, jv *reply);
/* Its socket, for poll (non-blocking). */
int fcm_client_conn_fd(const struct fcm_client_conn *c);
/* Send what the connection takes now: bytes sent (0 when it would block),
 * or -1 when it broke. */
long fcm_client_conn_send(struct fcm_client_conn *c, const void *p, size_t n);
/* Receive what there is: bytes (>0), 0 at the end of the connection, -1
 * with errno EAGAIN when nothing is there now, or EIO when it broke. */
long fcm_client_conn_recv(struct fcm_client_conn *c, void *p, size_t n);
void fcm_client_conn_close(struct fcm_client_conn *c);

/* ~/.fcm-token (malloc'd); dies (usage) without $HOME. */
char *fcm_client_token_path(void);
/* After a login: the token in ~/.fcm-token (0600) and the host in
 * ~/.fcm-host, each written atomically.  0, or -1 with errno. */
int fcm_client_token_save(const char *token, const char *host);

#endif
