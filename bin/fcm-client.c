/* fcm-client — fcm's commands over the HTTP API (doc/fcm-client.md).
 *
 *   fcm-client create|ls|start|stop|destroy|logs|console [args...]
 *
 * The front end runs it instead of fcm-<cmd> when FCM_HOST is set or the
 * user is not root.  Same arguments and same output as the local commands
 * (a table or prose on a terminal, JSON lines otherwise; errors as
 * "fcm-<cmd>: fatal: ..." and exit 100/111), so scripts cannot tell the
 * difference.  Settings:
 *   FCM_HOST     host:port or an http(s):// URL (default 127.0.0.1:7777)
 *   FCM_TOKEN    the token; else ~/.fcm-token; else $FCM_ROOT/.token when
 *                readable (root on the host itself)
 *   FCM_CA_CERT  a CA certificate file for https (e.g. Caddy's internal CA)
 * HTTP with libcurl.  `console` speaks WebSocket over a libcurl connection
 * (CURLOPT_CONNECT_ONLY + curl_easy_send/recv) with lib/ws: Debian's libcurl
 * has no WebSocket API. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "core/err.h"
#include "core/atomic.h"
#include "vm/dotfcm.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "tty/termmodes.h"
#include "http/http.h"
#include "auth/token.h"
#include "tty/ttyproto.h"
#include "vm/vmprint.h"
#include "http/ws.h"

#define BODY_MAX (64 * 1024 * 1024)
#define DETACH_KEY 0x1d		/* Ctrl-] */

static const char *host_setting;	/* FCM_HOST as given */
static char *base;			/* scheme://host[:port][/prefix], no trailing '/' */
static char token[FCM_TOKEN_HEXLEN + 1];
static int json_out;

/* --- settings ------------------------------------------------------------ */

static int loopback_host(const char *h)
{
	return !strcmp(h, "localhost") || !strncmp(h, "127.", 4) || !strcmp(h, "[::1]") || !strcmp(h, "::1");
}

