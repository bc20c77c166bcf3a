/* test/fuzz/http.c — fcm-api's request parsing (lib/http/http.c): the path
 * router, the bearer-token header, the POST /v1/vms body and the listen
 * address.
 *
 * fuzz-deps: lib/http/http.c lib/core/name.c lib/core/utf8.c lib/core/jsonl.c lib/core/err.c
 * fuzz-libs: -ljq
 *
 * The input is split at its first NUL: method + path before it (the first
 * byte picks the method), a body after it.  Checks: a routed request names
 * a valid VM and an allowed method; a refusal is 400/404/405 with a message;
 * a bearer token lies inside the header and holds no blank; fcm-create's
 * arguments are option/value pairs whose values cannot pass for options, and
 * the last three are --owner USER --no-dotfile --json (wait: --owner, user,
 * then the two flags); log lines are printable. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "http/http.h"
#include "core/name.h"

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "http: check failed: %s\n", what);
		abort();
	}
}

static const char *const methods[] = { "GET", "HEAD", "POST", "DELETE", "PUT", "", "get", "OPTIONS" };

static void fuzz_route(const char *method, const char *path)
{
	struct fcm_route r;
	char err[512], why[256], allow[64];
	int st = fcm_http_route(method, path, &r, err, sizeof err);

	if (st == 0) {
		check(r.kind >= FCM_R_HEALTH, "a route has a kind");
		check((r.method & r.allow) != 0, "the method is allowed");
		if (r.vm[0])
			check(fcm_name_check(r.vm, why, sizeof why) == 0, "the VM name is valid");
		check(!strncmp(path, "/v1/", 4), "routes are under /v1/");
	} else {
		check(st == 400 || st == 404 || st == 405, "a refusal is 400, 404 or 405");
		check(err[0] != '\0', "a refusal says why");
	}
	fcm_http_allow(r.allow, allow, sizeof allow);
}

static void fuzz_bearer(const char *hdr)
{
	const char *tok;
	size_t len;

	if (fcm_http_bearer(hdr, &tok, &len) == 0) {
		check(tok >= hdr && tok + len <= hdr + strlen(hdr), "the token lies in the header");
		check(len > 0, "a token is not empty");
		for (size_t i = 0; i < len; i++)
			check(tok[i] != ' ' && tok[i] != '\t', "a token holds no blank");
	}
}

static void fuzz_create(const char *body, size_t len, int admin)
{
	struct fcm_principal p;
	char err[512];
	int status = 0, n;
	char **argv;

	memset(&p, 0, sizeof p);
	snprintf(p.name, sizeof p.name, "%s", admin ? "admin" : "alice");
	p.admin = admin;
	argv = fcm_http_create_args(body, len, &p, &status, err, sizeof err);
	if (!argv) {
		check(status == 400 || status == 403, "a refused body is 400 or 403");
		check(err[0] != '\0', "a refusal says why");
		return;
	}
	check(argv[0] == NULL, "slot 0 is left for the program");
	for (n = 1; argv[n]; n++)
		;
	check(n >= 4, "at least --owner USER --no-dotfile --json");
	check(!strcmp(argv[n - 1], "--json") && !strcmp(argv[n - 2], "--no-dotfile") &&
	    !strcmp(argv[n - 4], "--owner"), "the fixed tail");
	check(admin || !strcmp(argv[n - 3], "alice"), "a user creates for itself");
	for (int i = 1; i < n; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--no-expose") || !strcmp(a, "--no-wait") || !strcmp(a, "--no-dotfile") ||
		    !strcmp(a, "--json"))
			continue;
		check(a[0] == '-' && a[1] == '-', "an option");
		check(argv[i + 1] && argv[i + 1][0] != '-', "its value cannot pass for an option");
		i++;
	}
	fcm_http_argv_free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *body, out[256];
	size_t head, blen;
	unsigned char addr[128];
	unsigned alen;
	int v6;

	if (size < 1)
		return 0;
	text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	head = strlen(text + 1);
	body = text + 1 + head + (1 + head < size ? 1 : 0);
	blen = size - (size_t)(body - text);

	fuzz_route(methods[data[0] & 7], text + 1);
	fuzz_bearer(text + 1);
	fuzz_create(body, blen, data[0] & 8);
	(void)fcm_http_status_for(data[0] & 16 ? 100 : 111, text + 1);
	(void)fcm_http_listen_parse(text + 1, addr, &alen, &v6, out, sizeof out);
	fcm_http_log_safe(text + 1, 120, out, sizeof out);
	for (const char *c = out; *c; c++)
		check(*c >= 0x20 && *c < 0x7f, "log text is printable");
	free(text);
	return 0;
}
