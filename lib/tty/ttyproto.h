/* ttyproto.h — the fcm-tty wire protocol (doc/tty-protocol.md): framing,
 * encode and a pure, bounded decoder shared by fcm-tty's server and client
 * and by the HTTP API's WebSocket relay.
 *
 * A frame is: type (1 byte), length (u32 big-endian), payload (length bytes,
 * at most FCM_TTY_PAYLOAD_MAX).  Each type has a fixed or bounded payload. */
#ifndef FCM_TTYPROTO_H
#define FCM_TTYPROTO_H

#include <stddef.h>
#include <stdint.h>

#define FCM_TTY_VERSION     1
#define FCM_TTY_HDR         5
#define FCM_TTY_PAYLOAD_MAX 65536
#define FCM_TTY_FRAME_MAX   (FCM_TTY_HDR + FCM_TTY_PAYLOAD_MAX)
#define FCM_TTY_ERROR_MAX   1024
#define FCM_TTY_SIZE_MAX    10000

enum fcm_tty_type {
	FCM_TTY_HELLO   = 'H',	/* c->s: version, mode, rows, cols */
	FCM_TTY_WELCOME = 'W',	/* s->c: version, role, rows, cols, pid */
	FCM_TTY_DATA    = 'D',	/* both: terminal bytes */
	FCM_TTY_RESIZE  = 'R',	/* c->s: rows, cols */
	FCM_TTY_ROLE    = 'P',	/* s->c: role */
	FCM_TTY_DETACH  = 'Q',	/* c->s: empty */
	FCM_TTY_EXIT    = 'X',	/* s->c: status */
	FCM_TTY_ERROR   = 'E',	/* s->c: message */
};

enum { FCM_TTY_MODE_RW = 0, FCM_TTY_MODE_RO = 1 };
enum { FCM_TTY_ROLE_WRITER = 0, FCM_TTY_ROLE_WATCHER = 1 };

/* A decoded frame.  data/len point into the buffer given to the decoder;
 * the fixed fields are filled for the types that carry them. */
struct fcm_tty_frame {
	int type;
	const uint8_t *data;
	size_t len;
	unsigned version, mode, role;
	unsigned rows, cols;
	uint32_t pid, status;
};

/* Decode the first frame of buf[0..len).  Returns the bytes it takes (>0)
 * with *f filled, 0 when more bytes are needed, -1 when malformed, with a
 * reason in why (static text) when why is not NULL.  Pure: no allocation,
 * no I/O, reads nothing beyond buf+len. */
long fcm_tty_decode(const uint8_t *buf, size_t len, struct fcm_tty_frame *f,
    const char **why);

/* Encode one frame into out (cap bytes).  Returns its size, or 0 when it
 * does not fit or the payload is out of bounds for the type. */
size_t fcm_tty_encode(uint8_t *out, size_t cap, int type, const void *payload, size_t len);
size_t fcm_tty_encode_hello(uint8_t *out, size_t cap, unsigned mode, unsigned rows, unsigned cols);
size_t fcm_tty_encode_welcome(uint8_t *out, size_t cap, unsigned role, unsigned rows,
    unsigned cols, uint32_t pid);
size_t fcm_tty_encode_resize(uint8_t *out, size_t cap, unsigned rows, unsigned cols);
size_t fcm_tty_encode_exit(uint8_t *out, size_t cap, uint32_t status);

/* A growable byte queue for non-blocking output (and input reassembly). */
struct fcm_tty_buf {
	uint8_t *p;
	size_t off, len, cap;	/* live bytes are p[off .. off+len) */
};
/* Append n bytes; -1 (ENOMEM) on failure. */
int fcm_tty_buf_put(struct fcm_tty_buf *b, const void *data, size_t n);
/* Append one frame. */
int fcm_tty_buf_frame(struct fcm_tty_buf *b, int type, const void *payload, size_t n);
/* Append DATA frames carrying n bytes (split at FCM_TTY_PAYLOAD_MAX). */
int fcm_tty_buf_data(struct fcm_tty_buf *b, const void *data, size_t n);
/* Drop n bytes from the front. */
void fcm_tty_buf_eat(struct fcm_tty_buf *b, size_t n);
/* Write as much as fd takes without blocking (fd should be O_NONBLOCK).
 * Returns 0 (maybe with bytes left), -1 on a write error (errno). */
int fcm_tty_buf_flush(struct fcm_tty_buf *b, int fd);
void fcm_tty_buf_clear(struct fcm_tty_buf *b);
void fcm_tty_buf_free(struct fcm_tty_buf *b);

#endif
