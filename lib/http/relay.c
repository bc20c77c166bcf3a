/* relay.c — the API's console relays (relay.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <unistd.h>

#include "auth/token.h"
#include "core/clock.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/utf8.h"
#include "http/relay.h"
#include "http/ws.h"
#include "tty/ttyproto.h"

#define WS_FRAME_MAX    (1024 * 1024)
#define WS_TEXT_MAX     4096
#define QUEUE_MAX       (1024 * 1024)	/* bytes queued one way before we stop reading the other */

struct fcm_relay {
	int ws, tty;
	short wsev, ttyev;		/* what poll said, for fcm_relays_pump */
	struct MHD_UpgradeResponseHandle *urh;
	struct fcm_tty_buf ws_in, ws_out, tty_in, tty_out;
	struct fcm_ws_msg msg;
	char text[WS_TEXT_MAX];
	size_t text_len;
	int closing;			/* our close frame is queued: flush, then end */
	int shut;			/* flushed and shut down for writing: drain */
	long close_deadline;
	long progress_ms;		/* when the client last took bytes (or had none waiting) */
	unsigned long long sent, acked;	/* bytes written to the socket; of them, taken by the client */
	char vm[FCM_NAME_MAX + 1], who[FCM_USER_MAX + 1], peer[64];
	long t0;
	struct fcm_relay *next;
};
static struct fcm_relay *relays;
static unsigned relays_active;
static long slow_ms = 30000;	/* fcm_relays_set_slow */

void fcm_relays_set_slow(unsigned seconds)
{
	slow_ms = (long)seconds * 1000;
}

static void ws_send(struct fcm_relay *x, int opcode, const void *p, size_t n)
{
	uint8_t hdr[FCM_WS_HDR_MAX];
	size_t h = fcm_ws_header(hdr, 1, opcode, n, NULL);

	if (fcm_tty_buf_put(&x->ws_out, hdr, h) < 0 || fcm_tty_buf_put(&x->ws_out, p, n) < 0)
		fcm_die_nomem();
}

