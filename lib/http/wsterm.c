/* wsterm.c — a terminal session through the API's WebSocket (wsterm.h):
 * lib/tty/term's loop with the WebSocket as its transport. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "http/client.h"
#include "http/ws.h"
#include "http/wsterm.h"
#include "tty/term.h"
#include "tty/ttyproto.h"

static struct {
	struct fcm_client_conn *conn;
	struct fcm_tty_buf in, out;	/* bytes from and to the API */
	struct fcm_ws_msg msg;
	char text[8192];		/* a text message being reassembled */
	size_t text_len;
} W;

/* Queue a frame to the API, masked as a client's must be. */
static void ws_queue(int opcode, const void *p, size_t n)
{
	uint8_t hdr[FCM_WS_HDR_MAX], mask[4];

	if (getrandom(mask, sizeof mask, 0) != (ssize_t)sizeof mask)
		fcm_term_fail("unable to get random bytes: %s", strerror(errno));
	if (fcm_tty_buf_put(&W.out, hdr, fcm_ws_header(hdr, 1, opcode, n, mask)) < 0 ||
	    fcm_tty_buf_put(&W.out, p, n) < 0)
		fcm_die_nomem();
	fcm_ws_unmask(W.out.p + W.out.off + W.out.len - n, n, mask, 0);
}

static void ws_queue_json(jv v)
{
	jv s = jv_dump_string(v, 0);

	ws_queue(FCM_WS_TEXT, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

static void ws_input(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	ws_queue(FCM_WS_BINARY, p, n);
}

static void ws_resize(void *ctx, unsigned rows, unsigned cols)
{
	jv v = jv_object_set(jv_object(), jv_string("type"), jv_string("resize"));

	(void)ctx;
	v = jv_object_set(v, jv_string("rows"), jv_number(rows));
	ws_queue_json(jv_object_set(v, jv_string("cols"), jv_number(cols)));
}

static void ws_detach(void *ctx)
{
	static const uint8_t normal[2] = { FCM_WS_CLOSE_NORMAL >> 8, FCM_WS_CLOSE_NORMAL & 0xff };

	(void)ctx;
	ws_queue_json(jv_object_set(jv_object(), jv_string("type"), jv_string("detach")));
	ws_queue(FCM_WS_CLOSE, normal, sizeof normal);
}

static long ws_flush(void *ctx)
{
	long sent;

	(void)ctx;
	while (W.out.len && (sent = fcm_client_conn_send(W.conn, W.out.p + W.out.off, W.out.len)) != 0) {
		if (sent < 0)
			return -1;
		fcm_tty_buf_eat(&W.out, (size_t)sent);
	}
	return (long)W.out.len;
}

/* A text message: JSON control (welcome and role need nothing shown). */
static void ws_text(const char *t, size_t n)
{
	jv v = jv_parse_sized(t, (int)n);
	const char *type = jv_get_kind(v) == JV_KIND_OBJECT ? fcm_get_str(v, "type") : NULL;
	long status = 0;
	char err[64];

	if (type && !strcmp(type, "exit")) {
		fcm_get_int(v, "status", 0, 255 + 128, &status, err, sizeof err);
		fcm_term_exit((unsigned)status);
	}
	if (type && !strcmp(type, "error")) {
		const char *e = fcm_get_str(v, "error");
		fcm_term_fail("the session refused us: %s", e ? e : "?");
	}
	jv_free(v);
}

static void ws_frame(const struct fcm_ws_frame *f, int op)
{
	unsigned code;

	switch (op) {
	case FCM_WS_BINARY:
		fcm_term_output(f->payload, (size_t)f->len);
		break;
	case FCM_WS_TEXT:
		if (f->opcode == FCM_WS_TEXT)
			W.text_len = 0;
		if (W.text_len + f->len <= sizeof W.text) {
			memcpy(W.text + W.text_len, f->payload, (size_t)f->len);
			W.text_len += (size_t)f->len;
		}
		if (f->fin)
			ws_text(W.text, W.text_len);
		break;
	case FCM_WS_PING:
		ws_queue(FCM_WS_PONG, f->payload, (size_t)f->len);
		break;
	case FCM_WS_CLOSE:
		if (fcm_ws_close_parse(f->payload, (size_t)f->len, &code) == 0 && f->len > 2)
			fcm_term_end(FCM_EXIT_TEMP, "[connection to the session lost: %.*s]", (int)f->len - 2,
			    (const char *)f->payload + 2);
		fcm_term_end(FCM_EXIT_TEMP, "[connection to the session lost]");
	default:
		break;
	}
}

static void ws_recv(void *ctx)
{
	uint8_t buf[65536];
	struct fcm_ws_frame f;
	const char *why = NULL;
	long k;
	int open = 1;

	(void)ctx;
	while ((k = fcm_client_conn_recv(W.conn, buf, sizeof buf)) > 0)
		if (fcm_tty_buf_put(&W.in, buf, (size_t)k) < 0)
			fcm_die_nomem();
	if (k == 0 || errno != EAGAIN)
		open = 0;
	while ((k = fcm_ws_parse(W.in.p + W.in.off, W.in.len, 0, 16 * 1024 * 1024, &f, &why)) > 0) {
		int op = fcm_ws_sequence(&W.msg, &f, &why);
		if (op < 0)
			break;
		ws_frame(&f, op);
		fcm_tty_buf_eat(&W.in, (size_t)k);
	}
	if (k < 0 || why)
		fcm_term_fail("WebSocket protocol error from the API: %s", why);
	if (!open)
		fcm_term_end(FCM_EXIT_TEMP, "[connection to the session lost]");
}

_Noreturn void fcm_wsterm_run(const char *path, const char *hint, int read_only)
{
	struct fcm_term_transport t = {
		.input = ws_input, .resize = ws_resize, .detach = ws_detach, .recv = ws_recv, .flush = ws_flush,
	};
	jv reply;

	W.conn = fcm_client_upgrade(path, &reply);
	if (!W.conn)
		fcm_die_reply(reply);
	t.fd = fcm_client_conn_fd(W.conn);
	fcm_term_run(&t, hint, read_only);
}
