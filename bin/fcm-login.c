/* fcm-login — log in to an fcm host with OpenID Connect (doc/fcm-login.md).
 *
 *   fcm login [--device] [--issuer URL] [--host HOST] [--no-browser] [--json]
 *
 * Loopback flow (default, RFC 8252): listen on 127.0.0.1:<random port>,
 * open (or print) the issuer's authorization URL with PKCE (S256), state and
 * nonce, receive the redirect, and hand the code, the PKCE verifier and the
 * nonce to the host, which exchanges the code with its client secret and
 * verifies the ID token.  Device flow (--device, RFC 8628): print a URL and
 * a code, and wait while the host polls the issuer.  The fcm token the host
 * answers is stored in ~/.fcm-token (0600), the host in ~/.fcm-host.
 *
 * FCM_BROWSER names a program run with the URL as its one argument instead
 * of xdg-open (never through a shell). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/evp.h>

#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/run.h"
#include "http/client.h"
#include "http/http.h"
#include "auth/jwt.h"
#include "auth/token.h"

static const char usage[] = "fcm login [--device] [--issuer URL] [--host HOST] [--no-browser] [--json]";

/* --- the redirect listener (libmicrohttpd's own thread) --------------------- */

static char want_state[64];
static char got_code[4097], got_error[512];
static int done_pipe[2] = { -1, -1 };
static int got;

static const char page_ok[] =
    "<!doctype html><title>fcm login</title><p>Logged in: you can close this tab and go back to the terminal.</p>\n";
static const char page_bad[] =
    "<!doctype html><title>fcm login</title><p>The login failed: see the terminal.</p>\n";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *page)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(strlen(page), (void *)page, MHD_RESPMEM_PERSISTENT);
	enum MHD_Result ret;

	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/html; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_redirect(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *data_size, void **con_cls)
{
	const char *state, *code, *error, *desc;

	(void)cls;
	(void)version;
	(void)data;
	(void)data_size;
	(void)con_cls;
	if (strcmp(method, "GET") || strcmp(url, "/callback"))
		return reply(c, 404, "<!doctype html><p>Not found.</p>\n");
	if (__atomic_load_n(&got, __ATOMIC_ACQUIRE))
		return reply(c, 409, page_bad);
	state = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "state");
	code = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "code");
	error = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "error");
	desc = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "error_description");
	/* A redirect without our state is not ours (another page, a forgery):
	 * ignore it and keep waiting. */
	if (!state || !fcm_token_equal(state, strlen(state), want_state, strlen(want_state)))
		return reply(c, 400, page_bad);
	if (error) {
		char e[64], d[256];
		fcm_http_log_safe(error, 60, e, sizeof e);
		fcm_http_log_safe(desc ? desc : "", 200, d, sizeof d);
		snprintf(got_error, sizeof got_error, "the issuer refused the login: %s%s%s", e, *d ? ": " : "", d);
	} else if (!code || !*code || strlen(code) >= sizeof got_code) {
		snprintf(got_error, sizeof got_error, "the issuer redirected back without a code");
	} else {
		memcpy(got_code, code, strlen(code) + 1);
	}
	__atomic_store_n(&got, 1, __ATOMIC_RELEASE);
	if (write(done_pipe[1], "x", 1) < 0) {
		/* the main thread times out */
	}
	return reply(c, got_error[0] ? 400 : 200, got_error[0] ? page_bad : page_ok);
}

/* --- helpers ------------------------------------------------------------------ */

static char *random_b64(size_t n)
{
	unsigned char raw[64];

	if (n > sizeof raw || getrandom(raw, n, 0) != (ssize_t)n)
		fcm_die_sys(FCM_E_INTERNAL, "unable to get random bytes");
	char *s = fcm_b64url_encode(raw, n);
	explicit_bzero(raw, sizeof raw);
	return s;
}

static char *escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0), *r;

	if (!e)
		fcm_die_nomem();
	r = fcm_strdup(e);
	curl_free(e);
	return r;
}

static void open_browser(const char *url, int no_browser)
{
	const char *prog = getenv("FCM_BROWSER");
	char *argv[3] = { NULL, (char *)url, NULL };
	struct fcm_child c = { .argv = argv, .in = FCM_CHILD_NULL, .out = FCM_CHILD_NULL };

	if (!prog || !*prog) {
		if (no_browser || (!getenv("DISPLAY") && !getenv("WAYLAND_DISPLAY")))
			return;
		prog = "xdg-open";
	}
	argv[0] = (char *)prog;
	/* not waited for: a browser may run longer than we do */
	if (fcm_child_start(&c) < 0)
		fcm_warn("unable to run %s: open the URL yourself", prog);
}