static void setup_base(void)
{
	const char *h = getenv("FCM_HOST");
	CURLU *u;
	char *host = NULL;

	if (!h || !*h)
		h = "127.0.0.1:7777";
	host_setting = h;
	if (!strncmp(h, "http://", 7) || !strncmp(h, "https://", 8))
		base = fcm_strdup(h);
	else
		base = fcm_asprintf("http://%s", h);
	while (strlen(base) > 8 && base[strlen(base) - 1] == '/')
		base[strlen(base) - 1] = '\0';
	u = curl_url();
	if (!u || curl_url_set(u, CURLUPART_URL, base, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		fcm_die(FCM_E_USAGE, "FCM_HOST '%.200s' is not host:port or an http(s) URL", h);
	{
		char *q = NULL, *frag = NULL, *user = NULL;
		int extra = curl_url_get(u, CURLUPART_QUERY, &q, 0) == CURLUE_OK ||
		    curl_url_get(u, CURLUPART_FRAGMENT, &frag, 0) == CURLUE_OK ||
		    curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK;
		curl_free(q);
		curl_free(frag);
		curl_free(user);
		if (extra)
			fcm_die(FCM_E_USAGE, "FCM_HOST '%.200s' must be host:port or a URL without user, query or fragment", h);
	}
	if (!strncmp(base, "http://", 7) && !loopback_host(host) && !getenv("FCM_INSECURE"))
		fcm_warn("FCM_HOST %s is plain http: the token crosses the network unencrypted (use https://, or set FCM_INSECURE=1 to silence this)",
		    h);
	curl_free(host);
	curl_url_cleanup(u);
}

/* Read a token file: 64 hex digits and a newline at most.  1 found, 0 none. */
static int token_file(const char *path, int warn_perms)
{
	struct stat st;
	size_t len;
	char *text;

	if (stat(path, &st) < 0 || access(path, R_OK) < 0)
		return 0;
	text = fcm_read_file(path, 4096, &len);
	if (!text)
		return 0;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
		text[--len] = '\0';
	if (!fcm_token_syntax_ok(text, len)) {
		explicit_bzero(text, len);
		free(text);
		fcm_die(FCM_E_USAGE, "%s does not hold a token (64 hex digits)", path);
	}
	if (warn_perms && (st.st_mode & 077))
		fcm_warn("%s is readable by others: chmod 600 %s", path, path);
	memcpy(token, text, FCM_TOKEN_HEXLEN);
	token[FCM_TOKEN_HEXLEN] = '\0';
	explicit_bzero(text, len);
	free(text);
	return 1;
}

static void setup_token(void)
{
	const char *t = getenv("FCM_TOKEN"), *home = getenv("HOME");

	if (t && *t) {
		if (!fcm_token_syntax_ok(t, strlen(t)))
			fcm_die(FCM_E_USAGE, "FCM_TOKEN is not a token (64 hex digits)");
		memcpy(token, t, FCM_TOKEN_HEXLEN + 1);
		return;
	}
	if (home && *home) {
		char *p = fcm_asprintf("%s/.fcm-token", home);
		int ok = token_file(p, 1);
		free(p);
		if (ok)
			return;
	}
	{
		char *p = fcm_path(".token");
		int ok = token_file(p, 0);
		free(p);
		if (ok)
			return;
	}
	fcm_die(FCM_E_USAGE, "no token for %s: set FCM_TOKEN or write it to ~/.fcm-token (the host's admin token is in $FCM_ROOT/.token)",
	    host_setting);
}

/* --- HTTP ------------------------------------------------------------------ */

struct body {
	char *p;
	size_t len, cap;
	int stream;		/* write a 200 body straight to stdout */
	CURL *c;
};

static size_t on_body(char *d, size_t sz, size_t n, void *cls)
{
	struct body *b = cls;
	size_t k = sz * n;

	if (b->stream) {
		long code = 0;
		curl_easy_getinfo(b->c, CURLINFO_RESPONSE_CODE, &code);
		if (code == 200) {
			if (fwrite(d, 1, k, stdout) != k || fflush(stdout) != 0)
				return 0;
			return k;
		}
	}
	if (b->len + k > BODY_MAX)
		return 0;
	if (b->len + k + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 16384;
		while (cap < b->len + k + 1)
			cap *= 2;
		char *np = realloc(b->p, cap);
		if (!np)
			fcm_die_nomem();
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, d, k);
	b->len += k;
	b->p[b->len] = '\0';
	return k;
}

static void curl_common(CURL *c)
{
	const char *ca = getenv("FCM_CA_CERT");

	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fcm-client/" FCM_VERSION);
	if (ca && *ca)
		curl_easy_setopt(c, CURLOPT_CAINFO, ca);
}

/* The message of an API error reply, or a sentence about the status. */
static char *error_of(long code, const struct body *b)
{
	jv v = b->p ? jv_parse_sized(b->p, (int)b->len) : jv_invalid();
	const char *e = jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT ? fcm_get_str(v, "error") : NULL;
	char *msg = e ? fcm_strdup(e) : fcm_asprintf("the fcm API at %s answered HTTP %ld", host_setting, code);

	jv_free(v);
	return msg;
}

static int exit_for(long code)
{
	return code >= 400 && code < 500 ? FCM_EXIT_USAGE : FCM_EXIT_TEMP;
}

/* One request; dies on a transport error or an error status.  Returns the
 * body (malloc'd JSON text, "" when streamed). */
static char *request(const char *method, const char *path, const char *body, int stream)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct body b = { 0 };
	char *url = fcm_asprintf("%s%s", base, path), *auth = fcm_asprintf("Authorization: Bearer %s", token);
	long code = 0;
	CURLcode rc;

	if (!c)
		fcm_die(FCM_E_INTERNAL, "unable to start libcurl");
	curl_common(c);
	h = curl_slist_append(h, auth);
	h = curl_slist_append(h, "Accept: application/json");
	h = curl_slist_append(h, "Expect:");
	if (body)
		h = curl_slist_append(h, "Content-Type: application/json");
	b.stream = stream;
	b.c = c;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
	} else if (strcmp(method, "GET")) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(url);
	if (rc == CURLE_WRITE_ERROR && stream && code == 200)
		exit(FCM_EXIT_TEMP);	/* stdout went away (a pipe closed) */
	if (rc != CURLE_OK)
		fcm_die(FCM_E_INTERNAL, "unable to reach the fcm API at %s: %s", host_setting, curl_easy_strerror(rc));
	if (code < 200 || code > 299) {
		char *msg = error_of(code, &b);
		fcm_die(exit_for(code), "%s", msg);
	}
	if (!b.p)
		b.p = fcm_strdup("");
	return b.p;
}

static jv request_json(const char *method, const char *path, const char *body)
{
	char *text = request(method, path, body, 0);
	jv v = jv_parse(text);

	free(text);
	if (!jv_is_valid(v))
		fcm_die(FCM_E_INTERNAL, "the fcm API at %s gave a reply that is not JSON", host_setting);
	return v;
}

