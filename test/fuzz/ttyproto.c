/* test/fuzz/ttyproto.c — the fcm-tty frame decoder (lib/tty/ttyproto.c).
 *
 *   clang -fsanitize=fuzzer,address,undefined -iquote lib \
 *       test/fuzz/ttyproto.c lib/tty/ttyproto.c -o fuzz && ./fuzz -max_total_time=5
 *
 * Built with -DFCM_UNIT instead, it is a unit test of the decoder's checks.
 * The fuzz target decodes every frame of the input in turn, checks that what
 * the decoder accepts re-encodes to the same bytes, and that it never reads
 * past the buffer (ASan) nor accepts anything out of bounds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tty/ttyproto.h"

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "ttyproto: check failed: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct fcm_tty_frame f;
		const char *why = NULL;
		/* Copy the rest so ASan sees any read past the end. */
		size_t n = size - off;
		uint8_t *buf = malloc(n ? n : 1), re[FCM_TTY_FRAME_MAX];
		long k;

		memcpy(buf, data + off, n);
		k = fcm_tty_decode(buf, n, &f, &why);
		if (k <= 0) {
			check(k == 0 || why != NULL, "a refusal has a reason");
			free(buf);
			break;
		}
		check((size_t)k <= n && (size_t)k >= FCM_TTY_HDR, "frame size within the buffer");
		check(f.len <= FCM_TTY_PAYLOAD_MAX, "payload bounded");
		check((size_t)k == FCM_TTY_HDR + f.len, "frame size is header + payload");
		check(fcm_tty_encode(re, sizeof re, f.type, f.data, f.len) == (size_t)k, "re-encodes");
		check(!memcmp(re, buf, (size_t)k), "re-encodes to the same bytes");
		if (f.type == FCM_TTY_RESIZE)
			check(f.rows >= 1 && f.rows <= FCM_TTY_SIZE_MAX && f.cols >= 1 && f.cols <= FCM_TTY_SIZE_MAX,
			    "resize bounded");
		free(buf);
		off += (size_t)k;
	}
	return 0;
}

#ifdef FCM_UNIT
static int fails;

static void expect(const char *name, const void *buf, size_t len, long want)
{
	struct fcm_tty_frame f;
	const char *why = NULL;
	long k = fcm_tty_decode(buf, len, &f, &why);

	if ((want > 0 && k != want) || (want == 0 && k != 0) || (want < 0 && k >= 0)) {
		printf("FAIL %s: got %ld, want %ld (%s)\n", name, k, want, why ? why : "");
		fails++;
	}
}

int main(void)
{
	uint8_t b[FCM_TTY_FRAME_MAX + 16], big[FCM_TTY_FRAME_MAX + 1];
	size_t n;

	n = fcm_tty_encode_hello(b, sizeof b, FCM_TTY_MODE_RW, 24, 80);
	expect("hello", b, n, (long)n);
	expect("hello truncated payload", b, n - 1, 0);
	expect("hello header only", b, 3, 0);
	expect("empty", b, 0, 0);
	b[5] = 0;
	expect("hello version 0", b, n, -1);
	n = fcm_tty_encode_hello(b, sizeof b, FCM_TTY_MODE_RO, 0, 0);
	expect("hello size unknown", b, n, (long)n);
	b[6] = 7;
	expect("hello bad mode", b, n, -1);
	expect("hello size 0x80", (const uint8_t *)"H\0\0\0\6\1\0\0\0\0\x50", 11, -1);
	expect("hello 10001 rows", (const uint8_t *)"H\0\0\0\6\1\0\x27\x11\0\x50", 11, -1);
	expect("hello long", (const uint8_t *)"H\0\0\0\7\1\0\0\x18\0\x50\0", 12, -1);
	expect("unknown type", (const uint8_t *)"Z\0\0\0\0", 5, -1);
	expect("unknown type, 1 byte", (const uint8_t *)"Z", 1, -1);
	expect("data empty", (const uint8_t *)"D\0\0\0\0", 5, -1);
	expect("data 2", (const uint8_t *)"D\0\0\0\2hi", 7, 7);
	expect("data length too large", (const uint8_t *)"D\0\1\0\1", 5, -1);
	expect("data length huge", (const uint8_t *)"D\xff\xff\xff\xff", 5, -1);
	memset(big, 'x', sizeof big);
	n = fcm_tty_encode(big, sizeof big, FCM_TTY_DATA, big + 100, FCM_TTY_PAYLOAD_MAX);
	expect("data max", big, n, (long)n);
	check(fcm_tty_encode(big, sizeof big, FCM_TTY_DATA, big, FCM_TTY_PAYLOAD_MAX + 1) == 0, "encode refuses oversize");
	expect("resize ok", (const uint8_t *)"R\0\0\0\4\0\x18\0\x50", 9, 9);
	expect("resize zero", (const uint8_t *)"R\0\0\0\4\0\0\0\x50", 9, -1);
	expect("resize short", (const uint8_t *)"R\0\0\0\3\0\x18\0", 8, -1);
	expect("detach", (const uint8_t *)"Q\0\0\0\0", 5, 5);
	expect("detach with payload", (const uint8_t *)"Q\0\0\0\1x", 6, -1);
	expect("exit 3", (const uint8_t *)"X\0\0\0\4\0\0\0\3", 9, 9);
	expect("exit 256", (const uint8_t *)"X\0\0\0\4\0\0\1\0", 9, -1);
	expect("role 2", (const uint8_t *)"P\0\0\0\1\2", 6, -1);
	expect("error empty", (const uint8_t *)"E\0\0\0\0", 5, -1);
	expect("error too long", (const uint8_t *)"E\0\0\4\1", 5, -1);
	n = fcm_tty_encode_welcome(b, sizeof b, FCM_TTY_ROLE_WATCHER, 30, 100, 1234);
	expect("welcome", b, n, (long)n);
	check(fcm_tty_encode_resize(b, sizeof b, 0, 80) == 0, "encode refuses a zero size");
	check(fcm_tty_encode_hello(b, 4, 0, 24, 80) == 0, "encode refuses a short buffer");
	/* two frames back to back: the first is taken alone */
	expect("two frames", (const uint8_t *)"Q\0\0\0\0Q\0\0\0\0", 10, 5);
	/* the fuzz target over a few inputs */
	LLVMFuzzerTestOneInput((const uint8_t *)"Q\0\0\0\0D\0\0\0\1aR\0\0\0\4\0\1\0\1", 21);
	LLVMFuzzerTestOneInput(big, sizeof big);
	if (fails)
		return 1;
	printf("all decoder checks passed\n");
	return 0;
}
#endif
