/* fcm destroy — remove a VM and everything it has: service, VMM, tap,
 * address, disk, git repo, HTTPS route, record.  Safe to run again on a VM
 * whose removal was interrupted. */
#include <signal.h>
#include <stdlib.h>

#include "cmd/cmd.h"
#include "vmreply.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/lifecycle.h"
#include "vm/vm.h"

static jv run(jv req, jv rec, const struct fcm_principal *who)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");

	sigset_t block;

	(void)req;
	(void)who;
	/* Ctrl-C, SIGTERM, SIGHUP (a client gone) wait until every step is
	 * done, as in create; kill -9 cannot, and the order of the steps makes
	 * that safe too (lib/vm/lifecycle.h): the rest is finished by the
	 * daemon's start or fcm doctor.  They stay held until the process
	 * ends, so the reply is still written. */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	sigprocmask(SIG_BLOCK, &block, NULL);
	/* The table lock only for the first and last steps: destroys of
	 * different VMs run side by side (each step is the VM's own, or
	 * locked by its helper). */
	int r = fcm_vm_teardown_ex(id, name, FCM_TEARDOWN_LOCK);
	if (r < 0)
		fcm_die(FCM_E_INTERNAL, "VM '%s' was only partly removed (see the warnings above): run 'fcm destroy %s' again",
		    name, id);
	return fcm_vm_reply(rec, "destroyed");
}

static const struct fcm_cmd_route routes[] = {
	{ "DELETE", "/v1/vms/{vm}", 0 },
	{ NULL },
};

const struct fcm_cmd fcm_cmd_destroy = {
	.name = "destroy",
	.summary = "remove a VM: service, disk, network, route and git repo",
	.usage = "fcm destroy [VM] [--json]",
	.flags = FCM_CMD_VM,
	.routes = routes,
	.status = 200,
	.run = run,
	.print = fcm_vm_reply_print,
};
