/* ttysock.h — the unix socket of an fcm-tty session: connect to it, tell a
 * live session from a stale socket, create it atomically. */
#ifndef FCM_TTYSOCK_H
#define FCM_TTYSOCK_H

#include <stddef.h>
#include <sys/types.h>

/* Connect to the session socket.  Returns a connected fd (close-on-exec), or
 * -1 with errno: ENOENT (no socket), ECONNREFUSED (a socket nobody serves:
 * a dead session), ENOTSOCK, ENAMETOOLONG, EACCES... */
int fcm_tty_connect(const char *path);
/* Is a session serving path?  1 live (*pid, if not NULL, the server's pid),
 * 0 a stale socket nobody serves, -1 no socket there (errno). */
int fcm_tty_probe(const char *path, pid_t *pid);
/* Create and listen on path, mode 0600, atomically under a lock on the
 * directory: refuses (-1, EADDRINUSE) when a live server holds path, replaces
 * a stale socket.  Returns the listening fd (non-blocking, close-on-exec);
 * on error -1 with a message in err. */
int fcm_tty_listen(const char *path, char *err, size_t errlen);
/* A message for a failed fcm_tty_connect (errno), for path. */
const char *fcm_tty_connect_error(const char *path, int err, char *buf, size_t len);

/* End the session at path: signal its server (which passes sig on to its
 * command and exits when the command does), wait at most timeout_ms, then
 * SIGKILL the server; remove the socket if it is left.  0 when the session
 * is gone (or there was none), -1 with errno otherwise. */
int fcm_tty_kill(const char *path, int sig, long timeout_ms);

#endif