static void ws_send_json(struct fcm_relay *x, jv v)
{
	jv s = jv_dump_string(v, 0);

	ws_send(x, FCM_WS_TEXT, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

static void ws_close(struct fcm_relay *x, unsigned code, const char *reason)
{
	uint8_t p[FCM_WS_CONTROL_MAX];
	size_t n = strlen(reason);

	if (x->closing)
		return;
	if (n > sizeof p - 2)
		n = sizeof p - 2;
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	memcpy(p + 2, reason, n);
	ws_send(x, FCM_WS_CLOSE, p, n + 2);
	x->closing = 1;
	x->close_deadline = fcm_now_ms() + 5000;
}

static void tty_send(struct fcm_relay *x, int type, const void *p, size_t n)
{
	if (fcm_tty_buf_frame(&x->tty_out, type, p, n) < 0)
		fcm_die_nomem();
}

void fcm_relay_new(MHD_socket sock, struct MHD_UpgradeResponseHandle *urh, const char *extra,
    size_t extra_len, const struct fcm_relay_session *s)
{
	struct fcm_relay *x = fcm_malloc(sizeof *x);
	uint8_t hello[FCM_TTY_HDR + 6];
	size_t n;

	memset(x, 0, sizeof *x);
	x->ws = sock;
	x->tty = s->fd;
	x->urh = urh;
	x->t0 = fcm_now_ms();
	x->progress_ms = x->t0;
	snprintf(x->vm, sizeof x->vm, "%s", s->vm);
	snprintf(x->who, sizeof x->who, "%s", s->who);
	snprintf(x->peer, sizeof x->peer, "%s", s->peer);
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	if (extra_len && fcm_tty_buf_put(&x->ws_in, extra, extra_len) < 0)
		fcm_die_nomem();
	n = fcm_tty_encode_hello(hello, sizeof hello, s->mode, s->rows, s->cols);
	if (fcm_tty_buf_put(&x->tty_out, hello, n) < 0)
		fcm_die_nomem();
	x->next = relays;
	relays = x;
	relays_active++;
	fcm_info("%s console %s opened by %s", x->peer, x->vm, x->who);
}

unsigned fcm_relays_count(void)
{
	return relays_active;
}

static void relay_free(struct fcm_relay *x, const char *why)
{
	struct fcm_relay **pp;

	for (pp = &relays; *pp; pp = &(*pp)->next)
		if (*pp == x) {
			*pp = x->next;
			break;
		}
	if (x->tty >= 0)
		close(x->tty);
	fcm_tty_buf_free(&x->ws_in);
	fcm_tty_buf_free(&x->ws_out);
	fcm_tty_buf_free(&x->tty_in);
	fcm_tty_buf_free(&x->tty_out);
	MHD_upgrade_action(x->urh, MHD_UPGRADE_ACTION_CLOSE);
	relays_active--;
	fcm_info("%s console %s closed after %lds: %s", x->peer, x->vm, (fcm_now_ms() - x->t0) / 1000, why);
	free(x);
}

static void relay_control(struct fcm_relay *x, const char *text, size_t n)
{
	jv v = jv_parse_sized(text, (int)n);
	const char *type = jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT ? fcm_get_str(v, "type") : NULL;
	char err[128];
	long rows, cols;

	if (!type) {
		ws_send_json(x, jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("error")),
		    jv_string("error"), jv_string("a text message must be a JSON object with a \"type\"")));
	} else if (!strcmp(type, "resize")) {
		if (fcm_get_int(v, "rows", 1, FCM_TTY_SIZE_MAX, &rows, err, sizeof err) == 1 &&
		    fcm_get_int(v, "cols", 1, FCM_TTY_SIZE_MAX, &cols, err, sizeof err) == 1) {
			uint8_t f[FCM_TTY_HDR + 4];
			size_t k = fcm_tty_encode_resize(f, sizeof f, (unsigned)rows, (unsigned)cols);
			if (fcm_tty_buf_put(&x->tty_out, f, k) < 0)
				fcm_die_nomem();
		} else {
			ws_send_json(x, jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("error")),
			    jv_string("error"), jv_string("resize needs rows and cols from 1 to 10000")));
		}
	} else if (!strcmp(type, "detach")) {
		tty_send(x, FCM_TTY_DETACH, NULL, 0);
		ws_close(x, FCM_WS_CLOSE_NORMAL, "detached");
	} else {
		ws_send_json(x, jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("error")),
		    jv_string("error"), jv_string("unknown control message type")));
	}
	jv_free(v);
}

/* Frames from the browser/client.  0, or -1 when the relay is to end now. */
static int relay_from_ws(struct fcm_relay *x)
{
	struct fcm_ws_frame f;
	const char *why = NULL;

	while (!x->closing && x->ws_in.len) {
		uint8_t *base = x->ws_in.p + x->ws_in.off;
		long k = fcm_ws_parse(base, x->ws_in.len, 1, WS_FRAME_MAX, &f, &why);
		int op;
		if (k == 0)
			break;
		if (k < 0) {
			ws_close(x, f.close_code, why);
			break;
		}
		uint8_t *payload = base + f.hdr_len;
		fcm_ws_unmask(payload, (size_t)f.len, f.mask, 0);
		op = fcm_ws_sequence(&x->msg, &f, &why);
		if (op < 0) {
			ws_close(x, FCM_WS_CLOSE_PROTOCOL, why);
			break;
		}
		switch (op) {
		case FCM_WS_BINARY:
			if (f.len && fcm_tty_buf_data(&x->tty_out, payload, (size_t)f.len) < 0)
				fcm_die_nomem();
			break;
		case FCM_WS_TEXT:
			if (f.opcode == FCM_WS_TEXT)
				x->text_len = 0;
			if (x->text_len + f.len > sizeof x->text) {
				ws_close(x, FCM_WS_CLOSE_TOO_BIG, "control message too long");
				break;
			}
			memcpy(x->text + x->text_len, payload, (size_t)f.len);
			x->text_len += (size_t)f.len;
			if (f.fin) {
				if (!fcm_utf8_valid(x->text, x->text_len)) {
					ws_close(x, FCM_WS_CLOSE_BAD_DATA, "text message is not UTF-8");
					break;
				}
				relay_control(x, x->text, x->text_len);
			}
			break;
		case FCM_WS_CLOSE: {
			unsigned code;
			tty_send(x, FCM_TTY_DETACH, NULL, 0);
			if (fcm_ws_close_parse(payload, (size_t)f.len, &code) < 0)
				ws_close(x, FCM_WS_CLOSE_PROTOCOL, "bad close frame");
			else
				ws_close(x, code == 1005 ? FCM_WS_CLOSE_NORMAL : code, "");
			break;
		}
		case FCM_WS_PING:
			ws_send(x, FCM_WS_PONG, payload, (size_t)f.len);
			break;
		default:
			break;
		}
		fcm_tty_buf_eat(&x->ws_in, (size_t)k);
	}
	return 0;
}

