/* request.h — a command's request: made from argv on the client, checked
 * where it runs, carried over HTTP in between (cmd.h). */
#ifndef FCM_REQUEST_H
#define FCM_REQUEST_H

#include <stddef.h>

#include <jv.h>

#include "cmd/cmd.h"

/* The request of a command line (argv[0] is the program).  Options may come
 * before or after the words; `--` ends them; --help prints the usage and
 * exits 0; --json sets *json.  A command with FCM_CMD_VM takes [VM] first,
 * else the VM named in .fcm.  Dies (usage) with one line on bad input:
 *   option '--name' needs a value; usage: fcm create ... */
jv fcm_request_parse(const struct fcm_cmd *cmd, int argc, char **argv, int *json);

/* Check a request that came as JSON (from the API) against the command's
 * options: known keys, their types and ranges.  Returns it (consumed), or
 * invalid with a message (kind usage). */
jv fcm_request_check(const struct fcm_cmd *cmd, jv req);

/* The HTTP form of a request (borrowed) for the client: returns the method,
 * with *path (malloc'd, the route with {vm} filled in and, for GET and
 * DELETE, the other fields as its query) and *body (malloc'd JSON, POST
 * only, else NULL). */
const char *fcm_request_http(const struct fcm_cmd *cmd, jv req, char **path, char **body);

#endif
