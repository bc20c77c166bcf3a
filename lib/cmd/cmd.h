/* cmd.h — one definition per command (doc/architecture.md).
 *
 * A user command (cmd/<name>.c) is one `struct fcm_cmd`: its usage, its
 * options, the JSON request they make, the check of that request, what it
 * does on the host, and how its reply is printed.  The same request is either
 * run here or sent to the daemon — remote mode is a transport, not a second
 * implementation:
 *
 *   argv --parse--> request --check--> run (here)            --> reply --print
 *                          \--HTTP--> fcm-api --> fcm-<name> --request
 *                                                 (check, run) --> reply --/
 *
 * Parsing happens where the user typed the command, so its errors are the
 * same in both modes; the check and the run happen where the VMs are. */
#ifndef FCM_CMD_H
#define FCM_CMD_H

#include <jv.h>

#include "auth/token.h"
#include "http/client.h"	/* fcm_remote_mode */

enum fcm_opt_type {
	FCM_OPT_FLAG = 1,	/* --x: sets key to `value` (JSON text, default true) */
	FCM_OPT_STRING,		/* --x VALUE */
	FCM_OPT_NUMBER,		/* --x N: a whole number in [min, max] */
	FCM_OPT_LIST,		/* --x VALUE, again and again: an array of strings */
};

/* Where an option is read. */
#define FCM_OPT_CLIENT 1	/* by the client only; never sent (--no-dotfile) */
#define FCM_OPT_WORD   2	/* not an option: types the positional word of its key */

struct fcm_opt {
	const char *name;	/* "cpus" for --cpus */
	char letter;		/* 'n' for -n, or 0 */
	int type;		/* enum fcm_opt_type */
	const char *key;	/* its key in the request; NULL: the name */
	const char *value;	/* FLAG: the JSON it sets; NULL: true */
	long min, max;		/* NUMBER */
	unsigned where;		/* 0, FCM_OPT_CLIENT or FCM_OPT_WORD */
};

/* Command flags. */
#define FCM_CMD_VM	1	/* takes [VM] (else the VM of .fcm) as "vm" */
#define FCM_CMD_TEXT	2	/* its output is text, written by run (logs) */
#define FCM_CMD_NOWRITE	4	/* only reads: no owner beyond "may see" needed */
/* A command without routes runs on the host only, as root. */

struct fcm_cmd_route {
	const char *method;	/* "GET", "POST", "DELETE" */
	const char *path;	/* "/v1/vms", "/v1/vms/{vm}/start"; another {key}
				 * carries that string of the request, one path
				 * segment ("/v1/vms/{vm}/domains/{domain}") */
	int one;		/* GET /v1/vms/{vm}: the one VM, not a list */
};

struct fcm_cmd {
	const char *name;	/* "create": fcm create, fcm-create; "add" of keys */
	const char *summary;	/* one line for `fcm help` */
	const char *usage;	/* the whole usage line, "fcm create [--name NAME] ..." */
	const struct fcm_opt *opts;	/* ends with { NULL } */
	/* Positional words (after [VM]): their request keys in order ("port"),
	 * a key ending in '*' for the rest as an array of names ("vms*"); NULL
	 * for none.  A word is a string unless a FCM_OPT_WORD option types it. */
	const char *const *args;
	unsigned flags;
	const struct fcm_cmd_route *routes;	/* routes[0] is the one the client uses */
	int status;		/* HTTP status of a success: 200, or 201 */
	/* Check the request beyond the types of its options (ranges that
	 * depend on the host, required words, ...); may set defaults.  Runs
	 * where the command runs, so its answer is the same in both modes.
	 * Returns the request (consumed), or dies with a kind.  May be NULL. */
	jv (*check)(jv req);
	/* Do it on this host for `who`.  req is checked; rec is the VM's record
	 * with FCM_CMD_VM (else null); both borrowed.  Returns the reply: an
	 * object ({"ok":true,...}) or an array of records; or dies with a kind.
	 * A FCM_CMD_TEXT command writes its text to stdout and returns null. */
	jv (*run)(jv req, jv rec, const struct fcm_principal *who);
	/* On the client, before sending: e.g. read the files options name
	 * (--ssh-key).  Returns the request (consumed).  May be NULL. */
	jv (*prepare)(jv req);
	/* On the client, after a reply: e.g. write .fcm.  Returns the reply
	 * (consumed), perhaps with more in it.  May be NULL. */
	jv (*after)(jv reply, jv req);
	/* Print a reply (borrowed) for a person; NULL: JSON lines. */
	void (*print)(jv reply, jv req);
	/* A command of subcommands (fcm keys add|ls|rm): those, NULL-ended,
	 * each with .parent set; the parent has no run of its own. */
	const struct fcm_cmd *const *subs;
	const struct fcm_cmd *dflt;	/* the sub run when none is named, or NULL */
	const struct fcm_cmd *parent;
};

/* Every user command, NULL-terminated (cmd/list.c, made by make). */
extern const struct fcm_cmd *const fcm_cmds[];

/* The command of that name, or NULL. */
const struct fcm_cmd *fcm_cmd_find(const char *name);

/* Every command the API serves, as data for its clients (GET /v1/commands,
 * the dashboard's forms): [{"name","summary","usage","vm","args",
 * "options":[{"name","type","key","value"|"min","max","word"}],"routes":
 * [{"method","path"}],"subs"?}].  Options read by the client only
 * (FCM_OPT_CLIENT) are left out: they never reach the API. */
jv fcm_cmd_describe_all(void);

/* Run a command as its program: `fcm <name> args` or `fcm-<name> args`.
 * Parses argv into a request, then runs it here (root on this host, no
 * FCM_HOST) or sends it to the daemon, and prints the reply: a table or
 * prose on a terminal, JSON lines in a pipe or with --json.  With
 * `--request [--as USER [--admin]]` (the daemon's way in; root only) it
 * reads the request from stdin and answers in JSON.  Returns the exit code. */
int fcm_cmd_main(const struct fcm_cmd *cmd, int argc, char **argv);

/* For the API: the command and its request for an HTTP request.  method,
 * path (decoded, no query), query (a JSON object of the query's strings) and
 * body (JSON object or null; consumed with query).  Returns the command with
 * *req set, or NULL with *req an error reply ({"ok":false,"kind":...}) —
 * kind not_found for no such endpoint, usage for a bad path or value, and
 * *allow the methods the path allows when the method is the wrong one
 * ("GET, POST"; kind usage, status 405). */
const struct fcm_cmd *fcm_cmd_route(const char *method, const char *path, jv query,
    jv body, jv *req, const struct fcm_cmd_route **route, char *allow, size_t allowlen);

#endif
