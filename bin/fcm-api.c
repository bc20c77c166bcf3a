/* fcm-api — the HTTP API of an fcm host (doc/api.md, doc/fcm-api.md).
 *
 *   fcm-api [--listen ADDR:PORT] [--notify FD]
 *
 * REST over HTTP with libmicrohttpd, on 127.0.0.1:7777 unless --listen or
 * $FCM_API_LISTEN say otherwise.  It keeps no VM state of its own: each
 * request is authenticated (Authorization: Bearer, lib/auth/token.h), checked
 * for ownership, and answered by running the same porcelain the CLI runs
 * (fcm-ls, fcm-create, ... with --json), whose JSON it returns.  The
 * console endpoint upgrades to a WebSocket (lib/http/ws.h) relayed to the VM's
 * fcm-tty session socket (doc/tty-protocol.md).
 *
 * One poll loop, as every long-running fcm program: libmicrohttpd runs in
 * "external" mode on its epoll fd, beside a self-pipe for signals, the
 * pipes of running commands (lib/http/jobs.h) and the sockets of console
 * relays (lib/http/relay.h).  A request that runs a command is suspended
 * until the command ends, so a slow `fcm-create` holds up nobody.  No
 * threads.  This file is the loop and the endpoints. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>

#include "core/clock.h"
#include "core/stateformat.h"
#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/svc.h"
#include "core/utf8.h"
#include "vm/vm.h"
#include "vm/vmcache.h"
#include "http/authapi.h"
#include "cmd/cmd.h"
#include "http/http.h"
#include "http/jobs.h"
#include "http/ratelimit.h"
#include "http/relay.h"
#include "auth/token.h"
#include "auth/users.h"
#include "tty/ttyproto.h"
#include "tty/ttysock.h"
#include "http/web.h"
#include "http/ws.h"
#include "core/atomic.h"

static const char usage[] = "fcm-api [--listen ADDR:PORT] [--notify FD]";

#define LIST_OUT_MAX   (16 * 1024 * 1024)
#define LOGS_OUT_MAX   (8 * 1024 * 1024)
#define STREAM_BUF_MAX (1024 * 1024)
#define SESSION_MAX 32

/* Settings, from the environment (doc/fcm-api.md). */
static unsigned conn_limit = 1024;	/* FCM_API_MAX_CONN */
static unsigned conn_timeout = 30;	/* FCM_API_TIMEOUT, seconds idle */
static unsigned jobs_max = 32;		/* FCM_API_MAX_JOBS, commands at once */
static unsigned streams_max = 256;	/* FCM_API_MAX_STREAMS, logs -f at once, beside them */
static unsigned job_timeout = 900;	/* FCM_API_JOB_TIMEOUT, seconds */
static unsigned relays_max = 256;	/* FCM_API_MAX_CONSOLES */
static unsigned drain_secs = 20;	/* FCM_API_DRAIN, on SIGTERM */

static struct MHD_Daemon *daemon_;
static int selfpipe[2] = { -1, -1 };
static int stopping;

/* --- requests and the commands they run ------------------------------------ */

enum act { ACT_CMD = 1, ACT_SHOW, ACT_LOGS, ACT_FOLLOW, ACT_CONSOLE, ACT_AUTH, ACT_SESSION };

struct req {
	struct MHD_Connection *conn;
	struct fcm_route route;
	const struct fcm_cmd *cmd;	/* FCM_R_CMD: the command */
	char allow[64];			/* for 405: the methods the path allows */
	struct fcm_principal who;
	char method[12];
	char *url;			/* the path, decoded, no query */
	char path[160];			/* for the log: sanitized, truncated */
	char peer[64];
	char retry_after[24];		/* a 429's Retry-After */
	long t0;
	unsigned status;		/* queued, for the log */
	int answered, suspended;
	char *body;
	size_t body_len;
	int body_too_big;
	enum act act;
	struct fcm_job *job;
	int text_ok;			/* a text command said {"ok":true}: its text follows */
	/* the dashboard's session (doc/web.md) */
	int cookie, minted;		/* authenticated by its cookie; a token minted at sign-in */
	char stok[160];			/* the session's cookie value (wiped when done) */
	char csrf[FCM_WEB_CSRF_HEXLEN + 1];
	char *set_cookie;		/* a Set-Cookie for the answer */
	/* console */
	int tty_fd;
	unsigned rows, cols, mode;
	struct req *prev, *next;
};

static struct req *reqs;

static void req_link(struct req *r)
{
	r->next = reqs;
	if (reqs)
		reqs->prev = r;
	reqs = r;
}

static void req_unlink(struct req *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		reqs = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

/* Wake r (a job's owner: its command ended, or a stream has more). */
static void resume(void *owner)
{
	struct req *r = owner;

	if (r && r->suspended) {
		r->suspended = 0;
		MHD_resume_connection(r->conn);
	}
}

static void suspend(struct req *r)
{
	if (!r->suspended) {
		r->suspended = 1;
		MHD_suspend_connection(r->conn);
	}
}

/* argv with slot 0 empty, from words (NULL-terminated). */
static char **argv_of(const char *first, ...)
{
	char **argv = fcm_malloc(16 * sizeof *argv);
	int n = 1;
	va_list ap;

	argv[0] = NULL;
	va_start(ap, first);
	for (const char *s = first; s && n < 15; s = va_arg(ap, const char *))
		argv[n++] = fcm_strdup(s);
	va_end(ap);
	argv[n] = NULL;
	return argv;
}

/* --- answering -------------------------------------------------------------- */

static enum MHD_Result answer(struct req *r, unsigned status, const char *ctype,
    char *body, size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	enum MHD_Result ret;

	if (!resp) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "Content-Security-Policy", fcm_web_csp);
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	if (r->set_cookie)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, r->set_cookie);
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"fcm\"");
	if (status == 405) {
		if (!r->allow[0])
			fcm_http_allow(r->route.allow, r->allow, sizeof r->allow);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	}
	if (status == 503)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	if (status == 429)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, r->retry_after[0] ? r->retry_after : "60");
	r->status = status;
	r->answered = 1;
	ret = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result answer_json(struct req *r, unsigned status, jv v)
{
	jv s = jv_dump_string(v, 0);
	char *body = fcm_asprintf("%s\n", jv_string_value(s));

	jv_free(s);
	return answer(r, status, "application/json", body, strlen(body));
}

static enum MHD_Result answer_error(struct req *r, unsigned status, const char *msg)
{
	return answer_json(r, status, fcm_error_reply(fcm_http_kind_of((int)status), msg));
}