static const char *role_name(unsigned role)
{
	return role == FCM_TTY_ROLE_WRITER ? "writer" : "watcher";
}

/* Frames from the session. */
static void relay_from_tty(struct fcm_relay *x)
{
	struct fcm_tty_frame f;
	const char *why = NULL;
	jv v;

	while (!x->closing && x->tty_in.len) {
		long k = fcm_tty_decode(x->tty_in.p + x->tty_in.off, x->tty_in.len, &f, &why);
		if (k == 0)
			break;
		if (k < 0) {
			fcm_warn("console %s: the session broke the protocol: %s", x->vm, why ? why : "?");
			ws_close(x, FCM_WS_CLOSE_ERROR, "console session protocol error");
			break;
		}
		switch (f.type) {
		case FCM_TTY_DATA:
			ws_send(x, FCM_WS_BINARY, f.data, f.len);
			break;
		case FCM_TTY_WELCOME:
			v = jv_object_set(jv_object(), jv_string("type"), jv_string("welcome"));
			v = jv_object_set(v, jv_string("role"), jv_string(role_name(f.role)));
			v = jv_object_set(v, jv_string("rows"), jv_number(f.rows));
			v = jv_object_set(v, jv_string("cols"), jv_number(f.cols));
			ws_send_json(x, v);
			break;
		case FCM_TTY_ROLE:
			v = jv_object_set(jv_object(), jv_string("type"), jv_string("role"));
			ws_send_json(x, jv_object_set(v, jv_string("role"), jv_string(role_name(f.role))));
			break;
		case FCM_TTY_EXIT:
			v = jv_object_set(jv_object(), jv_string("type"), jv_string("exit"));
			ws_send_json(x, jv_object_set(v, jv_string("status"), jv_number(f.status)));
			ws_close(x, FCM_WS_CLOSE_NORMAL, "the console program exited");
			break;
		case FCM_TTY_ERROR:
			v = jv_object_set(jv_object(), jv_string("type"), jv_string("error"));
			v = jv_object_set(v, jv_string("error"), jv_string_sized((const char *)f.data, (int)f.len));
			ws_send_json(x, v);
			ws_close(x, FCM_WS_CLOSE_ERROR, "console session error");
			break;
		default:
			ws_close(x, FCM_WS_CLOSE_ERROR, "console session protocol error");
			break;
		}
		fcm_tty_buf_eat(&x->tty_in, (size_t)k);
	}
}

static int fill(int fd, struct fcm_tty_buf *b)
{
	uint8_t tmp[65536];
	ssize_t n = read(fd, tmp, sizeof tmp);

	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 1 : -1;
	if (n == 0)
		return 0;
	if (fcm_tty_buf_put(b, tmp, (size_t)n) < 0)
		fcm_die_nomem();
	return 1;
}

