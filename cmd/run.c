/* fcm run — a one-off command in an app's environment (doc/fcm-run.md):
 * in the current release's directory, with its config vars and PATH, on a
 * pseudo-terminal when run from one; its exit status is fcm run's.  Here
 * (root on the host) it is ssh into the guest; through the API, a console
 * session of its own over the API's WebSocket. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "http/client.h"
#include "http/wsterm.h"
#include "tty/term.h"
#include "vm/guestrun.h"

#define RUN_ARGV_MAX 8192	/* the command line's bytes, all words (fits a URL) */

static jv check(jv req)
{
	jv words = jv_object_get(jv_copy(req), jv_string("command"));
	size_t total = 0;

	if (jv_get_kind(words) != JV_KIND_ARRAY || !jv_array_length(jv_copy(words)))
		fcm_die(FCM_E_USAGE, "say which command to run; usage: fcm run [VM] -- COMMAND [ARG...]");
	jv_array_foreach(words, i, w) {
		total += (size_t)jv_string_length_bytes(jv_copy(w)) + 1;
		jv_free(w);
	}
	jv_free(words);
	if (total > RUN_ARGV_MAX)
		fcm_die(FCM_E_USAGE, "the command line is %zu bytes: at most %d", total, RUN_ARGV_MAX);
	return req;
}

/* The base64 of the words, each ended by NUL (malloc'd): what the guest's
 * `app run` decodes, so that its shell sees only base64 characters. */
static char *words_b64(jv words)
{
	size_t len = 0, off = 0;
	char *raw, *b64;

	jv_array_foreach(words, i, w) {
		len += strlen(jv_string_value(w)) + 1;
		jv_free(w);
	}
	raw = fcm_malloc(len + 1);
	jv_array_foreach(words, i, w) {
		size_t n = strlen(jv_string_value(w)) + 1;
		memcpy(raw + off, jv_string_value(w), n);
		off += n;
		jv_free(w);
	}
	b64 = fcm_malloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)raw, (int)len);
	free(raw);
	return b64;
}

/* Through the API (prepare runs on the client): the command runs in a
 * console session of its own, fcm-console --run, attached to as fcm console
 * is; Ctrl-] leaves it running, and the line says how to come back. */
static jv prepare(jv req)
{
	const char *name;
	char *b64, *path, *hint, q[64] = "", sess[16];
	unsigned rows, cols, rnd;
	int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	jv words;

	if (!fcm_remote_mode())
		return req;
	req = check(req);
	name = fcm_get_str(req, "vm");
	words = jv_object_get(jv_copy(req), jv_string("command"));
	b64 = words_b64(words);
	jv_free(words);
	fcm_client_setup(1);
	fcm_term_size(&rows, &cols);
	if (rows)
		snprintf(q, sizeof q, "rows=%u&cols=%u&", rows, cols);
	if (getrandom(&rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
		fcm_die_sys(FCM_E_INTERNAL, "unable to get random bytes");
	snprintf(sess, sizeof sess, "run-%08x", rnd);
	/* base64's + / = escaped for the query */
	jv e = jv_string("");
	for (const char *p = b64; *p; p++)
		e = *p == '+' ? jv_string_append_str(e, "%2B") : *p == '/' ? jv_string_append_str(e, "%2F") :
		    *p == '=' ? jv_string_append_str(e, "%3D") : jv_string_append_buf(e, p, 1);
	path = fcm_asprintf("/v1/vms/%s/console?%smode=rw&session=%s&run=%s%s", name, q, sess,
	    jv_string_value(e), tty ? "" : "&plain=1");
	jv_free(e);
	free(b64);
	hint = fcm_asprintf("fcm console %s --session %s", name, sess);
	fcm_term_quiet();
	fcm_wsterm_run(path, hint, 0);
}

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	jv words = jv_object_get(jv_copy(req), jv_string("command"));
	int tty = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	char *cmd, *b64;
	char **argv;

	(void)who;
	fcm_guest_need_running(rec);
	b64 = words_b64(words);
	jv_free(words);
	cmd = fcm_asprintf(FCM_GUEST_APP " run %s", b64);
	free(b64);
	argv = fcm_guest_argv(rec, tty, cmd);
	free(cmd);
	fflush(stdout);
	/* ssh's exit status is the command's (255: ssh itself failed). */
	execvp(argv[0], argv);
	fcm_die_sys(FCM_E_INTERNAL, "unable to run ssh");
}

const struct fcm_cmd fcm_cmd_run = {
	.name = "run",
	.summary = "run a one-off command in an app's environment (fcm run -- bash)",
	.usage = "fcm run [VM] -- COMMAND [ARG...]",
	.args = (const char *const[]){ "command+", NULL },
	.flags = FCM_CMD_VM | FCM_CMD_TEXT,
	/* No route: through the API it is a console session (prepare). */
	.check = check,
	.prepare = prepare,
	.run = run,
};