/* A command's error reply (consumed), with the status of its kind. */
static enum MHD_Result answer_reply_error(struct req *r, jv err)
{
	const char *k = fcm_get_str(err, "kind");
	unsigned st = (unsigned)fcm_http_status_of(fcm_kind_parse(k));

	if (st >= 500)
		fcm_warn("%s %s: %s", r->method, r->path, fcm_reply_error(err));
	return answer_json(r, st, err);
}

/* --- authentication and ownership -------------------------------------------- */

/* A request authenticated by the dashboard's cookie: it must come from the
 * dashboard's own origin (when the browser says where from: always for a
 * WebSocket), and one that changes anything must carry the session's CSRF
 * token in X-FCM-CSRF (doc/web.md).  0, or 403 with a message. */
static unsigned session_check(struct req *r, const char *tok, size_t len, char *err, size_t errlen)
{
	const char *origin = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Origin");
	const char *host = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *presented = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, FCM_WEB_CSRF_HEADER);

	if (fcm_web_csrf(tok, len, r->csrf) < 0) {
		snprintf(err, errlen, "unable to check the session: libcrypto failed");
		return 500;
	}
	if (origin && !fcm_web_same_origin(origin, host)) {
		snprintf(err, errlen, "a request with the dashboard's session must come from the dashboard's own page");
		return 403;
	}
	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD") && !fcm_web_csrf_ok(tok, len, presented)) {
		snprintf(err, errlen, "the request lacks the session's CSRF token (%s): reload the dashboard", FCM_WEB_CSRF_HEADER);
		return 403;
	}
	return 0;
}

/* Who makes the request: 0 with r->who, or 401/500 with a message.  The one
 * place a request becomes a principal; user tokens plug in via
 * fcm_token_principal. */
static unsigned auth(struct req *r, char *err, size_t errlen)
{
	const char *hdr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *cookies = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE);
	const char *tok;
	size_t len;
	int k;

	if ((!hdr || !*hdr) && fcm_web_cookie(cookies, FCM_WEB_COOKIE, r->stok, sizeof r->stok) &&
	    fcm_web_session_parse(r->stok, &r->minted, &tok, &len) == 0) {
		/* the dashboard's session: the token is in its cookie */
		r->cookie = 1;
	} else if (!hdr || !*hdr) {
		snprintf(err, errlen, "missing token: send 'Authorization: Bearer <token>' (the admin token is in $FCM_ROOT/.token on the host)");
		return 401;
	} else if (fcm_http_bearer(hdr, &tok, &len) < 0) {
		snprintf(err, errlen, "the Authorization header must be 'Bearer <token>'");
		return 401;
	}
	k = fcm_token_principal(tok, len, &r->who, err, errlen);
	if (k < 0) {
		fcm_warn("%s", err);
		snprintf(err, errlen, "unable to check the token: see the API's log");
		return 500;
	}
	if (k == 0) {
		snprintf(err, errlen, r->cookie ? "the session has ended: sign in again" : "invalid token");
		return 401;
	}
	if (r->cookie)
		return session_check(r, tok, len, err, errlen);
	return 0;
}

/* May r's principal touch VM r->route.vm?  0, or 403/404 with a message. */
static unsigned owner_check(struct req *r, char *err, size_t errlen)
{
	jv rec;
	const char *owner;
	unsigned st = 0;

	if (r->who.admin)
		return 0;
	rec = fcm_vm_find(r->route.vm);
	if (!jv_is_valid(rec)) {
		jv msg = jv_invalid_get_msg(rec);
		snprintf(err, errlen, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "no such VM");
		jv_free(msg);
		return 404;
	}
	owner = fcm_get_str(rec, "owner");
	if (!owner || strcmp(owner, r->who.name)) {
		/* the same answer as for no VM at all: names do not leak */
		snprintf(err, errlen, "no VM named '%s' (see 'fcm ls')", r->route.vm);
		st = 404;
	}
	jv_free(rec);
	return st;
}

/* --- query arguments -------------------------------------------------------- */

/* A whole number argument: 1 found (in *out), 0 absent, -1 bad. */
static int arg_num(struct req *r, const char *key, unsigned long min, unsigned long max,
    unsigned long *out, char *err, size_t errlen)
{
	const char *s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
	char *end;
	unsigned long v;

	if (!s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!*s || *end || *s == '-' || *s == '+' || *s == ' ' || errno || v < min || v > max) {
		snprintf(err, errlen, "%s must be a whole number from %lu to %lu", key, min, max);
		return -1;
	}
	*out = v;
	return 1;
}

static int arg_bool(struct req *r, const char *key, int *out, char *err, size_t errlen)
{
	const char *s = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);

	if (!s)
		return 0;
	if (!*s || !strcmp(s, "1") || !strcmp(s, "true"))
		*out = 1;
	else if (!strcmp(s, "0") || !strcmp(s, "false"))
		*out = 0;
	else {
		snprintf(err, errlen, "%s must be true or false", key);
		return -1;
	}
	return 1;
}

/* Does a comma-separated header hold the token (any case)? */
static int header_has(struct req *r, const char *name, const char *token)
{
	const char *h = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
	size_t tn = strlen(token);

	while (h && *h) {
		while (*h == ' ' || *h == '\t' || *h == ',')
			h++;
		const char *e = h;
		while (*e && *e != ',')
			e++;
		const char *t = e;
		while (t > h && (t[-1] == ' ' || t[-1] == '\t'))
			t--;
		if ((size_t)(t - h) == tn && !strncasecmp(h, token, tn))
			return 1;
		h = e;
	}
	return 0;
}

/* --- the endpoints ----------------------------------------------------------- */

/* Run fcm-<helper> for r, which waits: argv (slot 0 empty) and in (bytes
 * for its stdin, or NULL) are taken. */
static enum MHD_Result run_job_in(struct req *r, enum act act, const char *helper, char **argv,
    char *in, size_t inlen)
{
	argv[0] = fcm_helper(helper);
	r->act = act;
	r->job = fcm_job_new(r, argv, in, inlen,
	    act == ACT_FOLLOW ? STREAM_BUF_MAX : act == ACT_LOGS ? LOGS_OUT_MAX : LIST_OUT_MAX, act == ACT_FOLLOW);
	if (!r->job)
		return answer_error(r, 503, "the API is busy: try again");
	suspend(r);
	return MHD_YES;
}

