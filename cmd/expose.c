/* fcm expose / unexpose — serve a VM's port over HTTPS, or stop (doc/fcm-expose.md).
 *
 * The record gets "expose": {"port":PORT,"domain":"<name>.<domain>"} and
 * "url" (or both null), and Caddy is given the new routes (fcm-proxy sync);
 * if Caddy cannot take them, the record is left as it was. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/expose.h"

static jv change(jv rec, long port)
{
	int kind = 0;
	jv new = fcm_expose_change(rec, port, &kind);

	if (!jv_is_valid(new))
		fcm_die_invalid(kind, new);
	return jv_object_merge(jv_object_set(jv_object(), jv_string("ok"), jv_true()), new);
}

static jv run_expose(jv req, jv rec, const struct fcm_principal *who)
{
	jv p = jv_object_get(jv_copy(req), jv_string("port"));
	long port = (long)jv_number_value(p);

	(void)who;
	jv_free(p);
	return change(rec, port);
}

static jv run_unexpose(jv req, jv rec, const struct fcm_principal *who)
{
	jv e = jv_object_get(jv_copy(rec), jv_string("expose"));
	int was = jv_get_kind(e) == JV_KIND_OBJECT;

	(void)req;
	(void)who;
	jv_free(e);
	return jv_object_set(change(rec, 0), jv_string("was_exposed"), jv_bool(was));
}

static void print_expose(jv new, jv req)
{
	const char *name = fcm_get_str(new, "name"), *url = fcm_get_str(new, "url");
	const char *state = fcm_get_str(new, "state");
	jv e = jv_object_get(jv_object_get(jv_copy(new), jv_string("expose")), jv_string("port"));

	(void)req;
	printf("%s: port %.0f exposed at %s\n", name, jv_number_value(e), url ? url : "?");
	if (state && strcmp(state, "running"))
		printf("  (the VM is %s: its URL answers 502 until 'fcm start %s')\n", state, name);
	jv_free(e);
}

static void print_unexpose(jv new, jv req)
{
	jv was = jv_object_get(jv_copy(new), jv_string("was_exposed"));

	(void)req;
	printf(jv_get_kind(was) == JV_KIND_TRUE ? "%s: no longer exposed\n" : "%s: was not exposed\n",
	    fcm_get_str(new, "name"));
	jv_free(was);
}

static const struct fcm_opt expose_opts[] = {
	{ "port", 0, FCM_OPT_NUMBER, NULL, NULL, 1, 65535, FCM_OPT_WORD },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_expose = {
	.name = "expose",
	.summary = "publish a VM's port over HTTPS",
	.usage = "fcm expose [--json] [VM] PORT",
	.opts = expose_opts,
	.args = (const char *const[]){ "port", NULL },
	.flags = FCM_CMD_VM,
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/vms/{vm}/expose", 0 }, { NULL } },
	.status = 200,
	.run = run_expose,
	.print = print_expose,
};

const struct fcm_cmd fcm_cmd_unexpose = {
	.name = "unexpose",
	.summary = "stop publishing a VM's port",
	.usage = "fcm unexpose [--json] [VM]",
	.flags = FCM_CMD_VM,
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/vms/{vm}/unexpose", 0 }, { NULL } },
	.status = 200,
	.run = run_unexpose,
	.print = print_unexpose,
};
