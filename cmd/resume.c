/* fcm resume — bring a suspended VM back from its snapshot: what `fcm
 * start` does (fcm-fc run loads the snapshot when there is one), for a VM
 * that is suspended, saying how it came back (doc/snapshots.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/lifecycle.h"
#include "vm/snapshot.h"
#include "vm/svc.h"
#include "vm/vm.h"

extern const struct fcm_cmd fcm_cmd_start;

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *state = fcm_vm_state(rec);

	if (strcmp(state, "suspended"))
		fcm_die(FCM_E_CONFLICT, "VM '%s' is %s, not suspended%s", fcm_get_str(rec, "name"), state,
		    strcmp(state, "stopped") ? "" : ": 'fcm start' boots it");
	char *svc = fcm_vm_svcdir(fcm_get_str(rec, "id"));
	struct fcm_svc_status st;
	jv reply;
	if (fcm_svc_status(svc, &st) == 0 && st.supervised && st.pid && st.want_up) {
		/* Suspended by itself when idle: its fcm-fc run waits for a
		 * packet, or for this (s6-svc -1: SIGUSR1). */
		if (fcm_svc_send(svc, "1") < 0)
			fcm_die(FCM_E_INTERNAL, "unable to tell s6 to wake VM '%s': its s6-supervise does not answer (%s)",
			    fcm_get_str(rec, "name"), strerror(errno));
		/* fcm-fc run marks it running when woken, and removes the
		 * snapshot once it is loaded. */
		long timeout = fcm_boot_timeout() * 10;
		jv now = jv_null();
		for (long i = 0; i < timeout; i++) {
			jv_free(now);
			now = fcm_vm_load(fcm_get_str(rec, "id"));
			const char *s = jv_is_valid(now) ? fcm_get_str(now, "state") : NULL;
			if (s && strcmp(s, "suspended") && !fcm_snapshot_exists(fcm_get_str(rec, "id")))
				break;	/* woken, and the snapshot loaded (or a cold boot begun) */
			usleep(100000);
		}
		if (!jv_is_valid(now) || !strcmp(fcm_vm_state(now), "suspended"))
			fcm_die(FCM_E_INTERNAL, "VM '%s' did not wake within %ld s", fcm_get_str(rec, "name"), timeout / 10);
		reply = jv_object_set(jv_object_set(jv_object_set(fcm_ok(), jv_string("id"), jv_string(fcm_get_str(rec, "id"))),
		    jv_string("name"), jv_string(fcm_get_str(rec, "name"))), jv_string("state"), jv_string(fcm_vm_state(now)));
		jv_free(now);
	} else
		reply = fcm_cmd_start.run(req, rec, who);
	free(svc);
	/* fcm-fc run wrote how it came back: from the snapshot, or a cold boot. */
	jv now = fcm_vm_load(fcm_get_str(rec, "id"));
	if (jv_is_valid(now))
		reply = jv_object_set(reply, jv_string("resumed"),
		    jv_object_get(jv_copy(now), jv_string("resumed")));
	jv_free(now);
	return reply;
}

static void print(jv reply, jv req)
{
	jv r = jv_object_get(jv_copy(reply), jv_string("resumed"));
	const char *from = jv_get_kind(r) == JV_KIND_OBJECT ? fcm_get_str(r, "from") : NULL;

	(void)req;
	printf("VM %s: %s", fcm_get_str(reply, "name"), fcm_get_str(reply, "state"));
	if (from && !strcmp(from, "snapshot")) {
		jv ms = jv_object_get(jv_copy(r), jv_string("ms"));
		printf(" (resumed from its snapshot in %.0f ms)\n",
		    jv_get_kind(ms) == JV_KIND_NUMBER ? jv_number_value(ms) : 0.0);
		jv_free(ms);
	} else if (from) {
		const char *why = fcm_get_str(r, "reason");
		printf(" (cold boot: the snapshot did not load: %s)\n", why ? why : "no reason given");
	} else
		printf("\n");
	jv_free(r);
}

static const struct fcm_cmd_route routes[] = {
	{ "POST", "/v1/vms/{vm}/resume", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_resume = {
	.name = "resume",
	.summary = "bring a suspended VM back from its snapshot",
	.usage = "fcm resume [VM] [--json]",
	.flags = FCM_CMD_VM,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = print,
};
