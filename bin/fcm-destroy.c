/* fcm-destroy — remove a VM and everything it has: service, VMM, tap,
 * address, disk, git repo, HTTPS route, record.  Safe to run again on a VM
 * whose removal was interrupted. */
#include <stdio.h>
#include <stdlib.h>

#include "core/err.h"
#include "vm/lifecycle.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "vm/porcelain.h"
#include "vm/vm.h"

static const char usage[] = "fcm destroy [VM] [--json]";

int main(int argc, char **argv)
{
	struct fcm_vmcmd cmd;

	fcm_init("fcm-destroy");
	jv rec = fcm_vmcmd_parse(argc, argv, usage, 0, &cmd);
	char *id = fcm_strdup(fcm_get_str(rec, "id"));
	char *name = fcm_strdup(fcm_get_str(rec, "name"));

	/* Mark it first, so that a crash part-way leaves a record saying so. */
	fcm_vm_save(jv_object_set(rec, jv_string("state"), jv_string("destroying")));
	int lk = fcm_vm_table_lock();
	int r = fcm_vm_teardown(id, name);
	fcm_unlock(lk);
	if (r < 0)
		fcm_die(FCM_E_INTERNAL, "VM '%s' was only partly removed (see the warnings above): run 'fcm destroy %s' again",
		    name, id);
	fcm_vmcmd_done(&cmd, id, name, "destroyed");
	free(id);
	free(name);
	return 0;
}
