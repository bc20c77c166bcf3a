/* version.c — which Firecracker release the double emulates.
 *
 * FCM_TEST_FC_VERSION picks one of the releases below (default: the newest).
 * It sets what `--version`, GET / and GET /version report, and what the guest
 * sees of its devices: Firecracker describes the virtio-mmio devices in ACPI
 * (the DSDT) only from 1.8.0 (its CHANGELOG: "Added ACPI support to
 * Firecracker for x86_64 microVMs"); before that a guest finds them only on the
 * kernel command line (virtio_mmio.device=..., vmm.c).  The HTTP API of the
 * two releases is the same (their swagger files differ in the version line
 * only), and that is the API this double implements. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fc.h"

static const char *const RELEASES[] = { "1.7.0", "1.8.0", NULL };

const char *fc_version(void)
{
	static const char *v;
	const char *want;

	if (v)
		return v;
	want = getenv("FCM_TEST_FC_VERSION");
	if (!want || !*want) {
		for (int i = 0; RELEASES[i]; i++)
			v = RELEASES[i];
		return v;
	}
	for (int i = 0; RELEASES[i]; i++)
		if (!strcmp(want, RELEASES[i]))
			return v = RELEASES[i];
	/* A setting of the test suite, not a Firecracker behaviour. */
	fprintf(stderr, "firecracker (fcm test double): FCM_TEST_FC_VERSION=%s is not a release "
	        "this double emulates (1.7.0, 1.8.0)\n", want);
	exit(FC_EXIT_GENERIC);
}

int fc_has_acpi(void)
{
	return strcmp(fc_version(), "1.7.0") != 0;
}

const char *fc_snapshot_version(void)
{
	/* persist.rs SNAPSHOT_VERSION: 1.0.0 in 1.7, 2.0.0 in 1.8 */
	return strcmp(fc_version(), "1.7.0") ? "2.0.0" : "1.0.0";
}