/* A login request (no token; body consumed, jv_invalid() for none): the
 * reply of a 200, else dies with the host's error — but for a 428 (a device
 * login not approved yet) when pending is not NULL: then *pending = 1. */
static jv call(const char *method, const char *path, jv body, int *pending)
{
	jv reply, text = jv_is_valid(body) ? jv_dump_string(body, 0) : jv_invalid();
	long status = fcm_client_request(method, path, jv_is_valid(text) ? jv_string_value(text) : NULL, -1, &reply);

	if (jv_is_valid(text))	/* it may hold a code and its verifier */
		explicit_bzero((char *)jv_string_value(text), (size_t)jv_string_length_bytes(jv_copy(text)));
	jv_free(text);
	if (pending)
		*pending = status == 428;
	if ((status != 200 && !(pending && *pending)) || jv_get_kind(reply) != JV_KIND_OBJECT)
		fcm_die_reply(reply);
	return reply;
}

/* The host's answer to a login: store the token, say who we are. */
static int finish(jv v, int json)
{
	const char *tok = fcm_get_str(v, "token");
	jv u = jv_object_get(jv_copy(v), jv_string("user"));
	const char *email, *name, *id;
	jv admin;

	if (!tok || !fcm_token_syntax_ok(tok, strlen(tok)) || jv_get_kind(u) != JV_KIND_OBJECT)
		fcm_die(FCM_E_INTERNAL, "the host answered the login without a token");
	if (fcm_client_token_save(tok, fcm_client_host()) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write ~/.fcm-token");
	email = fcm_get_str(u, "email");
	name = fcm_get_str(u, "name");
	id = fcm_get_str(u, "id");
	admin = jv_object_get(jv_copy(u), jv_string("admin"));
	if (json) {
		u = jv_object_set(u, jv_string("host"), jv_string(fcm_client_host()));
		u = jv_object_set(u, jv_string("ok"), jv_true());
		fcm_jsonl_write(stdout, jv_copy(u));
	} else {
		printf("Logged in to %s as %s%s%s%s, user %s%s\n", fcm_client_host(), email ? email : id,
		    name ? " (" : "", name ? name : "", name ? ")" : "", id,
		    jv_get_kind(admin) == JV_KIND_TRUE ? ", an admin" : "");
		printf("Your token is in ~/.fcm-token.\n");
	}
	jv_free(admin);
	jv_free(u);
	return 0;
}

static int device_flow(int json)
{
	char err[512];
	long interval, expires;
	jv v = call("POST", "/v1/auth/device", jv_invalid(), NULL);
	const char *uri, *full, *code;
	char *dc;
	time_t deadline;
	int pending;

	uri = fcm_get_str(v, "verification_uri");
	full = fcm_get_str(v, "verification_uri_complete");
	code = fcm_get_str(v, "user_code");
	if (!fcm_get_str(v, "device_code") || !code || !uri)
		fcm_die(FCM_E_INTERNAL, "the host's device login answer lacks the code or URL");
	if (fcm_get_int(v, "interval", 1, 60, &interval, err, sizeof err) != 1)
		interval = 5;
	if (fcm_get_int(v, "expires_in", 1, 86400, &expires, err, sizeof err) != 1)
		expires = 600;
	fprintf(stderr, "To log in, open %s\nand enter the code: %s\n", uri, code);
	if (full)
		fprintf(stderr, "(or open %s)\n", full);
	fprintf(stderr, "Waiting for the login to be approved...\n");
	dc = fcm_strdup(fcm_get_str(v, "device_code"));
	jv_free(v);
	deadline = time(NULL) + expires;
	for (;;) {
		sleep((unsigned)interval);
		jv req = jv_object_set(jv_object(), jv_string("device_code"), jv_string(dc));
		v = call("POST", "/v1/auth/login", req, &pending);
		if (!pending)
			break;
		const char *p = fcm_get_str(v, "pending");
		if (p && !strcmp(p, "slow_down"))
			interval += 5;
		jv_free(v);
		if (time(NULL) > deadline)
			fcm_die(FCM_E_USAGE, "the code expired before the login was approved: run 'fcm login --device' again");
	}
	explicit_bzero(dc, strlen(dc));
	free(dc);
	int r = finish(v, json);
	jv_free(v);
	return r;
}

static int loopback_flow(jv cfg, int no_browser, int json)
{
	const char *authz = fcm_get_str(cfg, "authorization_endpoint");
	const char *client = fcm_get_str(cfg, "client_id"), *scope = fcm_get_str(cfg, "scope");
	struct MHD_Daemon *d;
	struct sockaddr_in sa;
	const union MHD_DaemonInfo *di;
	char *verifier, *challenge, *state, *nonce, *redirect, *url;
	char *e_client, *e_redirect, *e_scope;
	unsigned char md[32];
	unsigned mdlen = 0;
	long timeout = 300;
	const char *ts = getenv("FCM_LOGIN_TIMEOUT");

	if (!authz || !client)
		fcm_die(FCM_E_USAGE, "the host's issuer has no authorization endpoint: try 'fcm login --device'");
	if (ts && *ts)
		timeout = strtol(ts, NULL, 10) > 0 ? strtol(ts, NULL, 10) : 300;
	verifier = random_b64(32);			/* 43 characters */
	if (!EVP_Digest(verifier, strlen(verifier), md, &mdlen, EVP_sha256(), NULL))
		fcm_die(FCM_E_BUG, "SHA-256 is not available from libcrypto");
	challenge = fcm_b64url_encode(md, mdlen);
	state = random_b64(24);
	nonce = random_b64(24);
	snprintf(want_state, sizeof want_state, "%s", state);
	if (pipe2(done_pipe, O_CLOEXEC) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "pipe");
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    on_redirect, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_CONNECTION_TIMEOUT, 30U, MHD_OPTION_CONNECTION_LIMIT, 16U, MHD_OPTION_END);
	if (!d || !(di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT)) || !di->port)
		fcm_die(FCM_E_INTERNAL, "unable to listen on 127.0.0.1 for the login's redirect");
	redirect = fcm_asprintf("http://127.0.0.1:%u/callback", (unsigned)di->port);
	e_client = escape(client);
	e_redirect = escape(redirect);
	e_scope = escape(scope ? scope : "openid email profile");
	url = fcm_asprintf("%s%sresponse_type=code&client_id=%s&redirect_uri=%s&scope=%s&state=%s&nonce=%s"
	    "&code_challenge=%s&code_challenge_method=S256", authz, strchr(authz, '?') ? "&" : "?",
	    e_client, e_redirect, e_scope, state, nonce, challenge);
	fprintf(stderr, "To log in, open this URL in a browser on this machine:\n\n  %s\n\nWaiting for the login (Ctrl-C to give up)...\n", url);
	open_browser(url, no_browser);
	struct pollfd p = { .fd = done_pipe[0], .events = POLLIN };
	int k = poll(&p, 1, (int)(timeout * 1000));
	if (k <= 0)
		fcm_die(FCM_E_INTERNAL, "no login came back within %lds: run 'fcm login' again (or 'fcm login --device')", timeout);
	if (got_error[0]) {
		usleep(200000);		/* let the browser have its page */
		fcm_die(FCM_E_USAGE, "%s", got_error);
	}
	jv req = jv_object();
	req = jv_object_set(req, jv_string("code"), jv_string(got_code));
	req = jv_object_set(req, jv_string("code_verifier"), jv_string(verifier));
	req = jv_object_set(req, jv_string("redirect_uri"), jv_string(redirect));
	req = jv_object_set(req, jv_string("nonce"), jv_string(nonce));
	explicit_bzero(got_code, sizeof got_code);
	jv v = call("POST", "/v1/auth/login", req, NULL);
	MHD_stop_daemon(d);	/* after the exchange: the browser has its page */
	int r = finish(v, json);
	jv_free(v);
	explicit_bzero(verifier, strlen(verifier));
	free(verifier);
	free(challenge);
	free(state);
	free(nonce);
	free(redirect);
	free(url);
	free(e_client);
	free(e_redirect);
	free(e_scope);
	return r;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device", no_argument, NULL, 'd' },
		{ "issuer", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, 'H' },
		{ "no-browser", no_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *issuer = NULL, *host = NULL, *iss;
	int device = 0, no_browser = 0, json = 0, c, r;
	jv cfg;

	fcm_init("fcm-login");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "di:H:njh", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': device = 1; break;
		case 'i': issuer = optarg; break;
		case 'H': host = optarg; break;
		case 'n': no_browser = 1; break;
		case 'j': json = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (optind != argc)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind], usage);
	if (json)
		fcm_err_json(1);
	signal(SIGPIPE, SIG_IGN);
	fcm_client_set_host(host);
	fcm_client_setup(FCM_CLIENT_ANONYMOUS);
	cfg = call("GET", "/v1/auth/config", jv_invalid(), NULL);
	iss = fcm_get_str(cfg, "issuer");
	if (issuer) {
		size_t n = strlen(issuer);
		while (n > 8 && issuer[n - 1] == '/')
			n--;
		if (!iss || strlen(iss) != n || strncmp(iss, issuer, n))
			fcm_die(FCM_E_USAGE, "the host %s trusts logins from %s, not from %.200s: set the issuer on the host (doc/auth.md)",
			    fcm_client_host(), iss ? iss : "no issuer", issuer);
	}
	r = device ? device_flow(json) : loopback_flow(cfg, no_browser, json);
	jv_free(cfg);
	return r;
}
