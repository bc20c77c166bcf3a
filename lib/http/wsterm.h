/* wsterm.h — a terminal session through the API's WebSocket (GET
 * /v1/vms/NAME/console, doc/api.md): the remote side of fcm console and
 * fcm run, on lib/tty/term's loop (so it looks and ends as a local one). */
#ifndef FCM_WSTERM_H
#define FCM_WSTERM_H

/* Upgrade the API request path (with its query) to a WebSocket and run the
 * terminal on it (fcm_client_setup done).  hint: the command that reattaches.
 * Never returns: exits as lib/tty/term.h says, or dies with the API's error. */
_Noreturn void fcm_wsterm_run(const char *path, const char *hint, int read_only);

#endif
