/* ttyproto.c — the fcm-tty wire protocol (doc/tty-protocol.md). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tty/ttyproto.h"

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static unsigned get16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static int size_ok(unsigned rows, unsigned cols, int zero_ok)
{
	if (zero_ok && rows == 0 && cols == 0)
		return 1;
	return rows >= 1 && rows <= FCM_TTY_SIZE_MAX && cols >= 1 && cols <= FCM_TTY_SIZE_MAX;
}

/* The payload length range of each type; 0 when the type is unknown. */
static int bounds(int type, size_t *min, size_t *max)
{
	switch (type) {
	case FCM_TTY_HELLO:   *min = *max = 6; return 1;
	case FCM_TTY_WELCOME: *min = *max = 10; return 1;
	case FCM_TTY_DATA:    *min = 1; *max = FCM_TTY_PAYLOAD_MAX; return 1;
	case FCM_TTY_RESIZE:  *min = *max = 4; return 1;
	case FCM_TTY_ROLE:    *min = *max = 1; return 1;
	case FCM_TTY_DETACH:  *min = *max = 0; return 1;
	case FCM_TTY_EXIT:    *min = *max = 4; return 1;
	case FCM_TTY_ERROR:   *min = 1; *max = FCM_TTY_ERROR_MAX; return 1;
	}
	return 0;
}

#define BAD(msg) do { if (why) *why = (msg); return -1; } while (0)

long fcm_tty_decode(const uint8_t *buf, size_t len, struct fcm_tty_frame *f,
    const char **why)
{
	size_t min, max;
	uint32_t plen;
	const uint8_t *p;

	if (len < 1)
		return 0;
	if (!bounds(buf[0], &min, &max))
		BAD("unknown frame type");
	if (len < FCM_TTY_HDR)
		return 0;
	plen = get32(buf + 1);
	if (plen < min || plen > max)
		BAD("bad frame length for its type");
	if (len - FCM_TTY_HDR < plen)
		return 0;
	p = buf + FCM_TTY_HDR;
	memset(f, 0, sizeof *f);
	f->type = buf[0];
	f->data = p;
	f->len = plen;
	switch (f->type) {
	case FCM_TTY_HELLO:
		f->version = p[0];
		f->mode = p[1];
		f->rows = get16(p + 2);
		f->cols = get16(p + 4);
		if (f->version < 1)
			BAD("bad protocol version");
		if (f->mode != FCM_TTY_MODE_RW && f->mode != FCM_TTY_MODE_RO)
			BAD("bad mode in HELLO");
		if (!size_ok(f->rows, f->cols, 1))
			BAD("bad window size in HELLO");
		break;
	case FCM_TTY_WELCOME:
		f->version = p[0];
		f->role = p[1];
		f->rows = get16(p + 2);
		f->cols = get16(p + 4);
		f->pid = get32(p + 6);
		if (f->version < 1)
			BAD("bad protocol version");
		if (f->role > FCM_TTY_ROLE_WATCHER)
			BAD("bad role in WELCOME");
		if (!size_ok(f->rows, f->cols, 1))
			BAD("bad window size in WELCOME");
		break;
	case FCM_TTY_RESIZE:
		f->rows = get16(p);
		f->cols = get16(p + 2);
		if (!size_ok(f->rows, f->cols, 0))
			BAD("bad window size in RESIZE");
		break;
	case FCM_TTY_ROLE:
		f->role = p[0];
		if (f->role > FCM_TTY_ROLE_WATCHER)
			BAD("bad role");
		break;
	case FCM_TTY_EXIT:
		f->status = get32(p);
		if (f->status > 255)
			BAD("bad exit status");
		break;
	}
	return (long)(FCM_TTY_HDR + plen);
}

size_t fcm_tty_encode(uint8_t *out, size_t cap, int type, const void *payload, size_t len)
{
	size_t min, max;

	if (!bounds(type, &min, &max) || len < min || len > max || cap < FCM_TTY_HDR + len)
		return 0;
	out[0] = (uint8_t)type;
	put32(out + 1, (uint32_t)len);
	if (len)
		memcpy(out + FCM_TTY_HDR, payload, len);
	return FCM_TTY_HDR + len;
}

