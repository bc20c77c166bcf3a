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
 * pipes of running commands and the sockets of console relays.  A request
 * that runs a command is suspended until the command ends, so a slow
 * `fcm-create` holds up nobody.  No threads. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>

#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/run.h"
#include "vm/svc.h"
#include "core/utf8.h"
#include "vm/vm.h"
#include "http/authapi.h"
#include "cmd/cmd.h"
#include "http/http.h"
#include "auth/token.h"
#include "auth/users.h"
#include "tty/ttyproto.h"
#include "tty/ttysock.h"
#include "http/ws.h"

static const char usage[] = "fcm-api [--listen ADDR:PORT] [--notify FD]";

#define LIST_OUT_MAX   (16 * 1024 * 1024)
#define LOGS_OUT_MAX   (8 * 1024 * 1024)
#define STREAM_BUF_MAX (1024 * 1024)
#define STDERR_KEEP    4096
#define WS_FRAME_MAX   (1024 * 1024)
#define WS_TEXT_MAX    4096
#define RELAY_QUEUE_MAX (1024 * 1024)
#define JOBS_QUEUED_MAX 4096
#define LOG_LINES_DEFAULT 100
#define LOG_LINES_MAX 1000000
#define SESSION_MAX 32

/* Settings, from the environment (doc/fcm-api.md). */
static unsigned conn_limit = 1024;	/* FCM_API_MAX_CONN */
static unsigned conn_timeout = 30;	/* FCM_API_TIMEOUT, seconds idle */
static unsigned jobs_max = 32;		/* FCM_API_MAX_JOBS, commands at once */
static unsigned job_timeout = 900;	/* FCM_API_JOB_TIMEOUT, seconds */
static unsigned relays_max = 256;	/* FCM_API_MAX_CONSOLES */
static unsigned drain_secs = 20;	/* FCM_API_DRAIN, on SIGTERM */

static struct MHD_Daemon *daemon_;
static int selfpipe[2] = { -1, -1 };
static int stopping;

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static void info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fcm_vmsg("info", fmt, ap);
	va_end(ap);
}

/* --- requests and the commands they run ------------------------------------ */

enum act { ACT_CMD = 1, ACT_SHOW, ACT_LOGS, ACT_FOLLOW, ACT_CONSOLE, ACT_AUTH };

struct job;
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
	long t0;
	unsigned status;		/* queued, for the log */
	int answered, suspended;
	char *body;
	size_t body_len;
	int body_too_big;
	struct job *job;
	/* console */
	int tty_fd;
	unsigned rows, cols, mode;
	struct req *prev, *next;
};

struct job {
	struct req *req;		/* NULL once the request is gone */
	enum act act;
	char **argv;			/* argv[0] malloc'd too */
	char *in;			/* fed on its stdin (fcm-auth), or NULL */
	size_t inlen;
	pid_t pid;
	int out, err;
	char *obuf;
	size_t olen, ocap, omax;
	int truncated;
	int text_ok;			/* a text command said {"ok":true}: its text follows */
	char ebuf[STDERR_KEEP];
	size_t elen;
	int exited, status;
	long started, exited_at;
	int term_sent;
	struct job *next;
};

static struct req *reqs;
static struct job *jobs;
static unsigned jobs_running, jobs_queued;

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

