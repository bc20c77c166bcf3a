/* fcm doctor — find and repair what a crash left behind (lib/vm/repair.h):
 * VM directories without a record, destroys killed part-way, creates whose
 * process is gone.  Says what it checked and what it fixed.  `fcm daemon`
 * does the same when it starts.  On the host only, as root. */
#include <stdio.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "core/stateformat.h"
#include "vm/lifecycle.h"
#include "vm/repair.h"
#include "vm/svc.h"

static jv run(jv req, jv none, const struct fcm_principal *who)
{
	jv r, failed;

	(void)req;
	(void)none;
	(void)who;
	/* Older state up to this fcm's format first, as the daemon does. */
	int was = fcm_state_migrate();
	/* With no daemon there is no Caddy either: it renders its routes from
	 * the records when it starts. */
	r = fcm_vm_repair(fcm_svscan_running() ? 0 : FCM_TEARDOWN_NO_PROXY);
	if (!jv_is_valid(r)) {
		jv msg = jv_invalid_get_msg(r);
		fcm_die(FCM_E_INTERNAL, "%s", jv_string_value(msg));
	}
	failed = jv_object_get(jv_copy(r), jv_string("failed"));
	if (jv_array_length(jv_copy(failed)) > 0) {
		jv first = jv_array_get(jv_copy(failed), 0);
		fcm_die(FCM_E_INTERNAL, "%d VM%s could not be repaired, e.g. %s (%s): see the warnings above and run 'fcm doctor' again",
		    jv_array_length(jv_copy(failed)), jv_array_length(jv_copy(failed)) == 1 ? "" : "s",
		    fcm_get_str(first, "id"), fcm_get_str(first, "was"));
	}
	jv_free(failed);
	jv reply = jv_object_set(fcm_ok(), jv_string("checked"), jv_object_get(jv_copy(r), jv_string("checked")));
	reply = jv_object_set(reply, jv_string("swept"), jv_object_get(jv_copy(r), jv_string("swept")));
	reply = jv_object_set(reply, jv_string("fixed"), jv_object_get(r, jv_string("fixed")));
	if (was < FCM_STATE_FORMAT)
		reply = jv_object_set(reply, jv_string("migrated_from"), jv_number(was));
	return reply;
}

static void print(jv reply, jv req)
{
	jv fixed = jv_object_get(jv_copy(reply), jv_string("fixed")), n = jv_object_get(jv_copy(reply), jv_string("checked"));

	(void)req;
	jv from = jv_object_get(jv_copy(reply), jv_string("migrated_from"));
	if (jv_get_kind(from) == JV_KIND_NUMBER)
		printf("Migrated the state from format %d to %d.\n", (int)jv_number_value(from), FCM_STATE_FORMAT);
	jv_free(from);
	printf("Checked %d VM director%s.\n", (int)jv_number_value(n), jv_number_value(n) == 1 ? "y" : "ies");
	jv swept = jv_object_get(jv_copy(reply), jv_string("swept"));
	int nswept = jv_get_kind(swept) == JV_KIND_NUMBER ? (int)jv_number_value(swept) : 0;
	jv_free(swept);
	if (nswept > 0)
		printf("Removed %d leftover%s of killed disk template builds from %s/cache.\n", nswept,
		    nswept == 1 ? "" : "s", fcm_root());
	if (jv_array_length(jv_copy(fixed)) == 0 && nswept == 0)
		printf("Nothing to repair.\n");
	jv_array_foreach(fixed, i, f) {
		const char *name = fcm_get_str(f, "name");
		printf("Repaired %s%s%s%s: it was %s; %s.\n", fcm_get_str(f, "id"), name ? " (" : "", name ? name : "",
		    name ? ")" : "", fcm_get_str(f, "was"), fcm_get_str(f, "done"));
		jv_free(f);
		(void)i;
	}
	jv_free(fixed);
	jv_free(n);
}

/* On the host only (no route). */
const struct fcm_cmd fcm_cmd_doctor = {
	.name = "doctor",
	.summary = "find and repair what a crash left: half-made VMs, interrupted destroys",
	.usage = "fcm doctor [--json]",
	.run = run,
	.print = print,
};
