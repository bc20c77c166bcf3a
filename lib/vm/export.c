/* export.c — what a VM's archive leaves out (export.h, doc/export.md).
 * A new file in vms/<id>/ is exported unless it matches one of these: a
 * runtime file belongs in the first list, a secret in the second. */
#include <stddef.h>

#include "vm/export.h"

const char *const fcm_export_runtime[] = {
	"service",		/* its s6 service directory: fcm_svc_make */
	"supervise",
	"*.sock",
	"*.socket",
	"*.pid",
	"*.lock",
	".lock",
	".busy",
	"firecracker.json",	/* rendered by fcm-fc at each start */
	"jail",
	"tmp",
	"snapshot",		/* a suspended VM's memory (secrets), for this host's
				 * Firecracker only: an import boots cold */
	"env.pending",		/* config vars waiting for a start: stay here */
	NULL,
};

const char *const fcm_export_secret[] = {
	".env",			/* config vars (fcm config) */
	"env",
	"*.env",
	"secrets*",
	"*.key",
	"id_*",
	NULL,
};