static void resume(struct req *r)
{
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

static void argv_free(char **argv)
{
	for (char **a = argv + 1; *a; a++)
		free(*a);
	free(argv);
}

static int job_done(const struct job *j)
{
	return j->pid < 0 || (j->exited && j->out < 0 && j->err < 0);
}

static void job_free(struct job *j)
{
	struct job **pp;

	for (pp = &jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (j->out >= 0)
		close(j->out);
	if (j->err >= 0)
		close(j->err);
	free(j->argv[0]);
	argv_free(j->argv);
	free(j->obuf);
	if (j->in) {
		explicit_bzero(j->in, j->inlen);
		free(j->in);
	}
	free(j);
}

/* A new command for request r; argv (slot 0 empty) is taken. */
static struct job *job_new(struct req *r, enum act act, const char *helper, char **argv)
{
	struct job *j = calloc(1, sizeof *j);

	if (!j)
		fcm_die_nomem();
	argv[0] = fcm_helper(helper);
	j->req = r;
	j->act = act;
	j->argv = argv;
	j->out = j->err = -1;
	j->omax = act == ACT_FOLLOW ? STREAM_BUF_MAX : act == ACT_LOGS ? LOGS_OUT_MAX : LIST_OUT_MAX;
	/* Oldest first, so that commands start in the order they came. */
	struct job **pp = &jobs;
	while (*pp)
		pp = &(*pp)->next;
	*pp = j;
	jobs_queued++;
	r->job = j;
	return j;
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

extern char **environ;

static int job_start(struct job *j)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, defs;
	int po[2] = { -1, -1 }, pe[2] = { -1, -1 }, pi[2] = { -1, -1 }, e;

	jobs_queued--;
	if (pipe2(po, O_CLOEXEC | O_NONBLOCK) < 0 || pipe2(pe, O_CLOEXEC | O_NONBLOCK) < 0) {
		e = errno;
		goto fail;
	}
	/* stdin from memory (a request body: it fits a pipe grown to 256 KiB),
	 * written whole before the command starts. */
	errno = 0;
	if (j->in && (pipe2(pi, O_CLOEXEC) < 0 || fcntl(pi[1], F_SETFL, O_NONBLOCK) < 0 ||
	    fcntl(pi[1], F_SETPIPE_SZ, 256 * 1024) < 0 || write(pi[1], j->in, j->inlen) != (ssize_t)j->inlen)) {
		e = errno ? errno : EMSGSIZE;
		for (int i = 0; i < 2; i++)
			if (pi[i] >= 0)
				close(pi[i]);
		goto fail;
	}
	if (pi[1] >= 0)
		close(pi[1]);
	posix_spawn_file_actions_init(&fa);
	if (j->in)
		posix_spawn_file_actions_adddup2(&fa, pi[0], 0);
	else
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&at);
	sigemptyset(&none);
	sigemptyset(&defs);
	sigaddset(&defs, SIGPIPE);
	sigaddset(&defs, SIGCHLD);
	sigaddset(&defs, SIGTERM);
	sigaddset(&defs, SIGINT);
	sigaddset(&defs, SIGHUP);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &defs);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	e = posix_spawn(&j->pid, j->argv[0], &fa, &at, j->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (pi[0] >= 0)
		close(pi[0]);
	close(po[1]);
	close(pe[1]);
	if (e) {
		close(po[0]);
		close(pe[0]);
		goto fail;
	}
	j->out = po[0];
	j->err = pe[0];
	j->started = now_ms();
	jobs_running++;
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0 && (i == 0 || e))
			close(po[i]);
		if (pe[i] >= 0 && (i == 0 || e))
			close(pe[i]);
	}
	j->pid = -1;
	j->exited = 1;
	j->status = -1;
	snprintf(j->ebuf, sizeof j->ebuf, "unable to run %s: %s", j->argv[0], strerror(e));
	j->elen = strlen(j->ebuf);
	return -1;
}

/* The command ended and its pipes are closed: wake its request.  Jobs
 * whose request is gone are freed by sweep(), outside the event loop. */
static void job_finished(struct job *j)
{
	if (j->pid > 0)
		jobs_running--;
	if (j->req)
		resume(j->req);
}

static void sweep(void)
{
	for (struct job *j = jobs, *next; j; j = next) {
		next = j->next;
		if (!j->req && job_done(j))
			job_free(j);
	}
}

/* A text command (fcm-logs) says {"ok":true} on a line of its own once its
 * checks passed (lib/cmd/cmd.c), then writes its text; failing before, it
 * writes a JSON error instead.  Take the line off: what is left is the text,
 * which may then be answered with 200 and streamed. */
static void text_header(struct job *j)
{
	static const char ok[] = "{\"ok\":true}\n";
	size_t n = sizeof ok - 1;

	if (j->olen >= n && !memcmp(j->obuf, ok, n)) {
		memmove(j->obuf, j->obuf + n, j->olen - n + 1);
		j->olen -= n;
		j->text_ok = 1;
	}
}

