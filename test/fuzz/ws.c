/* test/fuzz/ws.c — WebSocket framing (lib/http/ws.c), as fcm-api and the
 * remote fcm-console parse what the network sends them.
 *
 * fuzz-deps: lib/http/ws.c lib/core/utf8.c
 * fuzz-libs: -lcrypto
 *
 * The first byte picks the side (masked frames for a server, unmasked for a
 * client) and the payload limit; the rest is parsed frame after frame as the
 * relays do: parse, unmask, check the message sequence, check close frames.
 * Checks: nothing is read past the input (ASan), an accepted frame lies
 * inside the input, honours the limit and the control-frame rules, and its
 * header re-encodes to exactly the bytes it was parsed from (the parser
 * accepts shortest-form lengths only). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/ws.h"

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "ws: check failed: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t limits[] = { 0, 1, 125, 126, 65535, 65536, 1 << 20, UINT64_MAX };
	struct fcm_ws_msg msg = { 0 };
	uint8_t *buf;
	size_t off = 1;
	int masked;
	uint64_t max;

	if (size < 1)
		return 0;
	masked = data[0] & 1;
	max = limits[(data[0] >> 1) & 7];
	/* A copy: the relays unmask in place. */
	buf = malloc(size);
	if (!buf)
		return 0;
	memcpy(buf, data, size);

	/* The handshake key check on the input as text. */
	{
		char key[32];
		size_t n = size - 1 < sizeof key - 1 ? size - 1 : sizeof key - 1;
		memcpy(key, data + 1, n);
		key[n] = '\0';
		if (fcm_ws_key_ok(key)) {
			char acc[29];
			check(strlen(key) == 24, "a key is 24 characters");
			check(fcm_ws_accept(key, acc) == 0 && strlen(acc) == 28, "accept of a good key");
		}
	}

	while (off < size) {
		struct fcm_ws_frame f;
		const char *why = NULL;
		long k = fcm_ws_parse(buf + off, size - off, masked, max, &f, &why);
		uint8_t hdr[FCM_WS_HDR_MAX];
		size_t h;
		int op;

		if (k == 0)
			break;
		if (k < 0) {
			check(why != NULL, "a refusal has a reason");
			check(f.close_code == FCM_WS_CLOSE_PROTOCOL || f.close_code == FCM_WS_CLOSE_TOO_BIG,
			    "a refusal has a close code");
			break;
		}
		check((size_t)k <= size - off, "a frame lies inside the input");
		check(f.hdr_len >= 2 && f.hdr_len <= FCM_WS_HDR_MAX, "header length");
		check(f.hdr_len + f.len == (uint64_t)k, "header + payload = frame");
		check(f.len <= max, "the limit holds");
		check(f.masked == masked, "masking as the side requires");
		check(f.payload == buf + off + f.hdr_len, "payload follows the header");
		if (f.opcode >= 8)
			check(f.fin && f.len <= FCM_WS_CONTROL_MAX, "control frames: whole and short");
		h = fcm_ws_header(hdr, f.fin, f.opcode, f.len, f.masked ? f.mask : NULL);
		check(h == f.hdr_len && !memcmp(hdr, buf + off, h), "the header re-encodes to its bytes");

		fcm_ws_unmask(buf + off + f.hdr_len, (size_t)f.len, f.mask, 0);
		op = fcm_ws_sequence(&msg, &f, &why);
		if (op < 0) {
			check(why != NULL, "a sequence error has a reason");
			break;
		}
		check(op == FCM_WS_TEXT || op == FCM_WS_BINARY || op == FCM_WS_CLOSE || op == FCM_WS_PING ||
		    op == FCM_WS_PONG, "the message kind");
		if (op == FCM_WS_CLOSE) {
			unsigned code = 0;
			if (fcm_ws_close_parse(f.payload, (size_t)f.len, &code) == 0)
				check(code == 1005 || (code >= 1000 && code < 5000), "close code range");
		}
		off += (size_t)k;
	}
	free(buf);
	return 0;
}