static enum MHD_Result run_job(struct req *r, enum act act, const char *helper, char **argv)
{
	return run_job_in(r, act, helper, argv, NULL, 0);
}

/* GET /v1/auth/config, POST /v1/auth/device and /v1/auth/login: fcm-auth,
 * with the request on its stdin (doc/auth.md). */
static enum MHD_Result auth_job(struct req *r, enum act act, int kind)
{
	char err[256];
	size_t len;
	char *line = fcm_authapi_request(kind, r->body ? r->body : "", r->body_len, &len, err, sizeof err);

	if (!line)
		return answer_error(r, 400, err);
	return run_job_in(r, act, "auth", argv_of(NULL), line, len);
}

/* POST /v1/auth/logout: revoke the user token the request carries. */
static enum MHD_Result auth_logout(struct req *r)
{
	const char *hdr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *tok;
	size_t len;
	int k;

	if (!hdr || fcm_http_bearer(hdr, &tok, &len) < 0)
		return answer_error(r, 401, "invalid token");
	k = fcm_users_token_revoke(tok, len);
	if (k < 0) {
		fcm_warn_sys("unable to remove a token file in %s/tokens", fcm_root());
		return answer_error(r, 500, "unable to revoke the token: see the API's log");
	}
	if (k == 0)
		return answer_error(r, 400, "the host's admin token is not revoked by logging out: replace $FCM_ROOT/.token on the host");
	return answer_json(r, 200, jv_object_set(jv_object_set(jv_object(), jv_string("ok"), jv_true()),
	    jv_string("revoked"), jv_true()));
}

/* --- the dashboard (doc/web.md) ---------------------------------------------- */

/* Where the dashboard's files are: $FCM_WEB_DIR, else web/dist beside bin/
 * (a checkout), else web/ beside the programs (installed, make install). */
static const char *web_dir(void)
{
	static char *dir;
	const char *e = getenv("FCM_WEB_DIR");
	char exe[4096];
	ssize_t n;

	if (dir)
		return dir;
	if (e && *e)
		return dir = fcm_strdup(e);
	n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return dir = fcm_strdup("/usr/local/lib/fcm/web");
	exe[n] = '\0';
	*strrchr(exe, '/') = '\0';
	dir = fcm_asprintf("%s/../web/dist", exe);
	if (access(dir, F_OK) == 0)
		return dir;
	free(dir);
	return dir = fcm_asprintf("%s/web", exe);
}

/* GET / (the page) and /assets/NAME: a file of the dashboard, no token. */
static enum MHD_Result web_file(struct req *r, const char *file, const char *ctype)
{
	size_t len;
	char *path, *body;
	int e;

	if (strcmp(r->method, "GET") && strcmp(r->method, "HEAD")) {
		snprintf(r->allow, sizeof r->allow, "GET, HEAD");
		return answer_error(r, 405, "the dashboard's pages are read with GET");
	}
	path = fcm_asprintf("%s/%s", web_dir(), file);
	body = fcm_read_file(path, 16 * 1024 * 1024, &len);
	e = errno;
	if (!body) {
		fcm_warn("unable to read %s: %s", path, strerror(e));
		free(path);
		if (e == ENOENT)
			return answer_error(r, 404, strcmp(file, "index.html") ? "no such file of the dashboard" :
			    "the dashboard is not installed on this host: build it with 'make web'");
		return answer_error(r, 500, "unable to read the dashboard's files: see the API's log");
	}
	free(path);
	return answer(r, 200, ctype, body, len);
}

/* The Set-Cookie of r's answer: the session of tok (minted by an OIDC
 * sign-in, or typed), or, tok NULL, its end. */
static void session_cookie(struct req *r, int minted, const char *tok)
{
	free(r->set_cookie);
	if (tok)
		r->set_cookie = fcm_asprintf("%s=%c.%s; Path=/; Max-Age=%d; HttpOnly; Secure; SameSite=Strict",
		    FCM_WEB_COOKIE, minted ? 'm' : 't', tok, FCM_WEB_SESSION_TTL);
	else
		r->set_cookie = fcm_asprintf("%s=; Path=/; Max-Age=0; HttpOnly; Secure; SameSite=Strict", FCM_WEB_COOKIE);
}

/* {"ok":true,"name","admin",...} of GET /v1/auth/me, and the session's CSRF
 * token when there is a session. */
static jv session_reply(struct req *r)
{
	jv v = jv_object_set(fcm_authapi_me(&r->who), jv_string("ok"), jv_true());

	if (r->csrf[0])
		v = jv_object_set(v, jv_string("csrf"), jv_string(r->csrf));
	return v;
}

/* POST /v1/session: sign in, with {"token":T} (the admin token or any API
 * token) or the code of an OIDC sign-in ({"code","code_verifier",
 * "redirect_uri","nonce"}, as POST /v1/auth/login); the token goes into
 * the session cookie, never into the reply.  GET: who the session is, and
 * its CSRF token.  DELETE: sign out (a token minted at sign-in is revoked). */
static enum MHD_Result session(struct req *r)
{
	char err[256];

	if (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD"))
		return answer_json(r, 200, session_reply(r));
	if (!strcmp(r->method, "DELETE")) {
		const char *tok;
		size_t len;
		int minted;
		if (r->cookie && r->minted && fcm_web_session_parse(r->stok, &minted, &tok, &len) == 0 &&
		    fcm_users_token_revoke(tok, len) < 0) {
			fcm_warn_sys("unable to remove a token file in %s/tokens", fcm_root());
			return answer_error(r, 500, "unable to revoke the session's token: see the API's log");
		}
		session_cookie(r, 0, NULL);
		return answer_json(r, 200, jv_object_set(jv_object(), jv_string("ok"), jv_true()));
	}
	/* POST */
	jv body = r->body_len && fcm_utf8_valid(r->body, r->body_len) ? jv_parse_sized(r->body, (int)r->body_len) : jv_invalid();
	if (!jv_is_valid(body) || jv_get_kind(body) != JV_KIND_OBJECT) {
		jv_free(body);
		return answer_error(r, 400, "the request body must be a JSON object: {\"token\":\"...\"} or an OIDC sign-in's code");
	}
	const char *tok = fcm_get_str(body, "token");
	if (!tok) {
		jv_free(body);
		return auth_job(r, ACT_SESSION, FCM_R_AUTH_LOGIN);
	}
	size_t len = strlen(tok);
	int k = len && len <= 128 && strspn(tok, "0123456789abcdefABCDEF") == len ?
	    fcm_token_principal(tok, len, &r->who, err, sizeof err) : 0;
	if (k < 0) {
		jv_free(body);
		fcm_warn("%s", err);
		return answer_error(r, 500, "unable to check the token: see the API's log");
	}
	if (k == 0) {
		jv_free(body);
		return answer_error(r, 401, "invalid token");
	}
	if (fcm_web_csrf(tok, len, r->csrf) < 0) {
		jv_free(body);
		return answer_error(r, 500, "unable to make the session: libcrypto failed");
	}
	session_cookie(r, 0, tok);
	jv_free(body);
	return answer_json(r, 200, session_reply(r));
}

static enum MHD_Result add_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	jv *q = cls;