static void job_read(struct job *j, int which)
{
	char tmp[65536];
	int *fd = which ? &j->err : &j->out;
	ssize_t n = read(*fd, tmp, sizeof tmp);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close(*fd);
		*fd = -1;
		if (job_done(j))
			job_finished(j);
		else if (!which && j->act == ACT_FOLLOW && j->req)
			resume(j->req);
		return;
	}
	if (which) {
		/* Keep the tail of stderr: the last line says what went wrong. */
		size_t k = (size_t)n;
		if (k >= sizeof j->ebuf) {
			memcpy(j->ebuf, tmp + k - (sizeof j->ebuf - 1), sizeof j->ebuf - 1);
			j->elen = sizeof j->ebuf - 1;
		} else {
			if (j->elen + k >= sizeof j->ebuf) {
				size_t drop = j->elen + k - (sizeof j->ebuf - 1);
				memmove(j->ebuf, j->ebuf + drop, j->elen - drop);
				j->elen -= drop;
			}
			memcpy(j->ebuf + j->elen, tmp, k);
			j->elen += k;
		}
		j->ebuf[j->elen] = '\0';
		return;
	}
	size_t k = (size_t)n;
	if (k > j->omax - j->olen) {
		k = j->omax - j->olen;
		j->truncated = 1;
	}
	if (j->olen + k + 1 > j->ocap) {
		size_t cap = j->ocap ? j->ocap : 8192;
		while (cap < j->olen + k + 1)
			cap *= 2;
		char *nb = realloc(j->obuf, cap);
		if (!nb)
			fcm_die_nomem();
		j->obuf = nb;
		j->ocap = cap;
	}
	memcpy(j->obuf + j->olen, tmp, k);
	j->olen += k;
	j->obuf[j->olen] = '\0';
	if ((j->act == ACT_FOLLOW || j->act == ACT_LOGS) && !j->text_ok)
		text_header(j);
	if (j->act == ACT_FOLLOW && j->text_ok && j->req)
		resume(j->req);
}

static void reap(void)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
		for (struct job *j = jobs; j; j = j->next)
			if (j->pid == pid && !j->exited) {
				j->exited = 1;
				j->exited_at = now_ms();
				j->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
				if (job_done(j))
					job_finished(j);
				break;
			}
}

/* The error a failed command gave: its JSON error on stdout, else the last
 * line of its stderr without the "prog: fatal: " prefix. */
static char *job_error(struct job *j)
{
	if (j->obuf && j->olen) {
		char *nl = strchr(j->obuf, '\n');
		jv v = jv_parse_sized(j->obuf, (int)(nl ? (size_t)(nl - j->obuf) : j->olen));
		const char *e = jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT ? fcm_get_str(v, "error") : NULL;
		if (e) {
			char *s = fcm_strdup(e);
			jv_free(v);
			return s;
		}
		jv_free(v);
	}
	while (j->elen && (j->ebuf[j->elen - 1] == '\n' || j->ebuf[j->elen - 1] == '\r'))
		j->ebuf[--j->elen] = '\0';
	if (j->elen) {
		char *line = strrchr(j->ebuf, '\n');
		line = line ? line + 1 : j->ebuf;
		char *f = strstr(line, ": fatal: ");
		if (f)
			line = f + 9;
		else if ((f = strstr(line, ": error: ")))
			line = f + 9;
		if (*line)
			return fcm_strdup(line);
	}
	const char *slash = strrchr(j->argv[0], '/');
	if (j->status >= 128)
		return fcm_asprintf("%s was killed by signal %d", slash ? slash + 1 : j->argv[0], j->status - 128);
	return fcm_asprintf("%s failed (exit status %d) without saying why", slash ? slash + 1 : j->argv[0], j->status);
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
	if (status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"fcm\"");
	if (status == 405) {
		if (!r->allow[0])
			fcm_http_allow(r->route.allow, r->allow, sizeof r->allow);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	}
	if (status == 503)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, "1");
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

/* Who makes the request: 0 with r->who, or 401/500 with a message.  The one
 * place a request becomes a principal; user tokens plug in via
 * fcm_token_principal. */