static void write_json(jv v)
{
	if (fcm_jsonl_write(stdout, v) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
}

/* --- which VM ------------------------------------------------------------------ */

/* The VM named on the command line, or in .fcm here or in a parent. */
static char *vm_arg(const char *arg)
{
	char dir[PATH_MAX], why[256];

	if (arg) {
		/* The API checks too; checking here gives the local message. */
		if (fcm_name_check(arg, why, sizeof why) < 0)
			fcm_die(FCM_E_USAGE, "%s", why);
		return fcm_strdup(arg);
	}
	if (!getcwd(dir, sizeof dir))
		fcm_die_sys(FCM_E_INTERNAL, "unable to find the current directory");
	for (;;) {
		char *p = fcm_asprintf("%s/.fcm", strcmp(dir, "/") ? dir : "");
		if (access(p, R_OK) == 0) {
			jv dot = fcm_read_json(p);
			const char *name = jv_is_valid(dot) && jv_get_kind(dot) == JV_KIND_OBJECT ?
			    fcm_get_str(dot, "name") : NULL;
			if (!name || fcm_name_check(name, why, sizeof why) < 0)
				fcm_die(FCM_E_USAGE, "%s names no VM: name one (see 'fcm ls')", p);
			char *r = fcm_strdup(name);
			jv_free(dot);
			free(p);
			return r;
		}
		free(p);
		if (!strcmp(dir, "/"))
			break;
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		slash[slash == dir] = '\0';	/* "/a" -> "/", "/a/b" -> "/a" */
	}
	fcm_die(FCM_E_USAGE, "no VM given and no .fcm file here: name a VM (see 'fcm ls')");
}

static long parse_long(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		fcm_die(FCM_E_USAGE, "%s takes a whole number from %ld to %ld, not '%.32s'", opt, min, max, s);
	return v;
}

static _Noreturn void bad_option(char **argv, const char *usage)
{
	fcm_die(FCM_E_USAGE, "unknown option or missing value '%.64s'; usage: %s", argv[optind - 1], usage);
}

/* --- the commands ---------------------------------------------------------------- */

static int cmd_create(int argc, char **argv)
{
	static const char usage[] =
	    "fcm create [--name NAME] [--cpus N] [--memory MIB] [--disk SIZE] [--expose PORT | --no-expose]\n"
	    "                  [--owner USER] [--no-wait] [--no-dotfile] [--json]";
	static const struct option longopts[] = {
		{ "name", required_argument, NULL, 'N' },
		{ "cpus", required_argument, NULL, 'c' },
		{ "memory", required_argument, NULL, 'm' },
		{ "disk", required_argument, NULL, 'd' },
		{ "expose", required_argument, NULL, 'e' },
		{ "no-expose", no_argument, NULL, 'E' },
		{ "ssh-key", required_argument, NULL, 'k' },
		{ "owner", required_argument, NULL, 'o' },
		{ "no-wait", no_argument, NULL, 'W' },
		{ "no-dotfile", no_argument, NULL, 'D' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	jv req = jv_object(), rec;
	int dotfile = 1, c;
	char err[256];
	long port;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'N':
			if (fcm_name_check(optarg, err, sizeof err) < 0)
				fcm_die(FCM_E_USAGE, "%s", err);
			req = jv_object_set(req, jv_string("name"), jv_string(optarg));
			break;
		case 'c':
			req = jv_object_set(req, jv_string("cpus"), jv_number((double)parse_long("--cpus", optarg, 1, 1024)));
			break;
		case 'm':
			req = jv_object_set(req, jv_string("memory"),
			    jv_number((double)parse_long("--memory", optarg, 1, 16L * 1024 * 1024)));
			break;
		case 'd':
			req = jv_object_set(req, jv_string("disk"), jv_string(optarg));
			break;
		case 'e':
			if (fcm_port_parse(optarg, &port, err, sizeof err) < 0)
				fcm_die(FCM_E_USAGE, "--expose: %s", err);
			req = jv_object_set(req, jv_string("expose"), jv_number((double)port));
			break;
		case 'E':
			req = jv_object_set(req, jv_string("expose"), jv_false());
			break;
		case 'k':
			fcm_die(FCM_E_USAGE, "--ssh-key works on the host only: over the API, add keys with 'fcm keys' on the host");
		case 'o':
			req = jv_object_set(req, jv_string("owner"), jv_string(optarg));
			break;
		case 'W':
			req = jv_object_set(req, jv_string("wait"), jv_false());
			break;
		case 'D': dotfile = 0; break;
		case 'j': json_out = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			bad_option(argv, usage);
		}
	}
	if (optind != argc)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind], usage);
	if (json_out)
		fcm_err_json(1);
	jv body = jv_dump_string(req, 0);
	rec = request_json("POST", "/v1/vms", jv_string_value(body));
	jv_free(body);
	if (dotfile && fcm_dotfcm_write(rec) < 0)	/* borrows rec */
		fcm_warn_sys("unable to write .fcm here");
	if (fcm_human_output(json_out)) {
		fcm_print_created(stdout, rec);
		jv_free(rec);
	} else {
		write_json(rec);
	}
	return 0;
}