	(void)kind;
	if (!jv_is_valid(*q))
		return MHD_YES;
	if (!key || !fcm_utf8_valid(key, strlen(key)) || (value && !fcm_utf8_valid(value, strlen(value)))) {
		jv_free(*q);
		*q = jv_invalid();	/* refused whole: not dropped, which would mean a default */
		return MHD_YES;
	}
	*q = jv_object_set(*q, jv_string(key), jv_string(value ? value : ""));
	return MHD_YES;
}

/* GET /v1/vms and GET /v1/vms/{vm}, answered here without a process: the
 * VM cache (lib/vm/vmcache.h) holds what fcm-ls would print, brought up to
 * date from inotify before each answer; the same filter as fcm ls decides
 * what the principal sees (a user their own VMs, an admin all; 404 for the
 * others').  1 answered (*ret set), 0 when the request is not one of those
 * (then fcm-ls runs). */
static const struct fcm_cmd *ls_cmd;
static struct fcm_vmcache *vmcache;

static int ls_here(struct req *r, jv req, const struct fcm_cmd_route *route, enum MHD_Result *ret)
{
	jv vms = jv_object_get(jv_copy(req), jv_string("vms"));
	const char *owner = fcm_get_str(req, "owner");
	char *body;
	size_t len;
	int one = route->one && jv_get_kind(vms) == JV_KIND_ARRAY && jv_array_length(jv_copy(vms)) == 1;

	if (!vmcache || r->cmd != ls_cmd || (jv_get_kind(vms) != JV_KIND_INVALID && !one) ||
	    fcm_vmcache_sync(vmcache) < 0) {
		jv_free(vms);
		return 0;
	}
	if (one) {
		jv ref = jv_array_get(jv_copy(vms), 0);
		body = fcm_vmcache_one(vmcache, jv_string_value(ref), r->who.name, r->who.admin, &len);
		if (!body) {
			char *msg = fcm_asprintf("no VM named '%s' (see 'fcm ls')", jv_string_value(ref));
			*ret = answer_error(r, 404, msg);
			free(msg);
			jv_free(ref);
			jv_free(vms);
			return 1;
		}
		jv_free(ref);
	} else {
		body = fcm_vmcache_list(vmcache, r->who.name, r->who.admin, owner, &len);
	}
	jv_free(vms);
	body = realloc(body, len + 2);
	if (!body)
		fcm_die_nomem();
	body[len++] = '\n';
	body[len] = '\0';
	*ret = answer(r, (unsigned)r->cmd->status, "application/json", body, len);
	return 1;
}

/* A command's route: its request, checked by the command's definition,
 * goes to `fcm-<name> --request --as USER` on stdin (lib/cmd/cmd.h). */
static enum MHD_Result cmd_job(struct req *r)
{
	const struct fcm_cmd_route *route;
	jv query = jv_object(), body = jv_null(), req;
	char **argv;

	MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_query, &query);
	if (!jv_is_valid(query))
		return answer_error(r, 400, "the query is not UTF-8 text");
	if (r->body_len && !fcm_utf8_valid(r->body, r->body_len)) {
		jv_free(query);
		return answer_error(r, 400, "the request body is not UTF-8 text");
	}
	if (r->body_len) {
		body = jv_parse_sized(r->body, (int)r->body_len);
		if (!jv_is_valid(body) || jv_get_kind(body) != JV_KIND_OBJECT) {
			jv_free(body);
			jv_free(query);
			return answer_error(r, 400, "the request body must be a JSON object");
		}
	}
	r->cmd = fcm_cmd_route(r->method, r->url, query, body, &req, &route, r->allow, sizeof r->allow);
	if (!r->cmd)
		return r->allow[0] ? answer_error(r, 405, "method not allowed here") : answer_reply_error(r, req);
	enum MHD_Result here;
	if (ls_here(r, req, route, &here)) {
		jv_free(req);
		return here;
	}
	if (r->cmd->parent)	/* fcm-keys add --request ... */
		argv = argv_of(r->cmd->name, "--request", "--as", r->who.name, r->who.admin ? "--admin" : NULL, NULL);
	else
		argv = argv_of("--request", "--as", r->who.name, r->who.admin ? "--admin" : NULL, NULL);
	jv line = jv_dump_string(req, 0);
	char *in = fcm_asprintf("%s\n", jv_string_value(line));
	enum act act = ACT_CMD;
	jv_free(line);
	if (r->cmd->flags & FCM_CMD_TEXT) {
		const char *f = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "follow");
		act = f && strcmp(f, "0") && strcmp(f, "false") && !strcmp(r->method, "GET") ? ACT_FOLLOW : ACT_LOGS;
	} else if (route->one) {
		act = ACT_SHOW;
	}
	return run_job_in(r, act, r->cmd->parent ? r->cmd->parent->name : r->cmd->name, argv, in, strlen(in));
}

static enum MHD_Result dispatch(struct req *r)
{
	struct fcm_route *rt = &r->route;
	char err[512];
	unsigned st;