static unsigned auth(struct req *r, char *err, size_t errlen)
{
	const char *hdr = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *tok;
	size_t len;
	int k;

	if (!hdr || !*hdr) {
		snprintf(err, errlen, "missing token: send 'Authorization: Bearer <token>' (the admin token is in $FCM_ROOT/.token on the host)");
		return 401;
	}
	if (fcm_http_bearer(hdr, &tok, &len) < 0) {
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
		snprintf(err, errlen, "invalid token");
		return 401;
	}
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

static enum MHD_Result run_job(struct req *r, enum act act, const char *helper, char **argv)
{
	if (jobs_queued >= JOBS_QUEUED_MAX) {
		argv_free(argv);
		return answer_error(r, 503, "the API is busy: try again");
	}
	job_new(r, act, helper, argv);
	suspend(r);
	return MHD_YES;
}

/* GET /v1/auth/config, POST /v1/auth/device and /v1/auth/login: fcm-auth,
 * with the request on its stdin (doc/auth.md). */
static enum MHD_Result auth_job(struct req *r)
{
	char err[256];
	size_t len;
	char *line = fcm_authapi_request(r->route.kind, r->body ? r->body : "", r->body_len, &len, err, sizeof err);
	enum MHD_Result ret;

	if (!line)
		return answer_error(r, 400, err);
	ret = run_job(r, ACT_AUTH, "auth", argv_of(NULL));
	if (r->job && r->job->act == ACT_AUTH && !r->job->in) {
		r->job->in = line;
		r->job->inlen = len;
	} else {
		explicit_bzero(line, len);
		free(line);
	}
	return ret;
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
	enum MHD_Result ret = run_job(r, act, r->cmd->parent ? r->cmd->parent->name : r->cmd->name, argv);
	if (r->job && !r->job->in) {
		r->job->in = in;
		r->job->inlen = strlen(in);
	} else {
		free(in);
	}
	return ret;
}

static enum MHD_Result dispatch(struct req *r)
{
	struct fcm_route *rt = &r->route;
	char err[512];
	unsigned st;

	switch (rt->kind) {
	case FCM_R_HEALTH:
		return answer_json(r, 200, jv_object_set(jv_object_set(jv_object(),
		    jv_string("ok"), jv_true()), jv_string("version"), jv_string(FCM_VERSION)));
	case FCM_R_ME:
		return answer_json(r, 200, fcm_authapi_me(&r->who));
	case FCM_R_AUTH_CONFIG:
	case FCM_R_AUTH_DEVICE:
	case FCM_R_AUTH_LOGIN:
		return auth_job(r);
	case FCM_R_AUTH_LOGOUT:
		return auth_logout(r);
	case FCM_R_CMD:
		return cmd_job(r);
	case FCM_R_CONSOLE: {
		const char *key = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Key");
		const char *ver = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, "Sec-WebSocket-Version");
		unsigned long rows = 0, cols = 0;
		const char *mode = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "mode");
		const char *session = MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, "session");
		int serial = 0;
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
		r->rows = (unsigned)rows;
		r->cols = (unsigned)cols;
		r->mode = mode && !strcmp(mode, "ro") ? FCM_TTY_MODE_RO : FCM_TTY_MODE_RW;
		if ((st = owner_check(r, err, sizeof err)))
			return answer_error(r, st, err);
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

/* The first JSON object on the job's stdout, or invalid. */
static jv first_object(struct job *j)
{
	jv v;

	if (!j->obuf)
		return jv_invalid();
	char *nl = strchr(j->obuf, '\n');
	v = jv_parse_sized(j->obuf, (int)(nl ? (size_t)(nl - j->obuf) : j->olen));
	if (jv_is_valid(v) && jv_get_kind(v) != JV_KIND_OBJECT) {
		jv_free(v);
		return jv_invalid();
	}
	return v;
}

static void upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
    size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh);
static unsigned relays_active;

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max);

static enum MHD_Result finish(struct req *r)
{
	struct job *j = r->job;
	enum MHD_Result ret;
	char *msg;
	jv v;

