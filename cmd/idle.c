/* fcm idle — scale to zero: set after how long without a packet a running
 * VM suspends itself (its fcm-fc run does it, and wakes it on the next
 * packet to it; doc/snapshots.md), or turn that off.  The VM's fcm-fc run
 * reads the setting from the record when told (s6-svc -2): no restart. */
#include <stdio.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "vm/expose.h"
#include "vm/lifecycle.h"
#include "vm/snapshot.h"
#include "vm/svc.h"
#include "vm/vm.h"

static jv check(jv req)
{
	const char *after = fcm_get_str(req, "after");

	if (!after || fcm_idle_parse(after) < 0)
		fcm_die(FCM_E_USAGE, "give a duration like 15m, 30s or 2h (at most 30d), or off, not '%.32s'",
		    after ? after : "");
	return req;
}

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	long secs = fcm_idle_parse(fcm_get_str(req, "after"));
	const char *name = fcm_get_str(rec, "name");

	(void)who;
	int lk = fcm_vm_table_lock();
	jv now = fcm_vm_load(fcm_get_str(rec, "id"));
	if (!jv_is_valid(now))
		fcm_die(FCM_E_NOT_FOUND, "VM '%s' is gone", name);
	now = secs ? jv_object_set(now, jv_string("idle_suspend"), jv_number((double)secs))
		   : jv_object_delete(now, jv_string("idle_suspend"));
	if (fcm_vm_save(jv_copy(now)) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write the record of VM '%s'", name);
	if (lk >= 0)
		fcm_unlock(lk);
	jv_free(now);
	/* Its fcm-fc run reads the setting again on SIGUSR2, which its
	 * supervisor sends for the letter 2 (s6-svc -2); one that is not
	 * running reads it when it starts. */
	char *svc = fcm_vm_svcdir(fcm_get_str(rec, "id"));
	fcm_svc_send(svc, "2");
	free(svc);
	/* Caddy holds requests to a VM that may be asleep (fcm-proxy). */
	if (fcm_proxy_enabled()) {
		jv r = fcm_proxy_sync();
		if (!fcm_reply_ok(r))
			fcm_warn("the proxy did not take the change: %s", fcm_reply_error(r));
		jv_free(r);
	}
	return jv_object_set(jv_object_set(jv_object_set(fcm_ok(), jv_string("id"), jv_string(fcm_get_str(rec, "id"))),
	    jv_string("name"), jv_string(name)), jv_string("idle_suspend"), jv_number((double)secs));
}

static void print(jv reply, jv req)
{
	jv s = jv_object_get(jv_copy(reply), jv_string("idle_suspend"));
	double secs = jv_get_kind(s) == JV_KIND_NUMBER ? jv_number_value(s) : 0;

	(void)req;
	if (secs > 0)
		printf("VM %s: suspends itself after %.0f s without a packet\n", fcm_get_str(reply, "name"), secs);
	else
		printf("VM %s: never suspends itself\n", fcm_get_str(reply, "name"));
	jv_free(s);
}

const struct fcm_cmd fcm_cmd_idle = {
	.name = "idle",
	.summary = "suspend a VM by itself when idle (scale to zero), or not",
	.usage = "fcm idle [VM] DURATION|off [--json]",
	.args = (const char *const[]){ "after", NULL },
	.flags = FCM_CMD_VM,
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/vms/{vm}/idle", 0 }, { NULL } },
	.status = 200,
	.check = check,
	.run = run,
	.print = print,
};
