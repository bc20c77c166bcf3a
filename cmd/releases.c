/* fcm releases — an app's releases, newest first (doc/fcm-releases.md):
 * every deploy, config change and rollback, with its version, time, who,
 * what, and the commit it runs. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd/cmd.h"
#include "core/jsonl.h"
#include "vm/release.h"
#include "vm/vmprint.h"

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	jv list = fcm_releases(fcm_get_str(rec, "id")), out = jv_array();
	int n = jv_array_length(jv_copy(list));

	(void)req;
	(void)who;
	for (int i = n - 1; i >= 0; i--)
		out = jv_array_append(out, jv_array_get(jv_copy(list), i));
	jv_free(list);
	return out;
}

static void print(jv reply, jv req)
{
	int first = 1;

	(void)req;
	if (!jv_array_length(jv_copy(reply))) {
		printf("No releases yet: git push to make the first\n");
		return;
	}
	printf("%-7s %-8s %-16s %-9s %s\n", "VERSION", "AGE", "BY", "COMMIT", "DESCRIPTION");
	jv_array_foreach(reply, i, r) {
		jv v = jv_object_get(jv_copy(r), jv_string("version")), at = jv_object_get(jv_copy(r), jv_string("at"));
		const char *commit = fcm_get_str(r, "commit"), *by = fcm_get_str(r, "by");
		char age[32] = "-", ver[32];
		if (jv_get_kind(at) == JV_KIND_NUMBER)
			fcm_format_age((long long)jv_number_value(at), age, sizeof age);
		snprintf(ver, sizeof ver, "v%.0f", jv_get_kind(v) == JV_KIND_NUMBER ? jv_number_value(v) : 0.0);
		printf("%-7s %-8s %-16.16s %-9.7s %s%s\n", ver, age, by ? by : "-", commit ? commit : "-",
		    fcm_get_str(r, "description") ? fcm_get_str(r, "description") : "", first ? "  (current)" : "");
		first = 0;
		jv_free(v);
		jv_free(at);
		jv_free(r);
		(void)i;
	}
}

static const struct fcm_cmd_route routes[] = {
	{ "GET", "/v1/vms/{vm}/releases", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_releases = {
	.name = "releases",
	.summary = "list an app's releases: every deploy, config change and rollback",
	.usage = "fcm releases [VM] [--json]",
	.flags = FCM_CMD_VM | FCM_CMD_NOWRITE,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = print,
};
