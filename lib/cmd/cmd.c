/* cmd.c — running a command definition: parse, check, run here or send to
 * the daemon, print (cmd.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/request.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "http/client.h"
#include "vm/dotfcm.h"
#include "vm/vm.h"
#include "vm/vmprint.h"

const struct fcm_cmd *fcm_cmd_find(const char *name)
{
	for (const struct fcm_cmd *const *c = fcm_cmds; *c; c++)
		if (!strcmp((*c)->name, name))
			return *c;
	return NULL;
}

/* One command as data, for fcm_cmd_describe_all. */
static jv describe(const struct fcm_cmd *cmd)
{
	static const char *const types[] = { "", "flag", "string", "number", "list" };
	jv opts = jv_array(), routes = jv_array(), args = jv_array(), subs = jv_array();

	for (const struct fcm_opt *o = cmd->opts; o && o->name; o++) {
		if (o->where & FCM_OPT_CLIENT)
			continue;
		jv d = jv_object_set(jv_object(), jv_string("name"), jv_string(o->name));
		d = jv_object_set(d, jv_string("type"), jv_string(types[o->type]));
		d = jv_object_set(d, jv_string("key"), jv_string(o->key ? o->key : o->name));
		if (o->type == FCM_OPT_FLAG)
			d = jv_object_set(d, jv_string("value"), o->value ? jv_parse(o->value) : jv_true());
		if (o->type == FCM_OPT_NUMBER) {
			d = jv_object_set(d, jv_string("min"), jv_number((double)o->min));
			d = jv_object_set(d, jv_string("max"), jv_number((double)o->max));
		}
		if (o->where & FCM_OPT_WORD)
			d = jv_object_set(d, jv_string("word"), jv_true());
		opts = jv_array_append(opts, d);
	}
	for (const struct fcm_cmd_route *r = cmd->routes; r && r->method; r++)
		routes = jv_array_append(routes, jv_object_set(jv_object_set(jv_object(),
		    jv_string("method"), jv_string(r->method)), jv_string("path"), jv_string(r->path)));
	for (const char *const *a = cmd->args; a && *a; a++)
		args = jv_array_append(args, jv_string(*a));
	for (const struct fcm_cmd *const *c = cmd->subs; c && *c; c++)
		subs = jv_array_append(subs, describe(*c));
	jv v = jv_object_set(jv_object(), jv_string("name"), jv_string(cmd->name));
	v = jv_object_set(v, jv_string("summary"), jv_string(cmd->summary ? cmd->summary : ""));
	v = jv_object_set(v, jv_string("usage"), jv_string(cmd->usage ? cmd->usage : ""));
	v = jv_object_set(v, jv_string("vm"), jv_bool(cmd->flags & FCM_CMD_VM));
	v = jv_object_set(v, jv_string("options"), opts);
	v = jv_object_set(v, jv_string("args"), args);
	v = jv_object_set(v, jv_string("routes"), routes);
	if (cmd->subs)
		v = jv_object_set(v, jv_string("subs"), subs);
	else
		jv_free(subs);
	return v;
}

jv fcm_cmd_describe_all(void)
{
	jv all = jv_array();

	for (const struct fcm_cmd *const *c = fcm_cmds; *c; c++)
		if ((*c)->routes || (*c)->subs)
			all = jv_array_append(all, describe(*c));
	return all;
}

