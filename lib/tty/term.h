/* term.h — the terminal side of a console client, whatever carries the
 * session: fcm-tty attach (fcm-tty's frames on a unix socket) and the remote
 * `fcm console` (WebSocket messages through the API) run the same loop.
 *
 * One poll loop with a self-pipe for signals.  On a terminal it puts stdin in
 * raw mode and always puts it back on the way out (the end of the session, a
 * detach, a signal, an error, any exit), with the modes a program in the
 * session may have set (lib/tty/termmodes: alternate screen, cursor, colours,
 * mouse, paste).  It sends the window size on SIGWINCH, detaches on Ctrl-],
 * and ends with one line on stderr:
 *   [detached — reattach with: HOW]                      Ctrl-]: exit 0
 *   [detached by SIGTERM — reattach with: HOW]           SIGTERM, SIGINT,
 *                                                        SIGHUP, SIGQUIT: the
 *                                                        session goes on; exit
 *                                                        128+N
 *   [session ended: exit status N]                       exit N
 *   [session ended: the command was killed by signal N]  exit 128+N
 *   [connection to the session lost…], PROG: fatal: …   exit 111
 * Without a terminal on stdin: no raw mode, no size; input is sent as it
 * comes (a Ctrl-] byte in it detaches), and at its end the output is still
 * shown until the session ends. */
#ifndef FCM_TERM_H
#define FCM_TERM_H

#include <stddef.h>

#define FCM_TERM_DETACH_KEY 0x1d	/* Ctrl-] */

/* What the loop needs of a connection to a session.  Every callback gets
 * ctx; the queueing ones only queue (the loop calls flush). */
struct fcm_term_transport {
	void *ctx;
	int fd;			/* polled: readable, and writable while bytes are queued */
	/* Queue the user's keystrokes (never called with --read-only). */
	void (*input)(void *ctx, const void *p, size_t n);
	/* Queue the terminal's new size. */
	void (*resize)(void *ctx, unsigned rows, unsigned cols);
	/* Queue "detach": the session goes on without us. */
	void (*detach)(void *ctx);
	/* fd is readable: read what there is and hand it on with
	 * fcm_term_output(); end with fcm_term_exit() when the session ended,
	 * fcm_term_fail()/fcm_term_end() when it refused us or the connection
	 * was lost. */
	void (*recv)(void *ctx);
	/* Write what is queued without blocking.  The bytes still queued, or
	 * -1 when the connection broke. */
	long (*flush)(void *ctx);
};

/* The size of the terminal on stdin; 0x0 when it is none (or out of
 * 1..10000). */
void fcm_term_size(unsigned *rows, unsigned *cols);
/* Run the console: raw mode, signals, the loop.  how: the command that
 * reattaches.  read_only: drop keystrokes (Ctrl-] still detaches).  Sends
 * what t has queued first (a greeting).  Never returns: exits as above. */
_Noreturn void fcm_term_run(const struct fcm_term_transport *t, const char *how, int read_only);

/* Before fcm_term_run: the session runs one command (fcm run), so its end
 * says nothing and exits with the command's status. */
void fcm_term_quiet(void);

/* For transports, from recv: */
/* Terminal bytes from the session, to stdout. */
void fcm_term_output(const void *p, size_t n);
/* The session's command ended with status (128+N: killed by signal N). */
_Noreturn void fcm_term_exit(unsigned status);
/* Restore the terminal, print the line, exit with code. */
_Noreturn void fcm_term_end(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* fcm_term_end(111, "PROG: fatal: …"). */
_Noreturn void fcm_term_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
