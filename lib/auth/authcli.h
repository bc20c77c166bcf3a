/* authcli.h — the client side of fcm login / logout / whoami (doc/auth.md):
 * the host's address, the stored token, and JSON requests to the API.
 *
 *   FCM_HOST     host:port or an http(s):// URL (default 127.0.0.1:7777)
 *   FCM_TOKEN    a token; else ~/.fcm-token (0600), which fcm login writes
 *   FCM_CA_CERT  a CA certificate file for an https host */
#ifndef FCM_AUTHCLI_H
#define FCM_AUTHCLI_H

#include <stddef.h>

#include <jv.h>

#include "auth/token.h"

/* The API's base URL for host (NULL: $FCM_HOST or the default); dies on a
 * malformed one.  *shown: the host as given (for messages). */
char *fcm_cli_base(const char *host, const char **shown);
/* ~/.fcm-token (malloc'd); dies without $HOME. */
char *fcm_cli_token_path(void);
/* The token: $FCM_TOKEN or ~/.fcm-token.  1 found (*from_file set), 0 none,
 * dies on a file that holds no token. */
int fcm_cli_token(char tok[FCM_TOKEN_HEXLEN + 1], int *from_file);
/* Store a token in ~/.fcm-token (0600, atomic) and the host in ~/.fcm-host.
 * 0 or -1 with errno. */
int fcm_cli_token_save(const char *tok, const char *host);

/* A request: method, base + path, bearer token (may be NULL), JSON body
 * (consumed; jv_invalid() for none).  The JSON object answered, with the
 * HTTP status in *status; invalid with a sentence in err when the host
 * cannot be reached or answers no JSON. */
jv fcm_cli_request(const char *base, const char *method, const char *path, const char *tok,
    jv body, long *status, char *err, size_t errlen);

#endif