/* The record of the request's VM, if `who` may see it; dies not_found. */
static jv find_vm(jv req, const struct fcm_principal *who)
{
	const char *ref = fcm_get_str(req, "vm"), *owner;
	char why[256];
	jv rec;

	if (!ref)
		fcm_die(FCM_E_USAGE, "no VM given: name a VM (see 'fcm ls')");
	if (fcm_name_check(ref, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	rec = fcm_vm_find(ref);
	owner = jv_is_valid(rec) ? fcm_get_str(rec, "owner") : NULL;
	if (!jv_is_valid(rec) || (!who->admin && (!owner || strcmp(owner, who->name)))) {
		jv_free(rec);
		fcm_die(FCM_E_NOT_FOUND, "no VM named '%s' (see 'fcm ls')", ref);
	}
	return rec;
}

static int serving;	/* answering the daemon (--request) */

/* Check and run a request on this host; returns the reply. */
static jv execute(const struct fcm_cmd *cmd, jv req, const struct fcm_principal *who)
{
	jv rec = jv_null(), reply;

	if (cmd->check)
		req = cmd->check(req);
	if (cmd->flags & FCM_CMD_VM)
		rec = find_vm(req, who);
	if (serving && (cmd->flags & FCM_CMD_TEXT)) {
		/* For the API: the checks passed, the text follows; it may
		 * now answer 200 and stream it (bin/fcm-api.c). */
		fputs("{\"ok\":true}\n", stdout);
		fflush(stdout);
	}
	reply = cmd->run(req, rec, who);
	jv_free(rec);
	jv_free(req);
	return reply;
}

static void write_line(jv v)
{
	if (fcm_jsonl_write(stdout, v) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
}

static void print(const struct fcm_cmd *cmd, jv reply, jv req, int json)
{
	if (jv_get_kind(reply) == JV_KIND_NULL)
		return;
	if (cmd->print && fcm_human_output(json)) {
		cmd->print(reply, req);
		return;
	}
	if (jv_get_kind(reply) == JV_KIND_ARRAY) {
		/* One line each, straight into stdout's buffer (no string made
		 * of each), flushed once at the end (fcm ls of 500 VMs: one
		 * write, not 500). */
		jv_array_foreach(reply, i, v) {
			jv_dumpf(v, stdout, 0);
			putchar('\n');
			(void)i;
		}
		if (fflush(stdout) != 0 || ferror(stdout))
			fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
		return;
	}
	write_line(jv_copy(reply));
}

/* The daemon's way in: one request on stdin, the reply on stdout.
 * argv[1] is "--request". */
static int serve_request(const struct fcm_cmd *cmd, int argc, char **argv)
{
	struct fcm_principal who = { .name = "admin", .admin = 1 };
	char err[512];
	jv req, reply;

	fcm_err_json(1);
	serving = 1;
	if (geteuid() != 0)
		fcm_die(FCM_E_FORBIDDEN, "--request is the daemon's way in: run the command without it");
	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--as") && i + 1 < argc) {
			if (fcm_name_check(argv[++i], err, sizeof err) < 0 ||
			    strlen(argv[i]) >= sizeof who.name)
				fcm_die(FCM_E_USAGE, "--as: %s", err);
			strcpy(who.name, argv[i]);
			who.admin = 0;
		} else if (!strcmp(argv[i], "--admin")) {
			who.admin = 1;
		} else {
			fcm_die(FCM_E_USAGE, "usage: fcm-%s%s%s --request [--as USER [--admin]]",
			    cmd->parent ? cmd->parent->name : cmd->name, cmd->parent ? " " : "",
			    cmd->parent ? cmd->name : "");
		}
	}
	if (fcm_jsonl_read(stdin, &req, err, sizeof err) <= 0)
		fcm_die(FCM_E_USAGE, "%s", err[0] ? err : "no request on stdin");
	req = fcm_request_check(cmd, req);
	reply = execute(cmd, req, &who);
	if (jv_get_kind(reply) != JV_KIND_NULL)
		write_line(reply);
	else
		jv_free(reply);
	return 0;
}

/* Send the request to the daemon; returns the reply or dies with its error. */
static jv send_request(const struct fcm_cmd *cmd, jv req)
{
	char *path = NULL, *body = NULL;
	const char *method = fcm_request_http(cmd, req, &path, &body);
	jv reply;
	long status;

	fcm_client_setup(1);
	status = fcm_client_request(method, path, body, (cmd->flags & FCM_CMD_TEXT) ? STDOUT_FILENO : -1, &reply);
	free(path);
	free(body);
	if (status < 200 || status > 299) {
		if (jv_get_kind(reply) != JV_KIND_OBJECT || !fcm_get_str(reply, "error")) {
			jv_free(reply);
			reply = fcm_error_reply(fcm_client_kind_of_status(status), "the fcm API gave no error message");
		}
		fcm_die_reply(reply);
	}
	return reply;
}

/* The subcommand argv[1] names (*named set), or the parent's default one
 * (fcm config [VM] is fcm config ls), or dies with the parent's usage. */
static const struct fcm_cmd *sub_of(const struct fcm_cmd *cmd, int argc, char **argv, int *named)
{
	*named = 1;
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))) {
		printf("usage: %s\n", cmd->usage);
		exit(0);
	}
	for (const struct fcm_cmd *const *s = cmd->subs; argc >= 2 && *s; s++)
		if (!strcmp((*s)->name, argv[1]))
			return *s;
	*named = 0;
	if (cmd->dflt)
		return cmd->dflt;
	if (argc < 2)
		fcm_die(FCM_E_USAGE, "say what to do; usage: %s", cmd->usage);
	fcm_die(FCM_E_USAGE, "unknown command '%.64s'; usage: %s", argv[1], cmd->usage);
}

int fcm_cmd_main(const struct fcm_cmd *cmd, int argc, char **argv)
{
	char prog[80];
	int json = 0;
	static jv req, reply;	/* reachable when a step dies (LeakSanitizer) */

	snprintf(prog, sizeof prog, "fcm-%s", cmd->name);
	fcm_init(prog);
	if (cmd->subs) {
		int named;
		cmd = sub_of(cmd, argc, argv, &named);
		argc -= named;
		argv += named;
	}
	if (argc > 1 && !strcmp(argv[1], "--request"))
		return serve_request(cmd, argc, argv);
	/* --json anywhere: errors in parsing are JSON too */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--json"))
			fcm_err_json(1);
	req = fcm_request_parse(cmd, argc, argv, &json);
	if (cmd->prepare)
		req = cmd->prepare(req);
	if (!cmd->routes && geteuid() != 0)
		fcm_die(FCM_E_FORBIDDEN, "'fcm %s%s%s' works on the host only: run it there as root",
		    cmd->parent ? cmd->parent->name : "", cmd->parent ? " " : "", cmd->name);
	if (fcm_remote_mode() && cmd->routes) {
		reply = send_request(cmd, jv_copy(req));
	} else {
		struct fcm_principal root = { .name = "admin", .admin = 1 };
		reply = execute(cmd, jv_copy(req), &root);
	}
	if (cmd->after)
		reply = cmd->after(reply, req);
	print(cmd, reply, req, json);
	jv_free(reply);
	jv_free(req);
	return 0;
}
