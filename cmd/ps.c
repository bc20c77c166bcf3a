/* fcm ps — the processes of an app (doc/fcm-ps.md): one per process type
 * of the Procfile, as the guest's supervisor sees them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/guestrun.h"
#include "vm/vmprint.h"

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	char *out = NULL, *save = NULL;
	jv list = jv_array();
	int st;

	(void)req;
	(void)who;
	fcm_guest_need_running(rec);
	st = fcm_guest_call(rec, FCM_GUEST_APP " ps", NULL, 0, &out, 1 << 20);
	if (st != 0)
		fcm_die(FCM_E_UNAVAILABLE, "VM '%s': unable to list its processes: %s", fcm_get_str(rec, "name"),
		    st < 0 ? "ssh did not start" : fcm_guest_reason(out));
	for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		jv p = jv_parse(l);
		if (jv_get_kind(p) == JV_KIND_OBJECT)
			list = jv_array_append(list, p);
		else
			jv_free(p);
	}
	free(out);
	return list;
}

static long num(jv p, const char *key)
{
	long v = 0;
	char err[8];

	fcm_get_int(p, key, 0, 1L << 40, &v, err, sizeof err);
	return v;
}

static void print(jv reply, jv req)
{
	(void)req;
	printf("%-14s %-9s %-8s %8s %8s %8s  %s\n", "PROCESS", "STATE", "RELEASE", "PID", "UPTIME", "RESTARTS", "COMMAND");
	jv_array_foreach(reply, i, p) {
		jv rel = jv_object_get(jv_copy(p), jv_string("release"));
		char relbuf[24] = "-", up[32] = "-";
		long secs = (long)num(p, "uptime");
		if (jv_get_kind(rel) == JV_KIND_NUMBER)
			snprintf(relbuf, sizeof relbuf, "%d", (int)jv_number_value(rel));
		if (!strcmp(fcm_get_str(p, "state") ? fcm_get_str(p, "state") : "", "up"))
			fcm_format_age((long long)time(NULL) - secs, up, sizeof up);
		printf("%-14s %-9s %-8s %8ld %8s %8ld  %s\n", fcm_get_str(p, "instance"), fcm_get_str(p, "state"),
		    relbuf, (long)num(p, "pid"), up, (long)num(p, "restarts"),
		    fcm_get_str(p, "command"));
		jv_free(rel);
		jv_free(p);
	}
}

static const struct fcm_cmd_route routes[] = {
	{ "GET", "/v1/vms/{vm}/ps", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_ps = {
	.name = "ps",
	.summary = "list an app's processes: type, state, uptime, restarts, release",
	.usage = "fcm ps [VM] [--json]",
	.flags = FCM_CMD_VM | FCM_CMD_NOWRITE,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = print,
};
