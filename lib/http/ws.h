/* ws.h — WebSocket framing (RFC 6455) for fcm-api's console endpoint and
 * the remote `fcm console` (fcm-console over lib/http/client).
 *
 * Hand-written on purpose: Debian 12's libcurl (7.88) is built without its
 * experimental WebSocket API, and libmicrohttpd 0.9.75 has no WebSocket
 * support beyond handing over the upgraded connection
 * (MHD_create_response_for_upgrade).  So both ends frame messages here: one
 * pure, bounded parser (fuzzed: test/fuzz/fuzz_ws.c), an encoder and the
 * handshake's key/accept computation.  No extensions (no compression). */
#ifndef FCM_WS_H
#define FCM_WS_H

#include <stddef.h>
#include <stdint.h>

#define FCM_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define FCM_WS_HDR_MAX 14		/* 2 + 8 (length) + 4 (mask) */
#define FCM_WS_CONTROL_MAX 125

enum fcm_ws_opcode {
	FCM_WS_CONT = 0x0,
	FCM_WS_TEXT = 0x1,
	FCM_WS_BINARY = 0x2,
	FCM_WS_CLOSE = 0x8,
	FCM_WS_PING = 0x9,
	FCM_WS_PONG = 0xA,
};

/* Close codes used here. */
enum {
	FCM_WS_CLOSE_NORMAL = 1000,
	FCM_WS_CLOSE_GOING_AWAY = 1001,
	FCM_WS_CLOSE_PROTOCOL = 1002,
	FCM_WS_CLOSE_BAD_DATA = 1007,
	FCM_WS_CLOSE_POLICY = 1008,
	FCM_WS_CLOSE_TOO_BIG = 1009,
	FCM_WS_CLOSE_ERROR = 1011,
};

struct fcm_ws_frame {
	int fin, opcode, masked;
	uint8_t mask[4];
	size_t hdr_len;
	uint64_t len;			/* payload length */
	const uint8_t *payload;		/* points into the parsed buffer */
	unsigned close_code;		/* on error: the close code to answer with */
};

/* Parse the frame at the start of buf[0..len).  masked: 1 for a server
 * (every client frame must be masked), 0 for a client (server frames must
 * not be).  max: the largest payload accepted.  Returns the bytes the whole
 * frame takes (>0), 0 when more bytes are needed, or -1 when the frame is
 * malformed or too large, with f->close_code set and a reason in *why
 * (static text, when why is not NULL).  Pure: no allocation, no I/O, reads
 * nothing beyond buf+len; the payload is left masked (fcm_ws_unmask). */
long fcm_ws_parse(const uint8_t *buf, size_t len, int masked, uint64_t max,
    struct fcm_ws_frame *f, const char **why);

/* XOR p[0..n) with the mask, the first byte being payload byte `offset`. */
void fcm_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset);

/* Message state across frames: data frames of one message (a first frame,
 * then continuations) may be interleaved with control frames only. */
struct fcm_ws_msg {
	int opcode;			/* of the message in progress, 0 when none */
};
/* Check frame f against the message in progress and advance it.  Returns
 * the opcode the frame's payload belongs to (TEXT or BINARY for data,
 * CLOSE/PING/PONG for control), or -1 with a reason. */
int fcm_ws_sequence(struct fcm_ws_msg *m, const struct fcm_ws_frame *f, const char **why);

/* Check a close frame's payload: empty, or a valid code (1000-1003,
 * 1007-1014, 3000-4999) and a UTF-8 reason.  0 with *code (1005 when empty),
 * or -1. */
int fcm_ws_close_parse(const uint8_t *p, size_t n, unsigned *code);

/* A frame header into out; mask NULL for an unmasked (server) frame.
 * Returns its length. */
size_t fcm_ws_header(uint8_t out[FCM_WS_HDR_MAX], int fin, int opcode, uint64_t len,
    const uint8_t *mask);

/* The handshake.  A key is the base64 of 16 bytes (24 characters). */
int fcm_ws_key_ok(const char *key);
/* A fresh random key. */
int fcm_ws_key_new(char out[25]);
/* Sec-WebSocket-Accept for a key: base64(SHA-1(key + GUID)).  0 or -1. */
int fcm_ws_accept(const char *key, char out[29]);

#endif