	if (j->act == ACT_AUTH) {
		/* fcm-auth's reply says its status; tokens in it are never logged */
		unsigned st;
		v = first_object(j);
		if (!jv_is_valid(v)) {
			jv_free(v);
			msg = job_error(j);
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
	if (j->status != 0 && !(j->act == ACT_FOLLOW && j->text_ok)) {
		/* the command's JSON error, with its kind; else what it said */
		v = first_object(j);
		if (!jv_is_valid(v) || !fcm_get_str(v, "error")) {
			jv_free(v);
			msg = job_error(j);
			v = fcm_error_reply(j->status == FCM_EXIT_USAGE ? FCM_E_USAGE : FCM_E_INTERNAL, msg);
			free(msg);
		}
		ret = answer_reply_error(r, v);
		goto out;
	}
	switch (j->act) {
	case ACT_CMD:
	case ACT_SHOW:
		v = j->truncated || !j->obuf ? jv_invalid() : jv_parse_sized(j->obuf, (int)j->olen);
		if (!jv_is_valid(v)) {
			jv_free(v);
			ret = answer_error(r, 500, j->truncated ? "the reply is too large" : "the command gave no JSON reply");
			goto out;
		}
		if (j->act == ACT_SHOW)	/* GET /v1/vms/{vm}: the one VM */
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
		break;
	case ACT_CONSOLE: {
		char accept[29], why[256];
		const char *sock;
		int fd;
		v = first_object(j);
		sock = jv_is_valid(v) ? fcm_get_str(v, "socket") : NULL;
		if (!sock || sock[0] != '/') {
			jv_free(v);
			ret = answer_error(r, 500, "fcm-console gave no session socket");
			goto out;
		}
		if (relays_active >= relays_max) {
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
	j->req = NULL;
	job_free(j);
	return ret;
}

static ssize_t follow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct req *r = cls;
	struct job *j = r->job;
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
		r->t0 = now_ms();
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
		if (st)
			return answer_error(r, st, err);
		if (r->route.kind != FCM_R_HEALTH && r->route.kind != FCM_R_AUTH_CONFIG &&
		    r->route.kind != FCM_R_AUTH_DEVICE && r->route.kind != FCM_R_AUTH_LOGIN &&
		    (st = auth(r, err, sizeof err)))
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
		if (stopping && !job_done(r->job))
			return answer_error(r, 503, "the API is restarting: try again");
		if (job_done(r->job) || (r->job->act == ACT_FOLLOW && r->job->text_ok))
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
		info("%s %s %s %u %s %ldms%s", r->peer, r->method, r->path, r->status,
		    r->who.name[0] ? r->who.name : "-", now_ms() - r->t0,
		    toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" :
		    toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timed out)" :
		    toe == MHD_REQUEST_TERMINATED_CLIENT_ABORT ? " (client went away)" : " (cut short)");
	if (r->job) {
		struct job *j = r->job;
		j->req = NULL;
		if (j->pid == 0) {
			/* never started */
			jobs_queued--;
			j->pid = -1;
			j->exited = 1;
		} else if (j->pid > 0 && !j->exited) {
			kill(j->pid, SIGTERM);
			j->term_sent = 1;
		}
	}
	if (r->tty_fd >= 0)
		close(r->tty_fd);
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

/* --- console relays: a WebSocket <-> an fcm-tty session ------------------------ */

struct relay {
	int ws, tty;
	struct MHD_UpgradeResponseHandle *urh;
	struct fcm_tty_buf ws_in, ws_out, tty_in, tty_out;
	struct fcm_ws_msg msg;
	char text[WS_TEXT_MAX];
	size_t text_len;
	int closing;			/* our close frame is queued: flush, then end */
	int shut;			/* flushed and shut down for writing: drain */
	long close_deadline;
	char vm[FCM_NAME_MAX + 1], who[FCM_USER_MAX + 1], peer[64];
	long t0;
	struct relay *next;
};
static struct relay *relays;

static void ws_send(struct relay *x, int opcode, const void *p, size_t n)
{
	uint8_t hdr[FCM_WS_HDR_MAX];
	size_t h = fcm_ws_header(hdr, 1, opcode, n, NULL);

	if (fcm_tty_buf_put(&x->ws_out, hdr, h) < 0 || fcm_tty_buf_put(&x->ws_out, p, n) < 0)
		fcm_die_nomem();
}

static void ws_send_json(struct relay *x, jv v)
{
	jv s = jv_dump_string(v, 0);

	ws_send(x, FCM_WS_TEXT, jv_string_value(s), (size_t)jv_string_length_bytes(jv_copy(s)));
	jv_free(s);
}

static void ws_close(struct relay *x, unsigned code, const char *reason)
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
	x->close_deadline = now_ms() + 5000;
}

static void tty_send(struct relay *x, int type, const void *p, size_t n)
{
	if (fcm_tty_buf_frame(&x->tty_out, type, p, n) < 0)
		fcm_die_nomem();
}

static void upgraded(void *cls, struct MHD_Connection *c, void *con_cls, const char *extra,
    size_t extra_len, MHD_socket sock, struct MHD_UpgradeResponseHandle *urh)
{
	struct req *r = con_cls;
	struct relay *x = calloc(1, sizeof *x);
	uint8_t hello[FCM_TTY_HDR + 6];
	size_t n;

	(void)cls;
	(void)c;
	if (!x)
		fcm_die_nomem();
	x->ws = sock;
	x->tty = r->tty_fd;
	r->tty_fd = -1;
	x->urh = urh;
	x->t0 = now_ms();
	snprintf(x->vm, sizeof x->vm, "%s", r->route.vm);
	snprintf(x->who, sizeof x->who, "%s", r->who.name);
	snprintf(x->peer, sizeof x->peer, "%s", r->peer);
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	if (extra_len && fcm_tty_buf_put(&x->ws_in, extra, extra_len) < 0)
		fcm_die_nomem();
	n = fcm_tty_encode_hello(hello, sizeof hello, r->mode, r->rows, r->cols);
	if (fcm_tty_buf_put(&x->tty_out, hello, n) < 0)
		fcm_die_nomem();
	x->next = relays;
	relays = x;
	relays_active++;
	info("%s console %s opened by %s", x->peer, x->vm, x->who);
}

static void relay_free(struct relay *x, const char *why)
{
	struct relay **pp;

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
	info("%s console %s closed after %lds: %s", x->peer, x->vm, (now_ms() - x->t0) / 1000, why);
	free(x);
}

static void relay_control(struct relay *x, const char *text, size_t n)
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
static int relay_from_ws(struct relay *x)
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
static void relay_from_tty(struct relay *x)
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
static void relay_pump(struct relay *x, short wsev, short ttyev)
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
	if (x->ws_out.len && fcm_tty_buf_flush(&x->ws_out, x->ws) < 0) {
		relay_free(x, "connection error");
		return;
	}
	/* Closing: once our close frame is out, shut down our side and read
	 * what the client still sends until it closes too (closing at once
	 * would reset the connection and could lose the close frame). */
	if (x->closing && !x->shut && !x->ws_out.len) {
		shutdown(x->ws, SHUT_WR);
		x->shut = 1;
		x->close_deadline = now_ms() + 2000;
	}
	if (x->closing && now_ms() > x->close_deadline)
		relay_free(x, "closed");
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

enum { W_SELF, W_MHD, W_JOB_OUT, W_JOB_ERR, W_WS, W_TTY };

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
	job_timeout = env_num("FCM_API_JOB_TIMEOUT", job_timeout, 1, 86400);
	relays_max = env_num("FCM_API_MAX_CONSOLES", relays_max, 1, 65536);
	drain_secs = env_num("FCM_API_DRAIN", drain_secs, 0, 3600);

	fcm_root();
	if (fcm_admin_token_ensure(err, sizeof err) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	setenv("FCM_CALLER", "fcm-api", 1);

	/* Room for every connection, console and command pipe. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rlim_t want = (rlim_t)conn_limit * 2 + (rlim_t)relays_max * 2 + (rlim_t)jobs_max * 2 + 64;
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
		info("listening on %s (root %s)", where, fcm_root());
	}
	if (notify_fd >= 0) {
		if (write(notify_fd, "\n", 1) < 0)
			fcm_warn_sys("unable to signal readiness on fd %d", notify_fd);
		close(notify_fd);
	}

	for (;;) {
		MHD_UNSIGNED_LONG_LONG mto;
		long timeout = 1000, now;

		/* Start queued commands, oldest first, up to the limit. */
		for (struct job *j = jobs; j && jobs_queued && jobs_running < jobs_max; j = j->next)
			if (!j->pid && !j->exited && job_start(j) < 0)
				job_finished(j);
		ps.n = 0;
		ps_add(&ps, selfpipe[0], POLLIN, NULL, W_SELF);
		ps_add(&ps, epfd, POLLIN, NULL, W_MHD);
		for (struct job *j = jobs; j; j = j->next) {
			if (j->out >= 0 && j->olen < j->omax)
				ps_add(&ps, j->out, POLLIN, j, W_JOB_OUT);
			if (j->err >= 0)
				ps_add(&ps, j->err, POLLIN, j, W_JOB_ERR);
		}
		for (struct relay *x = relays; x; x = x->next) {
			short ev = 0;
			if ((!x->closing && x->tty_out.len < RELAY_QUEUE_MAX) || x->shut)
				ev |= POLLIN;
			if (x->ws_out.len)
				ev |= POLLOUT;
			ps_add(&ps, x->ws, ev, x, W_WS);
			if (x->tty >= 0) {
				ev = 0;
				if (!x->closing && x->ws_out.len < RELAY_QUEUE_MAX)
					ev |= POLLIN;
				if (x->tty_out.len)
					ev |= POLLOUT;
				ps_add(&ps, x->tty, ev, x, W_TTY);
			}
			if (x->closing)
				timeout = 100;
		}
		if (MHD_get_timeout(daemon_, &mto) == MHD_YES && mto < (MHD_UNSIGNED_LONG_LONG)timeout)
			timeout = (long)mto;
		if (stopping)
			timeout = 100;
		if (poll(ps.fds, ps.n, (int)timeout) < 0 && errno != EINTR)
			fcm_die_sys(FCM_E_INTERNAL, "poll");
		now = now_ms();

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
								info("stopping: answering what runs (at most %us)", drain_secs);
								stopping = 1;
								stop_deadline = now + (long)drain_secs * 1000;
								MHD_socket lfd = MHD_quiesce_daemon(daemon_);
								if (lfd != MHD_INVALID_SOCKET)
									close(lfd);
							}
						}
				reap();
				break;
			}
			case W_JOB_OUT:
			case W_JOB_ERR:
				job_read(ps.who[i], ps.what[i] == W_JOB_ERR);
				break;
			default:
				break;
			}
		}
		/* Relays: pump each once with both its events. */
		for (size_t i = 0; i < ps.n; i++) {
			if (ps.what[i] != W_WS)
				continue;
			struct relay *x = ps.who[i];
			short wsev = ps.fds[i].revents, ttyev = 0;
			if (i + 1 < ps.n && ps.what[i + 1] == W_TTY && ps.who[i + 1] == x)
				ttyev = ps.fds[i + 1].revents;
			if (wsev || ttyev || x->closing)
				relay_pump(x, wsev, ttyev);
		}
		reap();
		/* Commands that outlive their time; pipes held open by a child's
		 * children after it exited. */
		for (struct job *j = jobs, *next; j; j = next) {
			next = j->next;
			if (j->pid > 0 && !j->exited && j->act != ACT_FOLLOW &&
			    now - j->started > (long)job_timeout * 1000) {
				if (!j->term_sent) {
					fcm_warn("%s took more than %us: stopping it", j->argv[0], job_timeout);
					kill(j->pid, SIGTERM);
					j->term_sent = 1;
					j->started = now - (long)job_timeout * 1000 + 5000;
				} else {
					kill(j->pid, SIGKILL);
				}
			}
			if (j->exited && !job_done(j) && now - j->exited_at > 2000) {
				if (j->out >= 0)
					close(j->out);
				if (j->err >= 0)
					close(j->err);
				j->out = j->err = -1;
				job_finished(j);
			}
		}
		MHD_run(daemon_);
		sweep();

		if (stopping) {
			int busy = 0;
			for (struct job *j = jobs; j; j = j->next)
				if (j->req && j->pid > 0 && !j->exited && j->act != ACT_FOLLOW)
					busy = 1;
			if (!busy || now > stop_deadline) {
				/* Answer what still waits, end every console and stream. */
				for (struct relay *x = relays; x; x = x->next)
					if (!x->closing)
						ws_close(x, FCM_WS_CLOSE_GOING_AWAY, "the API is restarting");
				for (struct req *r = reqs; r; r = r->next)
					resume(r);
				for (int k = 0; k < 20; k++) {
					MHD_run(daemon_);
					for (struct relay *x = relays, *nx; x; x = nx) {
						nx = x->next;
						if (x->ws_out.len)
							fcm_tty_buf_flush(&x->ws_out, x->ws);
						relay_free(x, "the API stopped");
					}
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
				info("stopped");
				return 0;
			}
		}
	}
}
