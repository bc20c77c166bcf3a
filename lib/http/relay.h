/* relay.h — the API's console relays (doc/api.md): a client's WebSocket
 * (lib/http/ws.h) to an fcm-tty session socket (doc/tty-protocol.md).
 * Binary frames carry terminal bytes both ways; text frames carry JSON
 * control (resize, detach; welcome, role, exit, error).  In lib/http beside
 * the framing, so that bin/fcm-api.c is the loop and the endpoints.  The
 * API's poll loop drives the relays (SIGPIPE ignored):
 *
 *	fcm_relays_poll(add, arg);		the fds to poll, through add()
 *	fcm_relay_event(x, fd, revents);	for each fd poll woke
 *	fcm_relays_pump();			then: relay, end the finished */
#ifndef FCM_RELAY_H
#define FCM_RELAY_H

#include <stddef.h>

#include <microhttpd.h>

struct fcm_relay;

/* The session side of a new relay. */
struct fcm_relay_session {
	int fd;				/* connected to the session's socket; taken */
	unsigned mode, rows, cols;	/* its HELLO: FCM_TTY_MODE_*, the client's size (0: keep) */
	const char *vm, *who, *peer;	/* for the log */
};

/* Relay an upgraded connection (sock, its handle, and the bytes the client
 * sent past the upgrade) to a session, until either ends (logged). */
void fcm_relay_new(MHD_socket sock, struct MHD_UpgradeResponseHandle *urh, const char *extra,
    size_t extra_len, const struct fcm_relay_session *s);

/* A client that takes none of the bytes waiting for it for this long is
 * disconnected (default 30 s); meanwhile at most 1 MiB waits for it. */
void fcm_relays_set_slow(unsigned seconds);

/* How many relays there are. */
unsigned fcm_relays_count(void);

/* Each fd the relays wait on, with its poll events, through add(arg, ...).
 * Returns the poll timeout they need in ms (one is closing), or -1. */
int fcm_relays_poll(void (*add)(void *arg, int fd, short events, struct fcm_relay *x), void *arg);

/* poll said revents of fd, one of x's (kept for fcm_relays_pump). */
void fcm_relay_event(struct fcm_relay *x, int fd, short revents);

/* Relay what the events allow, each once; free the relays that ended. */
void fcm_relays_pump(void);

/* Close every relay (the API stops): a close frame (1001, reason) to its
 * client, what is queued sent if it can be at once, and freed. */
void fcm_relays_end(const char *reason);

#endif