	switch (rt->kind) {
	case FCM_R_HEALTH:
		return answer_json(r, 200, jv_object_set(jv_object_set(jv_object_set(jv_object(),
		    jv_string("ok"), jv_true()), jv_string("version"), jv_string(FCM_VERSION)),
		    jv_string("state_format"), jv_number(FCM_STATE_FORMAT)));
	case FCM_R_ME:
		return answer_json(r, 200, fcm_authapi_me(&r->who));
	case FCM_R_AUTH_CONFIG:
	case FCM_R_AUTH_DEVICE:
	case FCM_R_AUTH_LOGIN:
		return auth_job(r, ACT_AUTH, rt->kind);
	case FCM_R_AUTH_LOGOUT:
		return auth_logout(r);
	case FCM_R_SESSION:
		return session(r);
	case FCM_R_COMMANDS:
		return answer_json(r, 200, fcm_cmd_describe_all());
	case FCM_R_CMD:
		return cmd_job(r);
	case FCM_R_CONSOLE: {
		const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
		const char *ver = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
		unsigned long rows = 0, cols = 0;
		const char *mode = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "mode");
		const char *session = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "session");
		const char *run = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "run");
		int serial = 0, plain = 0;
		if (!header_has(r, MHD_HTTP_HEADER_UPGRADE, "websocket") ||
		    !header_has(r, MHD_HTTP_HEADER_CONNECTION, "upgrade"))
			return answer_error(r, 400, "the console is a WebSocket: send 'Connection: Upgrade' and 'Upgrade: websocket'");
		if (!ver || strcmp(ver, "13"))
			return answer_error(r, 400, "only WebSocket version 13 is spoken (Sec-WebSocket-Version: 13)");
		if (!key || !fcm_ws_key_ok(key))
			return answer_error(r, 400, "Sec-WebSocket-Key must be the base64 of 16 bytes");
		if (arg_num(r, "rows", 0, FCM_TTY_SIZE_MAX, &rows, err, sizeof err) < 0 ||
		    arg_num(r, "cols", 0, FCM_TTY_SIZE_MAX, &cols, err, sizeof err) < 0)
			return answer_error(r, 400, err);
		if (!rows != !cols)
			return answer_error(r, 400, "give both rows and cols, or neither");
		if (mode && strcmp(mode, "rw") && strcmp(mode, "ro"))
			return answer_error(r, 400, "mode must be rw (type) or ro (watch)");
		if (arg_bool(r, "serial", &serial, err, sizeof err) < 0)
			return answer_error(r, 400, err);
		if (session && (!*session || strlen(session) > SESSION_MAX ||
		    strspn(session, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(session)))
			return answer_error(r, 400, "session must be 1 to 32 of a-z, 0-9 and '-'");
		if (session && serial)
			return answer_error(r, 400, "serial and session go alone: the serial console is not a session");
		if (arg_bool(r, "plain", &plain, err, sizeof err) < 0)
			return answer_error(r, 400, err);
		/* fcm run: one command in a session of its own (fcm-console --run). */
		if (run && (serial || (session && strncmp(session, "run-", 4))))
			return answer_error(r, 400, "run makes a session of its own: no serial, and a session name starting with run-");
		if (run && (!*run || strlen(run) > 12000 ||
		    strspn(run, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") != strlen(run)))
			return answer_error(r, 400, "run must be the base64 of the command's words, each ended by a NUL byte (at most 8 KiB)");
		if (plain && !run)
			return answer_error(r, 400, "plain goes with run");
		r->rows = (unsigned)rows;
		r->cols = (unsigned)cols;
		r->mode = mode && !strcmp(mode, "ro") ? FCM_TTY_MODE_RO : FCM_TTY_MODE_RW;
		if ((st = owner_check(r, err, sizeof err)))
			return answer_error(r, st, err);
		if (run && session)
			return run_job(r, ACT_CONSOLE, "console", argv_of("--ensure", "--json", "--run", run,
			    plain ? "--plain" : "--json", "--session", session, "--", rt->vm, NULL));
		if (run)
			return run_job(r, ACT_CONSOLE, "console", argv_of("--ensure", "--json", "--run", run,
			    plain ? "--plain" : "--json", "--", rt->vm, NULL));
		if (serial)
			return run_job(r, ACT_CONSOLE, "console", argv_of("--ensure", "--json", "--serial", "--", rt->vm, NULL));
		if (session)
			return run_job(r, ACT_CONSOLE, "console",
			    argv_of("--ensure", "--json", "--session", session, "--", rt->vm, NULL));
		return run_job(r, ACT_CONSOLE, "console", argv_of("--ensure", "--json", "--", rt->vm, NULL));
	}
	}
	return answer_error(r, 500, "internal error: unrouted request");
}

static void upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
    size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max);

/* A text command (fcm-logs) says {"ok":true} on a line of its own once its
 * checks passed (lib/cmd/cmd.c), then writes its text; failing before, it
 * writes a JSON error instead.  Take the line off: what is left is the text,
 * which may then be answered with 200 and streamed. */
static void text_header(struct req *r)
{
	static const char ok[] = "{\"ok\":true}\n";
	struct fcm_job *j = r->job;
	size_t n = sizeof ok - 1;

	if (r->text_ok || !j || (r->act != ACT_FOLLOW && r->act != ACT_LOGS))
		return;
	if (j->olen >= n && !memcmp(j->obuf, ok, n)) {
		memmove(j->obuf, j->obuf + n, j->olen - n + 1);
		j->olen -= n;
		r->text_ok = 1;
	}
}

static enum MHD_Result finish(struct req *r)
{
	struct fcm_job *j = r->job;
	enum MHD_Result ret;
	char *msg;
	jv v;

	text_header(r);

