/* authapi.h — the /v1/auth endpoints of fcm-api (doc/auth.md), the parts
 * that need no connection: the request line fcm-api feeds to fcm-auth on
 * its stdin, the HTTP status of fcm-auth's reply, and GET /v1/auth/me. */
#ifndef FCM_AUTHAPI_H
#define FCM_AUTHAPI_H

#include <stddef.h>

#include <jv.h>

#include "auth/token.h"

/* The fcm-auth request (one JSON line, malloc'd, *outlen bytes) for route
 * kind (FCM_R_AUTH_CONFIG, _DEVICE or _LOGIN) and the request body
 * body[0..len) (a JSON object, or empty); NULL with a sentence in err when
 * the body is not a JSON object or names "op". */
char *fcm_authapi_request(int kind, const char *body, size_t len, size_t *outlen,
    char *err, size_t errlen);
/* The HTTP status for fcm-auth's reply (its "status", else 200 for a
 * success, 500 otherwise), and the reply without "status" (consumed). */
unsigned fcm_authapi_status(jv *reply, int exit);
/* GET /v1/auth/me: {"name","admin","usage","quota"} and, for a user who
 * logged in, "email", "full_name", "issuer".  usage and quota are
 * {"vms","cpus","memory","disk"} (memory MiB, disk "NM"; a quota's null is
 * no limit). */
jv fcm_authapi_me(const struct fcm_principal *p);

#endif
