/* fcm ls — list VMs: a table on a terminal, one JSON record per line
 * otherwise.  Works with no daemon running: records are files, states come
 * from s6's status files. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "vm/vmprint.h"

static int visible(jv rec, const struct fcm_principal *who, const char *owner)
{
	return fcm_vm_visible(rec, who->name, who->admin, owner);
}

static jv run(jv req, jv none, const struct fcm_principal *who)
{
	const char *owner = fcm_get_str(req, "owner");
	jv names = jv_object_get(jv_copy(req), jv_string("vms")), list, out = jv_array();

	(void)none;
	if (jv_get_kind(names) == JV_KIND_ARRAY) {
		list = jv_array();
		jv_array_foreach(names, i, n) {
			jv rec = fcm_vm_find(jv_string_value(n));
			if (!jv_is_valid(rec) || !visible(rec, who, NULL))
				fcm_die(FCM_E_NOT_FOUND, "no VM named '%s' (see 'fcm ls')", jv_string_value(n));
			list = jv_array_append(list, rec);
			jv_free(n);
			(void)i;
		}
	} else {
		list = fcm_vm_list();
	}
	jv_free(names);
	/* Each VM's service files are opened relative to vms/ (vm/svc.h). */
	char *dir = fcm_path("vms");
	int vms = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (vms < 0)
		vms = AT_FDCWD;
	for (int i = 0, n = jv_array_length(jv_copy(list)); i < n; i++) {
		jv rec = jv_array_get(jv_copy(list), i);
		/* The list's hold on it dropped: the record is then changed in
		 * place, not copied first. */
		list = jv_array_set(list, i, jv_null());
		if (!visible(rec, who, owner)) {
			jv_free(rec);
			continue;
		}
		out = jv_array_append(out, fcm_vm_listed_at(vms, rec));
	}
	if (vms != AT_FDCWD)
		close(vms);
	jv_free(list);
	return out;
}

static void print(jv reply, jv req)
{
	(void)req;
	fcm_print_vm_table(stdout, reply);
}

static const struct fcm_opt opts[] = {
	{ "owner", 0, FCM_OPT_STRING, NULL, NULL, 0, 0, 0 },
	{ NULL },
};

static const struct fcm_cmd_route routes[] = {
	{ "GET", "/v1/vms", 0 },
	{ "GET", "/v1/vms/{vm}", 1 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_ls = {
	.name = "ls",
	.summary = "list VMs: a table on a terminal, JSON lines otherwise",
	.usage = "fcm ls [--json] [--owner USER] [VM...]",
	.opts = opts,
	.args = (const char *const[]){ "vms*", NULL },
	.flags = FCM_CMD_NOWRITE,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = print,
};