	if (r->act == ACT_SESSION) {
		/* an OIDC sign-in of the dashboard: fcm-auth's token goes into the cookie */
		unsigned st;
		const char *tok;
		v = fcm_job_reply(j);
		if (!jv_is_valid(v)) {
			jv_free(v);
			msg = fcm_job_error(j);
			fcm_warn("%s %s: %s", r->method, r->path, msg);
			ret = answer_error(r, 500, msg);
			free(msg);
			goto out;
		}
		st = fcm_authapi_status(&v, j->status);
		tok = fcm_get_str(v, "token");
		jv user = jv_object_get(jv_copy(v), jv_string("user"));
		const char *id = jv_get_kind(user) == JV_KIND_OBJECT ? fcm_get_str(user, "id") : NULL;
		if (st != 200 || !tok || !id || strspn(tok, "0123456789abcdef") != strlen(tok) ||
		    fcm_web_csrf(tok, strlen(tok), r->csrf) < 0) {
			jv_free(user);
			if (st == 200) {
				jv_free(v);
				ret = answer_error(r, 500, "fcm-auth gave no token");
				goto out;
			}
			ret = answer_json(r, st, v);
			goto out;
		}
		snprintf(r->who.name, sizeof r->who.name, "%s", id);
		jv admin = jv_object_get(user, jv_string("admin"));
		r->who.admin = jv_get_kind(admin) == JV_KIND_TRUE;
		jv_free(admin);
		session_cookie(r, 1, tok);
		jv_free(v);
		ret = answer_json(r, 200, session_reply(r));
		goto out;
	}
	if (r->act == ACT_AUTH) {
		/* fcm-auth's reply says its status; tokens in it are never logged */
		unsigned st;
		v = fcm_job_reply(j);
		if (!jv_is_valid(v)) {
			jv_free(v);
			msg = fcm_job_error(j);
			fcm_warn("%s %s: %s", r->method, r->path, msg);
			ret = answer_error(r, 500, msg);
			free(msg);
			goto out;
		}
		st = fcm_authapi_status(&v, j->status);
		if (st >= 500)
			fcm_warn("%s %s: %s", r->method, r->path, fcm_reply_error(v));
		ret = answer_json(r, st, v);
		goto out;
	}
	if (j->status != 0 && !(r->act == ACT_FOLLOW && r->text_ok)) {
		/* the command's JSON error, with its kind; else what it said */
		v = fcm_job_reply(j);
		if (!jv_is_valid(v) || !fcm_get_str(v, "error")) {
			jv_free(v);
			msg = fcm_job_error(j);
			v = fcm_error_reply(j->status == FCM_EXIT_USAGE ? FCM_E_USAGE : FCM_E_INTERNAL, msg);
			free(msg);
		}
		ret = answer_reply_error(r, v);
		goto out;
	}
	switch (r->act) {
	case ACT_CMD:
	case ACT_SHOW:
		v = j->truncated || !j->obuf ? jv_invalid() : jv_parse_sized(j->obuf, (int)j->olen);
		if (!jv_is_valid(v)) {
			jv_free(v);
			ret = answer_error(r, 500, j->truncated ? "the reply is too large" : "the command gave no JSON reply");
			goto out;
		}
		if (r->act == ACT_SHOW)	/* GET /v1/vms/{vm}: the one VM */
			v = jv_array_get(v, 0);
		ret = answer_json(r, (unsigned)r->cmd->status, v);
		goto out;
	case ACT_LOGS: {
		char *body = j->obuf ? j->obuf : fcm_strdup("");
		size_t len = j->olen;
		j->obuf = NULL;
		j->olen = 0;
		ret = answer(r, 200, "text/plain; charset=utf-8", body, len);
		goto out;
	}
	case ACT_FOLLOW:
	case ACT_AUTH:
	case ACT_SESSION:
		break;
	case ACT_CONSOLE: {
		char accept[29], why[256];
		const char *sock;
		int fd;
		v = fcm_job_reply(j);
		sock = jv_is_valid(v) ? fcm_get_str(v, "socket") : NULL;
		if (!sock || sock[0] != '/') {
			jv_free(v);
			ret = answer_error(r, 500, "fcm-console gave no session socket");
			goto out;
		}
		if (fcm_relays_count() >= relays_max) {
			jv_free(v);
			ret = answer_error(r, 503, "too many consoles are open: try again later");
			goto out;
		}
		fd = fcm_tty_connect(sock);
		if (fd < 0) {
			msg = fcm_strdup(fcm_tty_connect_error(sock, errno, why, sizeof why));
			jv_free(v);
			ret = answer_error(r, 500, msg);
			free(msg);
			goto out;
		}
		jv_free(v);
		fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
		r->tty_fd = fd;
		const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
		if (!key || fcm_ws_accept(key, accept) < 0) {
			ret = answer_error(r, 400, "bad Sec-WebSocket-Key");
			goto out;
		}
		struct MHD_Response *resp = MHD_create_response_for_upgrade(upgraded, NULL);
		if (!resp) {
			ret = MHD_NO;
			goto out;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
		MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
		r->status = 101;
		r->answered = 1;
		ret = MHD_queue_response(r->conn, MHD_HTTP_SWITCHING_PROTOCOLS, resp);
		MHD_destroy_response(resp);
		goto out;
	}
	}
	/* ACT_FOLLOW: stream stdout as it comes (chunked). */
	{
		struct MHD_Response *resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 65536,
		    follow_read, r, NULL);
		if (!resp)
			return MHD_NO;
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
		r->status = 200;
		r->answered = 1;
		ret = MHD_queue_response(r->conn, 200, resp);
		MHD_destroy_response(resp);
		return ret;	/* the job lives on while the stream does */
	}
out:
	r->job = NULL;
	fcm_job_drop(j);
	return ret;
}

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	struct fcm_job *j = r->job;
	size_t n;

	(void)pos;
	if (!j)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (j->olen) {
		n = j->olen < max ? j->olen : max;
		memcpy(buf, j->obuf, n);
		memmove(j->obuf, j->obuf + n, j->olen - n);
		j->olen -= n;
		return (ssize_t)n;
	}
	if (j->out < 0 || stopping)
		return MHD_CONTENT_READER_END_OF_STREAM;
	suspend(r);
	return 0;
}