static int cmd_ls(int argc, char **argv)
{
	static const char usage[] = "fcm ls [--json] [--owner USER] [VM...]";
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "owner", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *owner = NULL;
	jv list, out;
	int c;

	while ((c = getopt_long(argc, argv, "jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j': json_out = 1; break;
		case 'o': owner = optarg; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			bad_option(argv, usage);
		}
	}
	if (json_out)
		fcm_err_json(1);
	if (optind < argc) {
		list = jv_array();
		for (int i = optind; i < argc; i++) {
			char *vm = vm_arg(argv[i]), *path = fcm_asprintf("/v1/vms/%s", vm);
			list = jv_array_append(list, request_json("GET", path, NULL));
			free(vm);
			free(path);
		}
	} else {
		list = request_json("GET", "/v1/vms", NULL);
		if (jv_get_kind(list) != JV_KIND_ARRAY)
			fcm_die(FCM_E_INTERNAL, "the fcm API at %s gave a VM list that is not an array", host_setting);
	}
	out = jv_array();
	jv_array_foreach(list, i, rec) {
		const char *o = jv_get_kind(rec) == JV_KIND_OBJECT ? fcm_get_str(rec, "owner") : NULL;
		if (jv_get_kind(rec) != JV_KIND_OBJECT || (owner && (!o || strcmp(o, owner))))
			jv_free(rec);
		else
			out = jv_array_append(out, rec);
	}
	jv_free(list);
	if (fcm_human_output(json_out))
		fcm_print_vm_table(stdout, out);
	else
		jv_array_foreach(out, i, rec)
			write_json(rec);
	jv_free(out);
	return 0;
}

/* start, stop, destroy */
static int cmd_action(const char *verb, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "no-wait", no_argument, NULL, 'W' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char usage[64];
	int c, wait = 1, is_start = !strcmp(verb, "start");
	char *vm, *path;
	jv r;

	snprintf(usage, sizeof usage, "fcm %s [VM]%s [--json]", verb, is_start ? " [--no-wait]" : "");
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'W':
			if (!is_start)
				bad_option(argv, usage);
			wait = 0;
			break;
		case 'j': json_out = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			bad_option(argv, usage);
		}
	}
	if (json_out)
		fcm_err_json(1);
	if (argc - optind > 1)
		fcm_die(FCM_E_USAGE, "one VM at a time; usage: %s", usage);
	vm = vm_arg(optind < argc ? argv[optind] : NULL);
	if (!strcmp(verb, "destroy"))
		r = request_json("DELETE", (path = fcm_asprintf("/v1/vms/%s", vm)), NULL);
	else
		r = request_json("POST", (path = fcm_asprintf("/v1/vms/%s/%s%s", vm, verb, wait ? "" : "?wait=false")), NULL);
	if (fcm_human_output(json_out)) {
		const char *name = fcm_get_str(r, "name"), *state = fcm_get_str(r, "state");
		if (!strcmp(verb, "destroy"))
			printf("VM %s destroyed\n", name ? name : vm);
		else
			printf("VM %s: %s\n", name ? name : vm, state ? state : "?");
		jv_free(r);
	} else {
		write_json(r);
	}
	free(vm);
	free(path);
	return 0;
}

