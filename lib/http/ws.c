/* ws.c — WebSocket framing (RFC 6455); see ws.h for why it is hand-written. */
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>

#include "core/utf8.h"
#include "http/ws.h"

#define FAIL(code, msg) do { f->close_code = (code); if (why) *why = (msg); return -1; } while (0)

long fcm_ws_parse(const uint8_t *buf, size_t len, int masked, uint64_t max,
    struct fcm_ws_frame *f, const char **why)
{
	size_t need = 2;
	uint64_t plen;

	memset(f, 0, sizeof *f);
	if (len < 2)
		return 0;
	f->fin = buf[0] >> 7;
	f->opcode = buf[0] & 0x0f;
	f->masked = buf[1] >> 7;
	plen = buf[1] & 0x7f;
	if (buf[0] & 0x70)
		FAIL(FCM_WS_CLOSE_PROTOCOL, "reserved bits set (no extension was negotiated)");
	switch (f->opcode) {
	case FCM_WS_CONT: case FCM_WS_TEXT: case FCM_WS_BINARY:
		break;
	case FCM_WS_CLOSE: case FCM_WS_PING: case FCM_WS_PONG:
		if (!f->fin)
			FAIL(FCM_WS_CLOSE_PROTOCOL, "fragmented control frame");
		if (plen > FCM_WS_CONTROL_MAX)
			FAIL(FCM_WS_CLOSE_PROTOCOL, "control frame longer than 125 bytes");
		break;
	default:
		FAIL(FCM_WS_CLOSE_PROTOCOL, "unknown opcode");
	}
	if (f->masked != (masked != 0))
		FAIL(FCM_WS_CLOSE_PROTOCOL, masked ? "client frame not masked" : "server frame masked");
	if (plen == 126) {
		need += 2;
		if (len < need)
			return 0;
		plen = (uint64_t)buf[2] << 8 | buf[3];
		if (plen < 126)
			FAIL(FCM_WS_CLOSE_PROTOCOL, "length not in its shortest form");
	} else if (plen == 127) {
		need += 8;
		if (len < need)
			return 0;
		if (buf[2] & 0x80)
			FAIL(FCM_WS_CLOSE_PROTOCOL, "64-bit length with its top bit set");
		plen = 0;
		for (int i = 2; i < 10; i++)
			plen = plen << 8 | buf[i];
		if (plen <= 0xffff)
			FAIL(FCM_WS_CLOSE_PROTOCOL, "length not in its shortest form");
	}
	if (plen > max || plen > ((uint64_t)1 << 62))
		FAIL(FCM_WS_CLOSE_TOO_BIG, "frame too large");
	if (f->masked) {
		if (len < need + 4)
			return 0;
		memcpy(f->mask, buf + need, 4);
		need += 4;
	}
	f->hdr_len = need;
	f->len = plen;
	/* need <= 14 and plen <= 2^62: no overflow below */
	if (plen > (uint64_t)(len - need))
		return 0;
	f->payload = buf + need;
	return (long)(need + plen);
}

void fcm_ws_unmask(uint8_t *p, size_t n, const uint8_t mask[4], uint64_t offset)
{
	for (size_t i = 0; i < n; i++)
		p[i] ^= mask[(offset + i) & 3];
}

int fcm_ws_sequence(struct fcm_ws_msg *m, const struct fcm_ws_frame *f, const char **why)
{
	switch (f->opcode) {
	case FCM_WS_CLOSE: case FCM_WS_PING: case FCM_WS_PONG:
		return f->opcode;
	case FCM_WS_CONT:
		if (!m->opcode) {
			if (why)
				*why = "continuation frame without a message in progress";
			return -1;
		}
		{
			int op = m->opcode;
			if (f->fin)
				m->opcode = 0;
			return op;
		}
	case FCM_WS_TEXT: case FCM_WS_BINARY:
		if (m->opcode) {
			if (why)
				*why = "new message before the previous one ended";
			return -1;
		}
		if (!f->fin)
			m->opcode = f->opcode;
		return f->opcode;
	default:
		if (why)
			*why = "unknown opcode";
		return -1;
	}
}

int fcm_ws_close_parse(const uint8_t *p, size_t n, unsigned *code)
{
	unsigned c;

	if (n == 0) {
		*code = 1005;
		return 0;
	}
	if (n < 2 || n > FCM_WS_CONTROL_MAX)
		return -1;
	c = (unsigned)p[0] << 8 | p[1];
	if (!((c >= 1000 && c <= 1003) || (c >= 1007 && c <= 1014) || (c >= 3000 && c <= 4999)))
		return -1;
	if (n > 2 && !fcm_utf8_valid((const char *)p + 2, n - 2))
		return -1;
	*code = c;
	return 0;
}

size_t fcm_ws_header(uint8_t out[FCM_WS_HDR_MAX], int fin, int opcode, uint64_t len,
    const uint8_t *mask)
{
	size_t n = 2;

	out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
	if (len < 126) {
		out[1] = (uint8_t)len;
	} else if (len <= 0xffff) {
		out[1] = 126;
		out[2] = (uint8_t)(len >> 8);
		out[3] = (uint8_t)len;
		n = 4;
	} else {
		out[1] = 127;
		for (int i = 0; i < 8; i++)
			out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
		n = 10;
	}
	if (mask) {
		out[1] |= 0x80;
		memcpy(out + n, mask, 4);
		n += 4;
	}
	return n;
}

static int b64char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	    c == '+' || c == '/';
}

int fcm_ws_key_ok(const char *key)
{
	/* 16 bytes: 22 base64 characters, then "==" ; the last character
	 * before the padding carries 4 zero bits: one of AQgw. */
	if (strlen(key) != 24 || key[22] != '=' || key[23] != '=')
		return 0;
	for (int i = 0; i < 22; i++)
		if (!b64char(key[i]))
			return 0;
	return strchr("AQgw", key[21]) != NULL;
}

int fcm_ws_key_new(char out[25])
{
	unsigned char raw[16];

	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
	out[24] = '\0';
	return 0;
}

int fcm_ws_accept(const char *key, char out[29])
{
	char buf[64];
	unsigned char md[20];
	unsigned int mdlen = 0;
	size_t n = strlen(key);

	if (n > 24)
		return -1;
	memcpy(buf, key, n);
	memcpy(buf + n, FCM_WS_GUID, sizeof FCM_WS_GUID - 1);
	if (!EVP_Digest(buf, n + sizeof FCM_WS_GUID - 1, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	out[28] = '\0';
	return 0;
}