/* --- the request callbacks -------------------------------------------------------- */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *data, size_t *data_size, void **con_cls)
{
	struct req *r = *con_cls;
	char err[512];
	unsigned st;

	(void)cls;
	(void)version;
	if (!r) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		r = calloc(1, sizeof *r);
		if (!r)
			return MHD_NO;
		*con_cls = r;
		r->conn = c;
		r->tty_fd = -1;
		r->t0 = fcm_now_ms();
		req_link(r);
		fcm_http_log_safe(method, 8, r->method, sizeof r->method);
		fcm_http_log_safe(url, 120, r->path, sizeof r->path);
		r->url = strdup(url);
		if (!r->url)
			return MHD_NO;
		snprintf(r->peer, sizeof r->peer, "?");
		if (ci && ci->client_addr) {
			const struct sockaddr *sa = ci->client_addr;
			if (sa->sa_family == AF_INET)
				inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, r->peer, sizeof r->peer);
			else if (sa->sa_family == AF_INET6)
				inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, r->peer, sizeof r->peer);
		}
		if (stopping)
			return answer_error(r, 503, "the API is restarting: try again");
		st = (unsigned)fcm_http_route(method, url, &r->route, err, sizeof err);
		if (st == 404) {
			/* a command's route?  (checked again with the body at dispatch) */
			const struct fcm_cmd_route *cr;
			jv junk;
			if (fcm_cmd_route(method, url, jv_object(), jv_null(), &junk, &cr, r->allow, sizeof r->allow)) {
				r->route.kind = FCM_R_CMD;
				st = 0;
			} else if (r->allow[0]) {
				st = 405;
				snprintf(err, sizeof err, "method %s is not allowed here: use %s", r->method, r->allow);
			} else {
				const char *e = fcm_get_str(junk, "kind");
				if (e && !strcmp(e, "usage")) {
					st = 400;
					snprintf(err, sizeof err, "%s", fcm_reply_error(junk));
				}
			}
			jv_free(junk);
		}
		{
			const char *ctype, *file = st == 404 ? fcm_web_file(url, &ctype) : NULL;
			if (file)
				return web_file(r, file, ctype);
		}
		if (st)
			return answer_error(r, st, err);
		if (r->route.kind == FCM_R_AUTH_CONFIG || r->route.kind == FCM_R_AUTH_DEVICE ||
		    r->route.kind == FCM_R_AUTH_LOGIN || (r->route.kind == FCM_R_SESSION && !strcmp(method, "POST"))) {
			/* No token: a few a minute per client address (lib/http/ratelimit.h). */
			long wait = fcm_ratelimit_take(r->peer, fcm_now_ms());
			if (wait > 0) {
				snprintf(r->retry_after, sizeof r->retry_after, "%ld", wait);
				snprintf(err, sizeof err, "too many requests without a token from %s: try again in %ld s",
				    r->peer, wait);
				return answer_error(r, 429, err);
			}
		} else if (r->route.kind != FCM_R_HEALTH && (st = auth(r, err, sizeof err)))
			return answer_error(r, st, err);
		const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > FCM_API_BODY_MAX) {
			snprintf(err, sizeof err, "the request body is larger than %d bytes", FCM_API_BODY_MAX);
			return answer_error(r, 413, err);
		}
		return MHD_YES;
	}
	if (*data_size) {
		size_t n = *data_size;
		*data_size = 0;
		if (r->answered || r->body_too_big)
			return MHD_YES;
		if (r->body_len + n > FCM_API_BODY_MAX) {
			r->body_too_big = 1;
			free(r->body);
			r->body = NULL;
			return MHD_YES;
		}
		char *nb = realloc(r->body, r->body_len + n + 1);
		if (!nb)
			return MHD_NO;
		r->body = nb;
		memcpy(r->body + r->body_len, data, n);
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	if (r->answered)
		return MHD_YES;
	if (r->body_too_big) {
		snprintf(err, sizeof err, "the request body is larger than %d bytes", FCM_API_BODY_MAX);
		return answer_error(r, 413, err);
	}
	if (r->job) {
		if (stopping && !fcm_job_done(r->job))
			return answer_error(r, 503, "the API is restarting: try again");
		text_header(r);
		if (fcm_job_done(r->job) || (r->act == ACT_FOLLOW && r->text_ok))
			return finish(r);
		suspend(r);
		return MHD_YES;
	}
	return dispatch(r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct req *r = *con_cls;

	(void)cls;
	(void)c;
	if (!r)
		return;
	*con_cls = NULL;
	if (r->status)
		fcm_info("%s %s %s %u %s %ldms%s", r->peer, r->method, r->path, r->status,
		    r->who.name[0] ? r->who.name : "-", fcm_now_ms() - r->t0,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		    toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)" :
		    toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " (client went away)" : " (cut short)");
	if (r->job)
		fcm_job_drop(r->job);
	if (r->tty_fd >= 0)
		close(r->tty_fd);
	explicit_bzero(r->stok, sizeof r->stok);
	if (r->set_cookie)	/* it may hold a token */
		explicit_bzero(r->set_cookie, strlen(r->set_cookie));
	free(r->set_cookie);
	req_unlink(r);
	free(r->body);
	free(r->url);
	free(r);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof msg, fmt, ap);
	n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	fcm_warn("libmicrohttpd: %s", msg);
}

/* --- console: the upgraded connection becomes a relay (lib/http/relay.h) --- */

static void upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
    size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct req *r = con_cls;
	struct fcm_relay_session s = { r->tty_fd, r->mode, r->rows, r->cols, r->route.vm, r->who.name, r->peer };

	(void)cls;
	(void)c;
	r->tty_fd = -1;
	fcm_relay_new(sock, urh, extra, extra_len, &s);
}

/* --- signals and the loop ------------------------------------------------------ */

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	if (write(selfpipe[1], &c, 1) < 0) {
		/* full: an earlier byte wakes the loop */
	}
	errno = e;
}

static unsigned env_num(const char *name, unsigned def, unsigned min, unsigned max)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (!s || !*s)
		return def;
	v = strtoul(s, &end, 10);
	if (*end || v < min || v > max)
		fcm_die(FCM_E_USAGE, "%s must be a whole number from %u to %u", name, min, max);
	return (unsigned)v;
}

struct pollset {
	struct pollfd *fds;
	void **who;
	int *what;
	size_t n, cap;
};

static void ps_add(struct pollset *ps, int fd, short ev, void *who, int what)
{
	if (ps->n == ps->cap) {
		ps->cap = ps->cap ? ps->cap * 2 : 64;
		ps->fds = realloc(ps->fds, ps->cap * sizeof *ps->fds);
		ps->who = realloc(ps->who, ps->cap * sizeof *ps->who);
		ps->what = realloc(ps->what, ps->cap * sizeof *ps->what);
		if (!ps->fds || !ps->who || !ps->what)
			fcm_die_nomem();
	}
	ps->fds[ps->n].fd = fd;
	ps->fds[ps->n].events = ev;
	ps->fds[ps->n].revents = 0;
	ps->who[ps->n] = who;
	ps->what[ps->n] = what;
	ps->n++;
}

enum { W_SELF, W_MHD, W_JOB, W_RELAY };

static void add_job(void *ps, int fd, short ev, struct fcm_job *j)
{
	ps_add(ps, fd, ev, j, W_JOB);
}

