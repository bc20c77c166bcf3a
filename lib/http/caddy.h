/* caddy.h — Caddy's admin API over libcurl (doc/fcm-proxy.md).
 *
 * The endpoint is $FCM_CADDY_ADMIN, default unix/$FCM_ROOT/caddy/admin.sock:
 * a unix socket in Caddy's own directory (mode 0700, Caddy's user), so that
 * no other local user can reach the API, which has no authentication of
 * its own (doc/isolation.md).  As in Caddy's own "admin.listen",
 * "unix//path/to/socket" names a unix socket; "http://host:port" or a bare
 * "host:port" a TCP one. */
#ifndef FCM_CADDY_H
#define FCM_CADDY_H

#include <stddef.h>

/* The configured endpoint as given, or the default (never NULL). */
const char *fcm_caddy_admin(void);
/* The endpoint in Caddy's "admin.listen" form ("127.0.0.1:2019" or
 * "unix//path"), malloc'd; NULL with the reason in err when it is malformed. */
char *fcm_caddy_listen(char *err, size_t errlen);
/* One request: method ("GET", "POST", ...), path ("/config/"), body (JSON,
 * or NULL).  Returns the HTTP status with the response body in *resp
 * (malloc'd, NUL-terminated, at most 16 MiB), or -1 with the reason in err
 * when Caddy cannot be reached (the message says so and names the
 * endpoint): -2 when nothing answers there (Caddy is not running). */
long fcm_caddy_request(const char *method, const char *path, const char *body,
    char **resp, char *err, size_t errlen);

#endif