static int cmd_logs(int argc, char **argv)
{
	static const char usage[] = "fcm logs [VM] [-f] [-n LINES] [--deploy]";
	static const struct option longopts[] = {
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "deploy", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int follow = 0, deploy = 0, c;
	long lines = 100;
	char *vm, *path, *text;

	while ((c = getopt_long(argc, argv, "fn:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f': follow = 1; break;
		case 'n': {
			char *end;
			lines = strtol(optarg, &end, 10);
			if (!*optarg || *end || lines < 0 || lines > 1000000)
				fcm_die(FCM_E_USAGE, "-n takes a number of lines from 0 to 1000000, not '%.32s'", optarg);
			break;
		}
		case 'D': deploy = 1; break;
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			bad_option(argv, usage);
		}
	}
	if (argc - optind > 1)
		fcm_die(FCM_E_USAGE, "one VM at a time; usage: %s", usage);
	vm = vm_arg(optind < argc ? argv[optind] : NULL);
	path = fcm_asprintf("/v1/vms/%s/logs?lines=%ld%s%s", vm, lines, follow ? "&follow=1" : "",
	    deploy ? "&deploy=1" : "");
	text = request("GET", path, NULL, 1);
	free(text);
	free(path);
	free(vm);
	return 0;
}

/* --- console: a WebSocket to the VM's session -------------------------------------- */

static struct {
	CURL *c;
	curl_socket_t fd;
	struct termios saved;
	int raw;
	struct fcm_termmodes modes;
	int selfpipe[2];
	struct fcm_tty_buf in, out;
	struct fcm_ws_msg msg;
	char text[FCM_TTY_ERROR_MAX * 2 + 256];
	size_t text_len;
	char how[200];
	char *vm;
} C = { .selfpipe = { -1, -1 } };

static void restore_terminal(void)
{
	if (C.raw) {
		tcsetattr(0, TCSADRAIN, &C.saved);
		C.raw = 0;
	}
}

static _Noreturn void console_end(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static _Noreturn void console_end(int code, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	if (C.raw)
		fcm_termmodes_reset(&C.modes, 1);
	restore_terminal();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s\n", isatty(2) ? "\r\n" : "", msg);
	if (C.c)
		curl_easy_cleanup(C.c);
	fcm_tty_buf_free(&C.in);
	fcm_tty_buf_free(&C.out);
	free(C.vm);
	exit(code);
}

static void on_signal(int sig)
{
	int e = errno;
	unsigned char ch = (unsigned char)sig;

	if (write(C.selfpipe[1], &ch, 1) < 0) {
		/* full */
	}
	errno = e;
}

static void winsize(unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	*rows = *cols = 0;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col &&
	    ws.ws_row <= FCM_TTY_SIZE_MAX && ws.ws_col <= FCM_TTY_SIZE_MAX) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* Queue a masked frame to the server. */
static void ws_queue(int opcode, const void *p, size_t n)
{
	uint8_t hdr[FCM_WS_HDR_MAX], mask[4];
	size_t h;

	if (getrandom(mask, sizeof mask, 0) != (ssize_t)sizeof mask)
		console_end(FCM_EXIT_TEMP, "fcm-console: fatal: unable to get random bytes");
	h = fcm_ws_header(hdr, 1, opcode, n, mask);
	if (fcm_tty_buf_put(&C.out, hdr, h) < 0)
		fcm_die_nomem();
	if (fcm_tty_buf_put(&C.out, p, n) < 0)
		fcm_die_nomem();
	/* mask the payload where it now lies (the buffer may have moved) */
	fcm_ws_unmask(C.out.p + (C.out.off + C.out.len - n), n, mask, 0);
}

static void ws_queue_json(jv v)
{
	jv s = jv_dump_string(v, 0);

	ws_queue(FCM_WS_TEXT, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

/* Send what is queued without blocking; -1 when the connection broke. */
static int ws_flush(void)
{
	while (C.out.len) {
		size_t sent = 0;
		CURLcode rc = curl_easy_send(C.c, C.out.p + C.out.off, C.out.len, &sent);
		if (rc == CURLE_AGAIN)
			return 0;
		if (rc != CURLE_OK)
			return -1;
		fcm_tty_buf_eat(&C.out, sent);
	}
	return 0;
}

/* Send everything queued, waiting at most ms. */
static void ws_drain(int ms)
{
	long end = 0;
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = ts.tv_sec * 1000L + ts.tv_nsec / 1000000L + ms;
	while (C.out.len) {
		struct pollfd p = { .fd = C.fd, .events = POLLOUT };
		if (ws_flush() < 0)
			return;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec * 1000L + ts.tv_nsec / 1000000L > end)
			return;
		if (C.out.len)
			poll(&p, 1, 50);
	}
}

static _Noreturn void detach(void)
{
	ws_queue_json(jv_object_set(jv_object(), jv_string("type"), jv_string("detach")));
	{
		uint8_t p[2] = { FCM_WS_CLOSE_NORMAL >> 8, FCM_WS_CLOSE_NORMAL & 0xff };
		ws_queue(FCM_WS_CLOSE, p, 2);
	}
	ws_drain(1000);
	console_end(0, "[detached — reattach with: %s]", C.how);
}

/* A text message from the server: JSON control. */
static void on_text(const char *t, size_t n)
{
	jv v = jv_parse_sized(t, (int)n);
	const char *type = jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT ? fcm_get_str(v, "type") : NULL;

	if (type && !strcmp(type, "exit")) {
		long st = 0;
		char err[64];
		fcm_get_int(v, "status", 0, 255 + 128, &st, err, sizeof err);
		if (st > 128 && st < 128 + 65)
			console_end((int)st, "[session ended: the command was killed by signal %ld]", st - 128);
		console_end((int)st, "[session ended: exit status %ld]", st);
	}
	if (type && !strcmp(type, "error")) {
		const char *e = fcm_get_str(v, "error");
		console_end(FCM_EXIT_TEMP, "fcm-console: fatal: the session refused us: %s", e ? e : "?");
	}
	/* welcome, role: nothing to show, as locally */
	jv_free(v);
}

static void on_frames(void)
{
	struct fcm_ws_frame f;
	const char *why = NULL;
	long k;

	while ((k = fcm_ws_parse(C.in.p + C.in.off, C.in.len, 0, 16 * 1024 * 1024, &f, &why)) > 0) {
		int op = fcm_ws_sequence(&C.msg, &f, &why);
		if (op < 0)
			console_end(FCM_EXIT_TEMP, "fcm-console: fatal: WebSocket protocol error from the API: %s", why);
		switch (op) {
		case FCM_WS_BINARY:
			fcm_termmodes_scan(&C.modes, f.payload, (size_t)f.len);
			for (size_t off = 0; off < f.len;) {
				ssize_t w = write(1, f.payload + off, (size_t)f.len - off);
				if (w < 0 && errno == EINTR)
					continue;
				if (w <= 0)
					console_end(FCM_EXIT_TEMP, "fcm-console: fatal: unable to write to stdout: %s",
					    strerror(errno));
				off += (size_t)w;
			}
			break;
		case FCM_WS_TEXT:
			if (f.opcode == FCM_WS_TEXT)
				C.text_len = 0;
			if (C.text_len + f.len <= sizeof C.text) {
				memcpy(C.text + C.text_len, f.payload, (size_t)f.len);
				C.text_len += (size_t)f.len;
			}
			if (f.fin)
				on_text(C.text, C.text_len);
			break;
		case FCM_WS_PING:
			ws_queue(FCM_WS_PONG, f.payload, (size_t)f.len);
			break;
		case FCM_WS_CLOSE: {
			unsigned code = 1005;
			fcm_ws_close_parse(f.payload, (size_t)f.len, &code);
			if (f.len > 2)
				console_end(FCM_EXIT_TEMP, "[connection to the session lost: %.*s]",
				    (int)f.len - 2, (const char *)f.payload + 2);
			console_end(FCM_EXIT_TEMP, "[connection to the session lost]");
		}
		default:
			break;
		}
		fcm_tty_buf_eat(&C.in, (size_t)k);
	}
	if (k < 0)
		console_end(FCM_EXIT_TEMP, "fcm-console: fatal: WebSocket protocol error from the API: %s", why);
}

/* Read what the connection has; 0 at its end. */
static int ws_recv(void)
{
	uint8_t buf[65536];

	for (;;) {
		size_t got = 0;
		CURLcode rc = curl_easy_recv(C.c, buf, sizeof buf, &got);
		if (rc == CURLE_AGAIN)
			return 1;
		if (rc != CURLE_OK || got == 0)
			return 0;
		if (fcm_tty_buf_put(&C.in, buf, got) < 0)
			fcm_die_nomem();
	}
}

/* The HTTP upgrade, by hand on the connected socket. */
static void handshake(const char *path)
{
	char key[25], accept[29], *req, *hostport = NULL, *auth;
	CURLU *u = curl_url();
	char head[16384];
	size_t hlen = 0;
	long deadline;
	struct timespec ts;

	if (fcm_ws_key_new(key) < 0 || fcm_ws_accept(key, accept) < 0)
		fcm_die(FCM_E_INTERNAL, "unable to make a WebSocket key");
	{
		char *h = NULL, *port = NULL;
		curl_url_set(u, CURLUPART_URL, base, 0);
		curl_url_get(u, CURLUPART_HOST, &h, 0);
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
			hostport = fcm_asprintf("%s:%s", h, port);
		else
			hostport = fcm_strdup(h);
		curl_free(h);
		curl_free(port);
	}
	char *prefix = NULL;
	curl_url_get(u, CURLUPART_PATH, &prefix, 0);
	size_t pl = prefix ? strlen(prefix) : 0;
	while (pl && prefix[pl - 1] == '/')
		pl--;
	auth = fcm_asprintf("Bearer %s", token);
	req = fcm_asprintf("GET %.*s%s HTTP/1.1\r\nHost: %s\r\nUser-Agent: fcm-client/%s\r\n"
	    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\nAuthorization: %s\r\n\r\n",
	    (int)pl, prefix ? prefix : "", path, hostport, FCM_VERSION, key, auth);
	curl_free(prefix);
	curl_url_cleanup(u);
	free(hostport);
	explicit_bzero(auth, strlen(auth));
	free(auth);
	if (fcm_tty_buf_put(&C.out, req, strlen(req)) < 0)
		fcm_die_nomem();
	explicit_bzero(req, strlen(req));
	free(req);
	ws_drain(15000);
	if (C.out.len)
		fcm_die(FCM_E_INTERNAL, "unable to send the console request to %s", host_setting);
	fcm_tty_buf_clear(&C.out);

	/* The reply head, byte by byte up to the blank line (the frames that
	 * follow stay in C.in). */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	deadline = ts.tv_sec + 120;	/* starting a session may take a while */
	for (;;) {
		size_t got = 0;
		CURLcode rc;
		if (hlen >= sizeof head - 1)
			fcm_die(FCM_E_INTERNAL, "the fcm API at %s gave too long a reply head", host_setting);
		rc = curl_easy_recv(C.c, head + hlen, 1, &got);
		if (rc == CURLE_AGAIN) {
			struct pollfd p = { .fd = C.fd, .events = POLLIN };
			clock_gettime(CLOCK_MONOTONIC, &ts);
			if (ts.tv_sec > deadline)
				fcm_die(FCM_E_INTERNAL, "the fcm API at %s did not answer the console request", host_setting);
			poll(&p, 1, 1000);
			continue;
		}
		if (rc != CURLE_OK || got == 0)
			fcm_die(FCM_E_INTERNAL, "the fcm API at %s closed the connection", host_setting);
		hlen++;
		if (hlen >= 4 && !memcmp(head + hlen - 4, "\r\n\r\n", 4))
			break;
	}
	head[hlen] = '\0';
	long code = 0;
	if (sscanf(head, "HTTP/1.%*d %ld", &code) != 1)
		fcm_die(FCM_E_INTERNAL, "the fcm API at %s gave no HTTP reply", host_setting);
	if (code != 101) {
		/* An error: its JSON body follows (Content-Length). */
		struct body b = { 0 };
		const char *cl = strcasestr(head, "\r\nContent-Length:");
		size_t want = cl ? strtoul(cl + 17, NULL, 10) : 0;
		if (want > 65536)
			want = 65536;
		while (C.in.len < want) {
			struct pollfd p = { .fd = C.fd, .events = POLLIN };
			if (!ws_recv())
				break;
			if (C.in.len < want)
				poll(&p, 1, 1000);
		}
		b.p = fcm_malloc(C.in.len + 1);
		memcpy(b.p, C.in.p + C.in.off, C.in.len);
		b.p[C.in.len] = '\0';
		b.len = C.in.len;
		char *msg = error_of(code, &b);
		fcm_die(exit_for(code), "%s", msg);
	}
	char *acc = strcasestr(head, "\r\nSec-WebSocket-Accept:");
	if (!acc)
		fcm_die(FCM_E_INTERNAL, "the fcm API at %s upgraded without Sec-WebSocket-Accept", host_setting);
	acc += strlen("\r\nSec-WebSocket-Accept:");
	while (*acc == ' ' || *acc == '\t')
		acc++;
	if (strncmp(acc, accept, 28))
		fcm_die(FCM_E_INTERNAL, "the fcm API at %s gave a wrong Sec-WebSocket-Accept", host_setting);
}

static int cmd_console(int argc, char **argv)
{
	static const char usage[] = "fcm console [VM] [--session NAME | --serial] [--read-only]";
	static const struct option longopts[] = {
		{ "session", required_argument, NULL, 's' },
		{ "serial", no_argument, NULL, 'S' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "list", no_argument, NULL, 'l' },
		{ "kill", no_argument, NULL, 'k' },
		{ "ensure", no_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *session = NULL;
	int serial = 0, ro = 0, c, in_open = 1;
	unsigned rows, cols;
	char *vm, *path, q[160] = "";
	struct sigaction sa;
	CURLcode rc;

	while ((c = getopt_long(argc, argv, "s:rlh", longopts, NULL)) != -1) {
		switch (c) {
		case 's': session = optarg; break;
		case 'S': serial = 1; break;
		case 'r': ro = 1; break;
		case 'l': case 'k': case 'e':
			fcm_die(FCM_E_USAGE, "%s works on the host only, not over the API", argv[optind - 1]);
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			bad_option(argv, usage);
		}
	}
	if (optind < argc - 1)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind + 1], usage);
	if (serial && session)
		fcm_die(FCM_E_USAGE, "--serial and --session go alone: the serial console is not a session");
	if (session && (!*session || strlen(session) > 32 ||
	    strspn(session, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(session)))
		fcm_die(FCM_E_USAGE, "session name '%.64s' is not valid: use 1 to 32 of a-z, 0-9 and '-'", session);
	C.vm = vm = vm_arg(optind < argc ? argv[optind] : NULL);
	fcm_set_instance(vm);
	winsize(&rows, &cols);
	if (rows)
		snprintf(q, sizeof q, "?rows=%u&cols=%u", rows, cols);
	snprintf(q + strlen(q), sizeof q - strlen(q), "%s%s%s%s", *q ? "&" : "?", ro ? "mode=ro" : "mode=rw",
	    serial ? "&serial=1" : session ? "&session=" : "", session ? session : "");
	path = fcm_asprintf("/v1/vms/%s/console%s", vm, q);
	if (serial)
		snprintf(C.how, sizeof C.how, "fcm console %s --serial", vm);
	else if (session && strcmp(session, "main"))
		snprintf(C.how, sizeof C.how, "fcm console %s --session %s", vm, session);
	else
		snprintf(C.how, sizeof C.how, "fcm console %s", vm);

	C.c = curl_easy_init();
	if (!C.c)
		fcm_die(FCM_E_INTERNAL, "unable to start libcurl");
	curl_common(C.c);
	curl_easy_setopt(C.c, CURLOPT_URL, base);
	curl_easy_setopt(C.c, CURLOPT_CONNECT_ONLY, 1L);
	rc = curl_easy_perform(C.c);
	if (rc != CURLE_OK)
		fcm_die(FCM_E_INTERNAL, "unable to reach the fcm API at %s: %s", host_setting, curl_easy_strerror(rc));
	if (curl_easy_getinfo(C.c, CURLINFO_ACTIVESOCKET, &C.fd) != CURLE_OK || C.fd == CURL_SOCKET_BAD)
		fcm_die(FCM_E_INTERNAL, "libcurl gave no socket");
	handshake(path);
	free(path);

	if (pipe2(C.selfpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make the self-pipe");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGWINCH, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGQUIT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (isatty(0) && tcgetattr(0, &C.saved) == 0) {
		struct termios raw = C.saved;
		cfmakeraw(&raw);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		C.raw = 1;
		atexit(restore_terminal);
		tcsetattr(0, TCSADRAIN, &raw);
	}
	on_frames();	/* frames that came with the reply head */

	for (;;) {
		struct pollfd p[3];
		int np = 0, istdin = -1;

		p[np++] = (struct pollfd){ .fd = C.selfpipe[0], .events = POLLIN };
		p[np++] = (struct pollfd){ .fd = C.fd, .events = (short)(POLLIN | (C.out.len ? POLLOUT : 0)) };
		if (in_open && C.out.len < 256 * 1024) {
			istdin = np;
			p[np++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		}
		if (poll(p, (nfds_t)np, -1) < 0) {
			if (errno == EINTR)
				continue;
			console_end(FCM_EXIT_TEMP, "fcm-console: fatal: poll: %s", strerror(errno));
		}
		if (p[0].revents & POLLIN) {
			unsigned char sig[32];
			ssize_t r = read(C.selfpipe[0], sig, sizeof sig);
			for (ssize_t k = 0; k < r; k++) {
				if (sig[k] == SIGWINCH) {
					winsize(&rows, &cols);
					if (rows) {
						jv v = jv_object_set(jv_object(), jv_string("type"), jv_string("resize"));
						v = jv_object_set(v, jv_string("rows"), jv_number(rows));
						ws_queue_json(jv_object_set(v, jv_string("cols"), jv_number(cols)));
					}
				} else {
					detach();
				}
			}
		}
		if (istdin >= 0 && p[istdin].revents) {
			uint8_t buf[4096];
			ssize_t r = read(0, buf, sizeof buf);
			if (r < 0 && (errno == EINTR || errno == EAGAIN))
				r = -2;
			if (r == 0 || r == -1) {
				in_open = 0;	/* no more input: keep watching */
			} else if (r > 0) {
				uint8_t *d = memchr(buf, DETACH_KEY, (size_t)r);
				size_t k = d ? (size_t)(d - buf) : (size_t)r;
				if (k && !ro)
					ws_queue(FCM_WS_BINARY, buf, k);
				if (d)
					detach();
			}
		}
		if (C.out.len && ws_flush() < 0)
			console_end(FCM_EXIT_TEMP, "[connection to the session lost]");
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			int open = ws_recv();
			on_frames();
			if (!open)
				console_end(FCM_EXIT_TEMP, "[connection to the session lost]");
		}
	}
}

/* --- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const char usage[] = "fcm-client create|ls|start|stop|destroy|logs|console [args...]";
	const char *cmd = argc > 1 ? argv[1] : NULL;
	char prog[32];
	int r;

	fcm_init("fcm-client");
	if (!cmd || !strcmp(cmd, "-h") || !strcmp(cmd, "--help")) {
		printf("usage: %s\n", usage);
		return cmd ? 0 : FCM_EXIT_USAGE;
	}
	if (strcmp(cmd, "create") && strcmp(cmd, "ls") && strcmp(cmd, "start") && strcmp(cmd, "stop") &&
	    strcmp(cmd, "destroy") && strcmp(cmd, "logs") && strcmp(cmd, "console"))
		fcm_die(FCM_E_USAGE, "'%.32s' does not work over the API; usage: %s", cmd, usage);
	/* Speak as the local command does. */
	snprintf(prog, sizeof prog, "fcm-%s", cmd);
	fcm_init(prog);
	for (int i = 2; i < argc; i++)
		if (!strcmp(argv[i], "--json"))
			fcm_err_json(1);
	/* --help needs neither host nor token. */
	for (int i = 2; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			goto run;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		fcm_die(FCM_E_INTERNAL, "unable to start libcurl");
	setup_base();
	setup_token();
run:
	opterr = 0;
	argv[1] = prog;
	argc--;
	argv++;
	if (!strcmp(cmd, "create"))
		r = cmd_create(argc, argv);
	else if (!strcmp(cmd, "ls"))
		r = cmd_ls(argc, argv);
	else if (!strcmp(cmd, "logs"))
		r = cmd_logs(argc, argv);
	else if (!strcmp(cmd, "console"))
		r = cmd_console(argc, argv);
	else
		r = cmd_action(cmd, argc, argv);
	explicit_bzero(token, sizeof token);
	return r;
}
