/* vmm.c — the Firecracker binary this host runs (vmm.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/run.h"
#include "vm/image.h"
#include "vm/vmm.h"

/* Firecracker describes its devices in ACPI from this release on (1.8.0:
 * "Added ACPI support to Firecracker for x86_64 microVMs"). */
#define ACPI_MAJOR 1
#define ACPI_MINOR 8

/* The first executable `name` in a directory of $PATH, or NULL. */
static char *on_path(const char *name)
{
	const char *path = getenv("PATH");
	char *copy, *save = NULL;

	if (!path)
		return NULL;
	copy = fcm_strdup(path);
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *p = fcm_asprintf("%s/%s", d, name);
		if (*d == '/' && access(p, X_OK) == 0) {
			free(copy);
			return p;
		}
		free(p);
	}
	free(copy);
	return NULL;
}

char *fcm_vmm_path(char *why, size_t whylen)
{
	const char *e = getenv("FCM_FIRECRACKER");
	char *p;

	if (e && *e) {
		if (access(e, X_OK) < 0) {
			snprintf(why, whylen, "unable to run FCM_FIRECRACKER=%s: %s", e, strerror(errno));
			return NULL;
		}
		return fcm_strdup(e);
	}
	if ((p = on_path("firecracker")))
		return p;
	snprintf(why, whylen, "unable to find firecracker: install Firecracker or set FCM_FIRECRACKER");
	return NULL;
}

char *fcm_vmm_jailer(const char *firecracker)
{
	const char *e = getenv("FCM_JAILER");
	char *p;

	if (e && !strcmp(e, "off"))
		return NULL;
	if (e && *e) {
		if (access(e, X_OK) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to run FCM_JAILER=%s", e);
		return fcm_strdup(e);
	}
	if ((p = on_path("jailer")))
		return p;
	if (firecracker && strchr(firecracker, '/')) {
		char *dir = fcm_strdup(firecracker);
		*strrchr(dir, '/') = '\0';
		p = fcm_asprintf("%s/jailer", *dir ? dir : "");
		free(dir);
		if (access(p, X_OK) == 0)
			return p;
		free(p);
	}
	return NULL;
}

int fcm_vmm_version(int *major, int *minor, int *patch, char *why, size_t whylen)
{
	char *fc = fcm_vmm_path(why, whylen), *out = NULL;
	int r = -1;

	if (!fc)
		return -1;
	char *argv[] = { fc, "--version", NULL };
	int code = fcm_run_capture(argv, NULL, 0, &out, 4096);
	if (code != 0)
		snprintf(why, whylen, "unable to run %s --version: %s", fc,
		    code < 0 ? strerror(errno) : "it failed");
	else if (!out || sscanf(out, "Firecracker v%d.%d.%d", major, minor, patch) != 3)
		snprintf(why, whylen, "unable to read the release of %s: it printed no 'Firecracker vX.Y.Z'", fc);
	else
		r = 0;
	free(out);
	free(fc);
	return r;
}

int fcm_vmm_can_boot(const char *v, char *why, size_t whylen)
{
	struct fcm_image_boot b;
	int major, minor, patch;
	char err[512];

	if (fcm_image_boot(v, &b, why, whylen) < 0)
		return -1;
	if (!b.devices || (b.devices & FCM_DEVICES_CMDLINE))
		return 0;
	/* Its kernel finds devices only in ACPI. */
	if (fcm_vmm_version(&major, &minor, &patch, err, sizeof err) < 0) {
		snprintf(why, whylen, "unable to tell whether Firecracker can boot image '%s': %s", v, err);
		return -1;
	}
	if (major > ACPI_MAJOR || (major == ACPI_MAJOR && minor >= ACPI_MINOR))
		return 0;
	snprintf(why, whylen,
	    "image '%s' (%s%skernel %s) finds its disks and network only through ACPI, which Firecracker provides from %d.%d.0; "
	    "this host runs Firecracker %d.%d.%d: install Firecracker %d.%d.0 or later, or use an image whose kernel "
	    "reads devices from the command line ('make image' builds one; 'fcm-image ls' lists them)",
	    v, b.flavor, *b.flavor ? " flavour, " : "", b.kernel,
	    ACPI_MAJOR, ACPI_MINOR, major, minor, patch, ACPI_MAJOR, ACPI_MINOR);
	return -1;
}
