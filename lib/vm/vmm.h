/* vmm.h — the Firecracker binary this host runs: where it is, which release
 * it is, and whether it can boot an image (doc/kernels.md).
 *
 * fcm-fc starts it; create and start ask first whether it can boot the VM's
 * image, so that an image it cannot boot is refused before anything is made
 * instead of a guest that never finds its disks. */
#ifndef FCM_VMM_H
#define FCM_VMM_H

#include <stddef.h>

/* The firecracker binary: $FCM_FIRECRACKER if set (it must be executable),
 * else the first "firecracker" on PATH.  malloc'd; NULL with the reason in
 * why. */
char *fcm_vmm_path(char *why, size_t whylen);

/* Firecracker's jailer: $FCM_JAILER, else `jailer` on PATH, else beside
 * firecracker (malloc'd).  NULL when there is none, or FCM_JAILER=off;
 * FCM_JAILER naming no executable dies (doc/security.md). */
char *fcm_vmm_jailer(const char *firecracker);

/* Its release, from `firecracker --version` ("Firecracker v1.7.0"): 0 with
 * *major, *minor, *patch set, or -1 with the reason in why. */
int fcm_vmm_version(int *major, int *minor, int *patch, char *why, size_t whylen);

/* Can the installed Firecracker boot image v?  0 yes (or nothing to check:
 * a kernel that reads its devices from the command line boots on every
 * release, and an image that does not say how its kernel finds devices is
 * not judged); -1 no, with one line in why naming the image, the releases
 * and the fix. */
int fcm_vmm_can_boot(const char *v, char *why, size_t whylen);

#endif
