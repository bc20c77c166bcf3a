/* image.c — the image store's layout (image.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "vm/image.h"

const char *const fcm_image_files[FCM_IMAGE_NFILES] = { "vmlinux", "initramfs.cpio.gz", "rootfs.ext4" };

int fcm_image_version_ok(const char *v)
{
	size_t n = strlen(v);

	if (n == 0 || n > FCM_IMAGE_VERSION_MAX || v[0] == '.' || v[0] == '-' || !strcmp(v, "default"))
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

char *fcm_image_default(void)
{
	char *link = fcm_path("images/default");
	char buf[PATH_MAX];
	ssize_t n = readlink(link, buf, sizeof buf - 1);

	free(link);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	const char *base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	return fcm_image_version_ok(base) ? fcm_strdup(base) : NULL;
}

int fcm_image_check(const char *v, char *why, size_t whylen)
{
	for (size_t i = 0; i < FCM_IMAGE_NFILES; i++) {
		char *p = fcm_path("images/%s/%s", v, fcm_image_files[i]);
		struct stat st;
		int r = stat(p, &st);
		if (r < 0 || !S_ISREG(st.st_mode)) {
			snprintf(why, whylen, "image '%s' is incomplete: %s: %s", v, p,
			    r < 0 ? strerror(errno) : "not a regular file");
			free(p);
			return -1;
		}
		free(p);
	}
	return 0;
}

char *fcm_image_resolve(const char *want, jv *fail)
{
	char why[PATH_MAX + 256];
	char *v;

	if (!want || !*want || !strcmp(want, "default")) {
		v = fcm_image_default();
		if (!v) {
			*fail = fcm_fail(FCM_E_USAGE,
			    "unable to find a base image: %s/images/default does not exist; build and install one with 'make image' (or 'fcm-image add dir=DIR')",
			    fcm_root());
			return NULL;
		}
	} else {
		if (!fcm_image_version_ok(want)) {
			*fail = fcm_fail(FCM_E_USAGE, "invalid image version '%.80s': use letters, digits, '.', '_' and '-'",
			    want);
			return NULL;
		}
		char *dir = fcm_path("images/%s", want);
		struct stat st;
		int r = stat(dir, &st);
		free(dir);
		if (r < 0 || !S_ISDIR(st.st_mode)) {
			*fail = fcm_fail(FCM_E_NOT_FOUND, "unknown image '%s': see 'fcm-image ls'", want);
			return NULL;
		}
		v = fcm_strdup(want);
	}
	if (fcm_image_check(v, why, sizeof why) < 0) {
		*fail = fcm_fail(FCM_E_INTERNAL, "unable to use the base image: %s (reinstall it with 'make image')", why);
		free(v);
		return NULL;
	}
	return v;
}
