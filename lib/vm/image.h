/* image.h — the image store's layout, shared by fcm-image (which manages it),
 * fcm-disk (which makes VM disks over it), fcm-fc (which boots them) and
 * create/start (which check the VMM can boot them).
 *
 * An image is $FCM_ROOT/images/<version>/{vmlinux,rootfs.ext4,manifest.json}
 * and, when it boots through one, initramfs.cpio.gz; read-only;
 * images/default is a symlink to the default version (doc/fcm-image.md). */
#ifndef FCM_IMAGE_H
#define FCM_IMAGE_H

#include <stddef.h>

#include <jv.h>

#define FCM_IMAGE_VERSION_MAX 64

/* The files every image holds besides its manifest: kernel, base. */
extern const char *const fcm_image_files[];
#define FCM_IMAGE_NFILES 2
#define FCM_IMAGE_INITRD "initramfs.cpio.gz"

/* How the image's kernel finds virtio-mmio devices (manifest "devices"). */
#define FCM_DEVICES_CMDLINE 1	/* virtio_mmio.device= on the command line */
#define FCM_DEVICES_ACPI 2	/* the DSDT (Firecracker 1.8 and later) */

/* What an image needs to boot, from its manifest.json.  An image whose
 * manifest predates these fields boots through its initramfs and its device
 * discovery is unknown (devices 0). */
struct fcm_image_boot {
	int initramfs;		/* 1: initramfs.cpio.gz mounts the root; 0: the
				 * base is Firecracker's root device (vda, ro) */
	char args[256];		/* what the kernel command line must carry */
	int devices;		/* FCM_DEVICES_* bits; 0 unknown */
	char flavor[32];	/* "fcm", "debian", ... or "" */
	char kernel[128];	/* the kernel release, or "unknown" */
};

/* A version names a directory: 1-64 of [A-Za-z0-9._-], not starting with '.'
 * or '-', and not "default". */
int fcm_image_version_ok(const char *v);
/* The default version (malloc'd), or NULL when there is none. */
char *fcm_image_default(void);
/* Read the boot fields of a manifest (an object) into *b: 0, or -1 with what
 * is wrong in why (an unknown "boot", a bad "devices" entry, boot_args with
 * characters other than letters, digits, space and "=/._,:-", or longer
 * than 255). */
int fcm_image_boot_parse(jv manifest, struct fcm_image_boot *b, char *why, size_t whylen);
/* m (a manifest object, consumed) with the fields of *b set: boot,
 * boot_args (when any), devices (when known), flavor (when any). */
jv fcm_image_boot_json(jv m, const struct fcm_image_boot *b);
/* The same for installed image v (images/<v>/manifest.json). */
int fcm_image_boot(const char *v, struct fcm_image_boot *b, char *why, size_t whylen);
/* Is images/<v> a complete image?  0 yes; else -1 with the reason in why. */
int fcm_image_check(const char *v, char *why, size_t whylen);
/* Resolve a requested image (NULL, "" or "default" = the default) to a
 * version that is installed and complete (malloc'd); NULL with the failed
 * reply in *fail. */
char *fcm_image_resolve(const char *want, jv *fail);

#endif
