/* fcm stop — stop a VM gracefully: s6 sends SIGTERM to its fcm-fc, which
 * asks Firecracker for Ctrl-Alt-Del; the guest shuts down and the VMM exits.
 * The `down` file keeps it stopped across daemon restarts. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "vmreply.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/lifecycle.h"
#include "vm/snapshot.h"
#include "vm/svc.h"
#include "vm/vm.h"

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	char *svc = fcm_vm_svcdir(id);
	char *down = fcm_asprintf("%s/down", svc);
	struct fcm_svc_status st;

	(void)req;
	(void)who;
	if (fcm_write_atomic(down, "", 0, 0644) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write %s", down);
	rec = jv_object_set(jv_copy(rec), jv_string("state"), jv_string("stopped"));
	if (fcm_vm_save(jv_copy(rec)) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write the record of VM '%s'", name);
	/* A suspended VM that is stopped boots cold next time. */
	if (fcm_snapshot_remove(id) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to remove the snapshot of VM '%s'", name);
	if (fcm_svc_status(svc, &st) == 0 && st.supervised) {
		if (fcm_svc_send(svc, "d") < 0)
			fcm_die(FCM_E_INTERNAL, "unable to tell s6 to stop VM '%s': its s6-supervise does not answer (%s)",
			    name, strerror(errno));
		/* fcm-fc waits FCM_STOP_TIMEOUT (30 s) for the guest, s6 60 s. */
		if (fcm_vm_wait_down(id, 90) < 0)
			fcm_die(FCM_E_INTERNAL, "VM '%s' did not stop within 90 s", name);
	}
	jv reply = fcm_vm_reply(rec, fcm_vm_state(rec));
	jv_free(rec);
	free(svc);
	free(down);
	return reply;
}

static const struct fcm_cmd_route routes[] = {
	{ "POST", "/v1/vms/{vm}/stop", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_stop = {
	.name = "stop",
	.summary = "stop a VM gracefully",
	.usage = "fcm stop [VM] [--json]",
	.flags = FCM_CMD_VM,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = fcm_vm_reply_print,
};