size_t fcm_tty_encode_hello(uint8_t *out, size_t cap, unsigned mode, unsigned rows, unsigned cols)
{
	uint8_t p[6];

	if (mode > FCM_TTY_MODE_RO || !size_ok(rows, cols, 1))
		return 0;
	p[0] = FCM_TTY_VERSION;
	p[1] = mode;
	put16(p + 2, rows);
	put16(p + 4, cols);
	return fcm_tty_encode(out, cap, FCM_TTY_HELLO, p, sizeof p);
}

size_t fcm_tty_encode_welcome(uint8_t *out, size_t cap, unsigned role, unsigned rows,
    unsigned cols, uint32_t pid)
{
	uint8_t p[10];

	if (role > FCM_TTY_ROLE_WATCHER || !size_ok(rows, cols, 1))
		return 0;
	p[0] = FCM_TTY_VERSION;
	p[1] = role;
	put16(p + 2, rows);
	put16(p + 4, cols);
	put32(p + 6, pid);
	return fcm_tty_encode(out, cap, FCM_TTY_WELCOME, p, sizeof p);
}

size_t fcm_tty_encode_resize(uint8_t *out, size_t cap, unsigned rows, unsigned cols)
{
	uint8_t p[4];

	if (!size_ok(rows, cols, 0))
		return 0;
	put16(p, rows);
	put16(p + 2, cols);
	return fcm_tty_encode(out, cap, FCM_TTY_RESIZE, p, sizeof p);
}

size_t fcm_tty_encode_exit(uint8_t *out, size_t cap, uint32_t status)
{
	uint8_t p[4];

	if (status > 255)
		return 0;
	put32(p, status);
	return fcm_tty_encode(out, cap, FCM_TTY_EXIT, p, sizeof p);
}

/* --- byte queue ---------------------------------------------------------- */

static int reserve(struct fcm_tty_buf *b, size_t n)
{
	size_t need, cap;
	uint8_t *np;

	if (b->off && b->off + b->len + n > b->cap) {
		memmove(b->p, b->p + b->off, b->len);
		b->off = 0;
	}
	need = b->off + b->len + n;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap *= 2;
	np = realloc(b->p, cap);
	if (!np) {
		errno = ENOMEM;
		return -1;
	}
	b->p = np;
	b->cap = cap;
	return 0;
}

int fcm_tty_buf_put(struct fcm_tty_buf *b, const void *data, size_t n)
{
	if (!n)
		return 0;
	if (reserve(b, n) < 0)
		return -1;
	memcpy(b->p + b->off + b->len, data, n);
	b->len += n;
	return 0;
}

int fcm_tty_buf_frame(struct fcm_tty_buf *b, int type, const void *payload, size_t n)
{
	size_t k;

	if (reserve(b, FCM_TTY_HDR + n) < 0)
		return -1;
	k = fcm_tty_encode(b->p + b->off + b->len, b->cap - b->off - b->len, type, payload, n);
	if (!k) {
		errno = EINVAL;
		return -1;
	}
	b->len += k;
	return 0;
}

int fcm_tty_buf_data(struct fcm_tty_buf *b, const void *data, size_t n)
{
	const uint8_t *d = data;

	while (n) {
		size_t k = n > FCM_TTY_PAYLOAD_MAX ? FCM_TTY_PAYLOAD_MAX : n;
		if (fcm_tty_buf_frame(b, FCM_TTY_DATA, d, k) < 0)
			return -1;
		d += k;
		n -= k;
	}
	return 0;
}

void fcm_tty_buf_eat(struct fcm_tty_buf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

int fcm_tty_buf_flush(struct fcm_tty_buf *b, int fd)
{
	while (b->len) {
		ssize_t w = write(fd, b->p + b->off, b->len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		fcm_tty_buf_eat(b, (size_t)w);
	}
	return 0;
}

void fcm_tty_buf_clear(struct fcm_tty_buf *b)
{
	b->off = b->len = 0;
}

void fcm_tty_buf_free(struct fcm_tty_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->off = b->len = b->cap = 0;
}