static void add_relay(void *ps, int fd, short ev, struct fcm_relay *x)
{
	ps_add(ps, fd, ev, x, W_RELAY);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "notify", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_at = getenv("FCM_API_LISTEN");
	struct sockaddr_in6 addr;
	unsigned addrlen;
	int v6, c, notify_fd = -1, epfd;
	char err[512];
	struct sigaction sa;
	struct rlimit rl;
	struct pollset ps = { 0 };
	long stop_deadline = 0;

	fcm_init(argv[0]);
	opterr = 0;
	while ((c = getopt_long(argc, argv, "l:d:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'l':
			listen_at = optarg;
			break;
		case 'd': {
			char *end;
			long fd = strtol(optarg, &end, 10);
			if (!*optarg || *end || fd < 3 || fd > 1000)
				fcm_die(FCM_E_USAGE, "--notify takes a file descriptor from 3 to 1000");
			notify_fd = (int)fd;
			break;
		}
		case 'h':
			printf("usage: %s\n", usage);
			return 0;
		default:
			fcm_die(FCM_E_USAGE, "unknown option '%.64s'; usage: %s", argv[optind - 1], usage);
		}
	}
	if (optind != argc)
		fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", argv[optind], usage);
	if (!listen_at || !*listen_at)
		listen_at = FCM_API_LISTEN_DEFAULT;
	if (fcm_http_listen_parse(listen_at, &addr, &addrlen, &v6, err, sizeof err) < 0)
		fcm_die(FCM_E_USAGE, "%s", err);
	conn_limit = env_num("FCM_API_MAX_CONN", conn_limit, 1, 100000);
	conn_timeout = env_num("FCM_API_TIMEOUT", conn_timeout, 1, 86400);
	jobs_max = env_num("FCM_API_MAX_JOBS", jobs_max, 1, 4096);
	streams_max = env_num("FCM_API_MAX_STREAMS", streams_max, 1, 65536);
	fcm_ratelimit_init(env_num("FCM_API_AUTH_RATE", 30, 1, 100000), env_num("FCM_API_AUTH_BURST", 30, 1, 100000));
	job_timeout = env_num("FCM_API_JOB_TIMEOUT", job_timeout, 1, 86400);
	relays_max = env_num("FCM_API_MAX_CONSOLES", relays_max, 1, 65536);
	fcm_relays_set_slow(env_num("FCM_API_SLOW_CLIENT", 30, 1, 3600));
	drain_secs = env_num("FCM_API_DRAIN", drain_secs, 0, 3600);

	fcm_root();
	if (fcm_admin_token_ensure(err, sizeof err) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	setenv("FCM_CALLER", "fcm-api", 1);
	fcm_jobs_init(jobs_max, streams_max, job_timeout, resume);
	ls_cmd = fcm_cmd_find("ls");
	if (!(vmcache = fcm_vmcache_new()))
		fcm_warn_sys("no VM cache (inotify): every GET /v1/vms runs fcm-ls");

	/* Room for every connection, console and command pipe. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)conn_limit * 2 + (rlim_t)relays_max * 2 + (rlim_t)(jobs_max + streams_max) * 2 + 64;
		if (rl.rlim_cur < want) {
			rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
			setrlimit(RLIMIT_NOFILE, &rl);
		}
	}

	if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make the self-pipe");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	daemon_ = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_ALLOW_UPGRADE |
	    MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0),
	    0, NULL, NULL, on_request, NULL,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
	    MHD_OPTION_CONNECTION_LIMIT, conn_limit,
	    MHD_OPTION_CONNECTION_TIMEOUT, conn_timeout,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024),
	    MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024U,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1,
	    MHD_OPTION_END);
	if (!daemon_)
		fcm_die(FCM_E_INTERNAL, "unable to listen on %s (in use, or not an address of this host?)", listen_at);
	{
		const union MHD_DaemonInfo *di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
		epfd = di ? di->epoll_fd : -1;
		if (epfd < 0)
			fcm_die(FCM_E_BUG, "libmicrohttpd gave no epoll fd");
		di = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_BIND_PORT);
		char where[80];
		snprintf(where, sizeof where, "%.*s:%u",
		    (int)(strrchr(listen_at, ':') - listen_at), listen_at, di ? di->port : 0);
		fcm_info("listening on %s (root %s)", where, fcm_root());
	}
	if (notify_fd >= 0) {
		if (write(notify_fd, "\n", 1) < 0)
			fcm_warn_sys("unable to signal readiness on fd %d", notify_fd);
		close(notify_fd);
	}

	for (;;) {
		MHD_UNSIGNED_LONG_LONG mto;
		long timeout, now;

		fcm_jobs_start();
		ps.n = 0;
		ps_add(&ps, selfpipe[0], POLLIN, NULL, W_SELF);
		ps_add(&ps, epfd, POLLIN, NULL, W_MHD);
		fcm_jobs_poll(add_job, &ps);
		timeout = fcm_relays_poll(add_relay, &ps);
		if (timeout < 0)
			timeout = 1000;
		if (MHD_get_timeout(daemon_, &mto) == MHD_YES && mto < (MHD_UNSIGNED_LONG_LONG)timeout)
			timeout = (long)mto;
		if (stopping)
			timeout = 100;
		if (poll(ps.fds, ps.n, (int)timeout) < 0 && errno != EINTR)
			fcm_die_sys(FCM_E_INTERNAL, "poll");
		now = fcm_now_ms();

		for (size_t i = 0; i < ps.n; i++) {
			short ev = ps.fds[i].revents;
			if (!ev)
				continue;
			switch (ps.what[i]) {
			case W_SELF: {
				unsigned char sig[64];
				ssize_t k;
				while ((k = read(selfpipe[0], sig, sizeof sig)) > 0)
					for (ssize_t s = 0; s < k; s++)
						if (sig[s] == SIGTERM || sig[s] == SIGINT) {
							if (!stopping) {
								fcm_info("stopping: answering what runs (at most %us)", drain_secs);
								stopping = 1;
								stop_deadline = now + (long)drain_secs * 1000;
								MHD_socket lfd = MHD_quiesce_daemon(daemon_);
								if (lfd != MHD_INVALID_SOCKET)
									close(lfd);
							}
						}
				break;
			}
			case W_JOB:
				fcm_job_io(ps.who[i], ps.fds[i].fd);
				break;
			case W_RELAY:
				fcm_relay_event(ps.who[i], ps.fds[i].fd, ev);
				break;
			default:
				break;
			}
		}
		fcm_relays_pump();
		fcm_jobs_check(now);
		MHD_run(daemon_);

		if (stopping) {
			if (!fcm_jobs_busy() || now > stop_deadline) {
				/* Answer what still waits, end every console and stream. */
				fcm_relays_end("the API is restarting");
				for (struct req *r = reqs; r; r = r->next)
					resume(r);
				for (int k = 0; k < 20; k++) {
					MHD_run(daemon_);
					fcm_relays_end("the API is restarting");
					if (!reqs)
						break;
					poll(NULL, 0, 10);
					for (struct req *r = reqs; r; r = r->next)
						resume(r);
				}
				MHD_stop_daemon(daemon_);
				free(ps.fds);
				free(ps.who);
				free(ps.what);
				fcm_vmcache_free(vmcache);
				fcm_info("stopped");
				return 0;
			}
		}
	}
}