/* One relay after poll: revents for the ws and tty fds. */
static void relay_pump(struct fcm_relay *x, short wsev, short ttyev)
{
	if (ttyev & (POLLIN | POLLHUP | POLLERR)) {
		int k = fill(x->tty, &x->tty_in);
		relay_from_tty(x);
		if (k <= 0 && !x->closing)
			ws_close(x, FCM_WS_CLOSE_GOING_AWAY, "the console session ended");
		if (k <= 0) {
			close(x->tty);
			x->tty = -1;
		}
	}
	if (wsev & (POLLIN | POLLHUP | POLLERR)) {
		int k = fill(x->ws, &x->ws_in);
		if (x->shut)
			fcm_tty_buf_clear(&x->ws_in);	/* draining after our close */
		else
			relay_from_ws(x);
		if (k <= 0) {
			relay_free(x, x->shut ? "closed" : k < 0 ? "connection error" : "client went away");
			return;
		}
	}
	if (x->tty >= 0 && x->tty_out.len && fcm_tty_buf_flush(&x->tty_out, x->tty) < 0) {
		close(x->tty);
		x->tty = -1;
		ws_close(x, FCM_WS_CLOSE_GOING_AWAY, "the console session ended");
	}
	if (x->ws_out.len) {
		size_t before = x->ws_out.len;
		if (fcm_tty_buf_flush(&x->ws_out, x->ws) < 0) {
			relay_free(x, "connection error");
			return;
		}
		x->sent += before - x->ws_out.len;
	}
	/* Closing: once our close frame is out, shut down our side and read
	 * what the client still sends until it closes too (closing at once
	 * would reset the connection and could lose the close frame). */
	if (x->closing && !x->shut && !x->ws_out.len) {
		shutdown(x->ws, SHUT_WR);
		x->shut = 1;
		x->close_deadline = fcm_now_ms() + 2000;
	}
	if (x->closing && fcm_now_ms() > x->close_deadline)
		relay_free(x, "closed");
}


int fcm_relays_poll(void (*add)(void *arg, int fd, short events, struct fcm_relay *x), void *arg)
{
	int timeout = -1;

	for (struct fcm_relay *x = relays; x; x = x->next) {
		short ev = 0;
		if ((!x->closing && x->tty_out.len < QUEUE_MAX) || x->shut)
			ev |= POLLIN;
		if (x->ws_out.len)
			ev |= POLLOUT;
		add(arg, x->ws, ev, x);
		if (x->tty >= 0) {
			ev = 0;
			if (!x->closing && x->ws_out.len < QUEUE_MAX)
				ev |= POLLIN;
			if (x->tty_out.len)
				ev |= POLLOUT;
			add(arg, x->tty, ev, x);
		}
		if (x->closing)
			timeout = 100;
		else if (timeout < 0 || timeout > 1000)
			timeout = 1000;		/* to see whether its client takes what waits */
	}
	return timeout;
}

void fcm_relay_event(struct fcm_relay *x, int fd, short revents)
{
	if (fd == x->ws)
		x->wsev = revents;
	else if (fd == x->tty)
		x->ttyev = revents;
}

void fcm_relays_pump(void)
{
	for (struct fcm_relay *x = relays, *next; x; x = next) {
		short wsev = x->wsev, ttyev = x->ttyev;
		next = x->next;
		x->wsev = x->ttyev = 0;
		/* A client that takes nothing of what waits for it is let go (its
		 * output is never buffered past QUEUE_MAX meanwhile). */
		int q = 0;
		if (ioctl(x->ws, SIOCOUTQ, &q) < 0 || q < 0)
			q = 0;
		if ((unsigned long long)q <= x->sent && x->sent - (unsigned long long)q > x->acked) {
			x->acked = x->sent - (unsigned long long)q;
			x->progress_ms = fcm_now_ms();
		}
		if (!x->ws_out.len && !q)
			x->progress_ms = fcm_now_ms();
		else if (!x->closing && fcm_now_ms() - x->progress_ms > slow_ms) {
			relay_free(x, "the client read nothing for too long");
			continue;
		}
		if (wsev || ttyev || x->closing)
			relay_pump(x, wsev, ttyev);
	}
}

void fcm_relays_end(const char *reason)
{
	while (relays) {
		ws_close(relays, FCM_WS_CLOSE_GOING_AWAY, reason);
		fcm_tty_buf_flush(&relays->ws_out, relays->ws);
		relay_free(relays, reason);
	}
}
