/* fcm start — start a stopped VM (the same as `s6-svc -u` on its service,
 * and it stays up across daemon restarts), then wait until it is ready. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "vmreply.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "vm/app.h"
#include "vm/lifecycle.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "vm/vmm.h"

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	const char *state = fcm_vm_state(rec);
	jv w = jv_object_get(jv_copy(req), jv_string("wait"));
	int wait = jv_get_kind(w) != JV_KIND_FALSE;
	char err[1024];

	(void)who;
	jv_free(w);
	if (!strcmp(state, "creating") || !strcmp(state, "destroying"))
		fcm_die(FCM_E_CONFLICT, "VM '%s' is %s: wait for that to finish", name, state);
	fcm_need_daemon();
	const char *image = fcm_get_str(rec, "image");
	if (image && fcm_vmm_can_boot(image, err, sizeof err) < 0)
		fcm_die(FCM_E_CONFLICT, "VM '%s': %s", name, err);

	char *crashes = fcm_path("vms/%s/crashes", id);
	if (fcm_svc_make(id, 0) < 0)	/* (re)write its scripts, as fcm daemon does */
		fcm_die_sys(FCM_E_INTERNAL, "unable to write the service directory of VM '%s'", name);
	unlink(crashes);
	rec = jv_object_set(jv_copy(rec), jv_string("state"), jv_string("running"));
	if (fcm_vm_save(jv_copy(rec)) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write the record of VM '%s'", name);
	/* Linked (again), its down file removed, told to go up. */
	if (fcm_vm_link_start(id, err, sizeof err) < 0 || fcm_vm_link_up(id, err, sizeof err) < 0)
		fcm_die(FCM_E_INTERNAL, "%s", err);
	if (wait && fcm_vm_wait_ready(id, fcm_boot_timeout(), err, sizeof err) < 0)
		fcm_die(FCM_E_INTERNAL, "VM '%s': %s", name, err);
	/* Config vars changed while it was stopped: its processes get them now. */
	if (wait && fcm_app_env_is_pending(id) && fcm_app_push_env(rec, 1, err, sizeof err) != 0)
		fcm_warn("VM '%s' runs, but without its latest config vars (%s): 'fcm restart %s' after 'fcm config set' again",
		    name, err, name);
	if (!wait)
		fcm_vm_wait_leaving_stopped(rec);
	jv reply = fcm_vm_reply(rec, fcm_vm_state(rec));
	jv_free(rec);
	free(crashes);
	return reply;
}

static const struct fcm_opt opts[] = {
	{ "no-wait", 0, FCM_OPT_FLAG, "wait", "false", 0, 0, 0 },
	{ NULL },
};

static const struct fcm_cmd_route routes[] = {
	{ "POST", "/v1/vms/{vm}/start", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_start = {
	.name = "start",
	.summary = "start a stopped VM",
	.usage = "fcm start [VM] [--no-wait] [--json]",
	.opts = opts,
	.flags = FCM_CMD_VM,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = fcm_vm_reply_print,
};
