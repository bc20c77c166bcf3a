/* fcm suspend — pause a running VM, save it whole (a full Firecracker
 * snapshot, taken by fcm-fc) into its directory and stop its VMM: the host
 * gets its memory back.  `fcm resume` or `fcm start` brings it back as it
 * was (doc/snapshots.md).  The `down` file keeps it down across daemon
 * restarts, as for fcm stop. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "vmreply.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/run.h"
#include "vm/lifecycle.h"
#include "vm/snapshot.h"
#include "vm/svc.h"
#include "vm/vm.h"

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	const char *state = fcm_vm_state(rec);
	jv reply;

	(void)req;
	(void)who;
	if (strcmp(state, "suspended")) {
		if (strcmp(state, "running"))
			fcm_die(FCM_E_CONFLICT, "VM '%s' is %s: only a running VM can be suspended", name, state);
		fcm_need_daemon();
		jv r = fcm_call("fc", jv_object_set(jv_object_set(jv_object(), jv_string("op"),
		    jv_string("snapshot")), jv_string("id"), jv_string(id)));
		if (!fcm_reply_ok(r))
			fcm_die(FCM_E_INTERNAL, "unable to suspend VM '%s': %s", name, fcm_reply_error(r));
		jv_free(r);
		char *svc = fcm_vm_svcdir(id);
		char *down = fcm_asprintf("%s/down", svc);
		if (fcm_write_atomic(down, "", 0, 0644) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", down);
		rec = jv_object_set(jv_copy(rec), jv_string("state"), jv_string("suspended"));
		if (fcm_vm_save(jv_copy(rec)) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to write the record of VM '%s'", name);
		/* fcm-fc sees the snapshot and kills the paused VMM at once. */
		if (fcm_svc_send(svc, "d") < 0)
			fcm_die(FCM_E_INTERNAL, "unable to tell s6 to stop VM '%s': its s6-supervise does not answer (%s)",
			    name, strerror(errno));
		if (fcm_vm_wait_down(id, 30) < 0)
			fcm_die(FCM_E_INTERNAL, "the VMM of VM '%s' did not stop within 30 s", name);
		free(svc);
		free(down);
	} else
		rec = jv_copy(rec);
	reply = fcm_vm_reply(rec, fcm_vm_state(rec));
	reply = jv_object_set(reply, jv_string("snapshot_bytes"), jv_number((double)fcm_snapshot_bytes(id)));
	jv_free(rec);
	return reply;
}

static void print(jv reply, jv req)
{
	jv b = jv_object_get(jv_copy(reply), jv_string("snapshot_bytes"));

	(void)req;
	printf("VM %s: %s (snapshot: %.0f MiB)\n", fcm_get_str(reply, "name"), fcm_get_str(reply, "state"),
	    jv_get_kind(b) == JV_KIND_NUMBER ? jv_number_value(b) / 1048576.0 : 0.0);
	jv_free(b);
}

static const struct fcm_cmd_route routes[] = {
	{ "POST", "/v1/vms/{vm}/suspend", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_suspend = {
	.name = "suspend",
	.summary = "save a running VM to disk and stop its VMM",
	.usage = "fcm suspend [VM] [--json]",
	.flags = FCM_CMD_VM,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = print,
};
