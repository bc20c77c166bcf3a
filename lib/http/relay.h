/* relay.h — the API's console relays (doc/api.md, "Console"): a client's
 * WebSocket (lib/http/ws.h) on one side, an fcm-tty session socket
 * (doc/tty-protocol.md) on the other.  Binary frames carry terminal bytes
 * both ways; text frames carry JSON control messages (resize, detach from
 * the client; welcome, role, exit, error to it).
 *
 * In lib/http beside the WebSocket framing, so that bin/fcm-api.c holds
 * the main loop and the endpoints only.  The API's poll loop drives the
 * relays, and is their only user; SIGPIPE must be ignored:
 *
 *	fcm_relays_poll(add, arg);		the fds to poll, through add()
 *	fcm_relay_event(x, fd, revents);	for each that poll woke
 *	fcm_relays_pump();			then: move bytes, end the finished
 */
#ifndef FCM_RELAY_H
#define FCM_RELAY_H

#include <stddef.h>

#include <microhttpd.h>

struct fcm_relay;

/* The session side of a new relay, and what to tell the session. */
struct fcm_relay_session {
	int fd;				/* connected to the session's socket; taken */
	unsigned mode, rows, cols;	/* its HELLO: FCM_TTY_MODE_*, the client's size (0: keep) */
	const char *vm, *who, *peer;	/* for the log */
};

/* Start relaying between an upgraded connection (sock, its handle urh, and
 * the extra bytes the client sent past the upgrade) and a session.  The
 * relay ends by itself (and logs how); MHD_upgrade_action closes sock. */
void fcm_relay_new(MHD_socket sock, struct MHD_UpgradeResponseHandle *urh, const char *extra,
    size_t extra_len, const struct fcm_relay_session *s);

/* How many relays there are. */
unsigned fcm_relays_count(void);

/* Each fd the relays wait on, with its poll events, through add(arg, ...).
 * Returns the poll timeout they need in ms (one is closing), or -1. */
int fcm_relays_poll(void (*add)(void *arg, int fd, short events, struct fcm_relay *x), void *arg);

/* poll said revents of fd, one of x's (kept for fcm_relays_pump). */
void fcm_relay_event(struct fcm_relay *x, int fd, short revents);

/* Relay what the events allow, once each; free the relays that ended. */
void fcm_relays_pump(void);

/* Close every relay's WebSocket with 1001 and reason (the API is
 * stopping); then fcm_relays_end sends what is queued and frees them all,
 * logging why. */
void fcm_relays_close(const char *reason);
void fcm_relays_end(const char *why);

#endif
