/* fcm restart — restart an app's processes (doc/fcm-restart.md): every
 * one, or those of one process type; the VM itself keeps running. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/app.h"
#include "vm/guestrun.h"

static jv check(jv req)
{
	const char *t = fcm_get_str(req, "type");
	char why[160];

	if (t && fcm_app_type_check(t, why, sizeof why) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	return req;
}

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *t = fcm_get_str(req, "type"), *id = fcm_get_str(rec, "id");
	char why[512];
	int r;

	fcm_guest_need_running(rec);
	r = fcm_app_restart(rec, t, why, sizeof why);	/* t: checked, [a-z0-9_-] */
	if (r != 0)
		fcm_app_event(id, "Restart: %s (by %s): %s", t ? t : "every process", who->name, why);
	if (r < 0)
		fcm_die(strstr(why, "no process type") ? FCM_E_NOT_FOUND : FCM_E_UNAVAILABLE,
		    "VM '%s': %s", fcm_get_str(rec, "name"), why);
	if (r > 0)
		fcm_die(FCM_E_UNAVAILABLE, "VM '%s': the new web never became healthy (%s); the old one serves on",
		    fcm_get_str(rec, "name"), why);
	fcm_app_event(id, "Restart: %s (by %s)", t ? t : "every process", who->name);
	jv reply = jv_object_set(jv_object(), jv_string("ok"), jv_true());
	reply = jv_object_set(reply, jv_string("vm"), jv_string(fcm_get_str(rec, "name")));
	return jv_object_set(reply, jv_string("restarted"), t ? jv_string(t) : jv_string("all"));
}

static void print(jv reply, jv req)
{
	const char *t = fcm_get_str(reply, "restarted");

	(void)req;
	if (t && strcmp(t, "all"))
		printf("Restarted %s of %s\n", t, fcm_get_str(reply, "vm"));
	else
		printf("Restarted every process of %s\n", fcm_get_str(reply, "vm"));
}

static const struct fcm_opt opts[] = {
	{ "type", 't', FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ NULL },
};

static const struct fcm_cmd_route routes[] = {
	{ "POST", "/v1/vms/{vm}/restart", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_restart = {
	.name = "restart",
	.summary = "restart an app's processes (all, or one type)",
	.usage = "fcm restart [VM] [--type TYPE] [--json]",
	.opts = opts,
	.flags = FCM_CMD_VM,
	.routes = routes,
	.status = 200,
	.check = check,
	.run = run,
	.print = print,
};
