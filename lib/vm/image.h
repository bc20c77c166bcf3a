/* image.h — the image store's layout, shared by fcm-image (which manages it)
 * and fcm-disk (which makes VM disks over it).
 *
 * An image is $FCM_ROOT/images/<version>/{vmlinux,initramfs.cpio.gz,
 * rootfs.ext4,manifest.json}, read-only; images/default is a symlink to the
 * default version (doc/fcm-image.md). */
#ifndef FCM_IMAGE_H
#define FCM_IMAGE_H

#include <stddef.h>

#include <jv.h>

#define FCM_IMAGE_VERSION_MAX 64

/* The files an image holds besides its manifest: kernel, initrd, base. */
extern const char *const fcm_image_files[];
#define FCM_IMAGE_NFILES 3

/* A version names a directory: 1-64 of [A-Za-z0-9._-], not starting with '.'
 * or '-', and not "default". */
int fcm_image_version_ok(const char *v);
/* The default version (malloc'd), or NULL when there is none. */
char *fcm_image_default(void);
/* Is images/<v> a complete image?  0 yes; else -1 with the reason in why. */
int fcm_image_check(const char *v, char *why, size_t whylen);
/* Resolve a requested image (NULL, "" or "default" = the default) to a
 * version that is installed and complete (malloc'd); NULL with the failed
 * reply in *fail. */
char *fcm_image_resolve(const char *want, jv *fail);

#endif
