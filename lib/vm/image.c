/* image.c — the image store's layout (image.h). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "vm/image.h"

const char *const fcm_image_files[FCM_IMAGE_NFILES] = { "vmlinux", "rootfs.ext4" };

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

static int args_ok(const char *s)
{
	if (strlen(s) > 255)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		    strchr(" =/._,:-", *s)))
			return 0;
	return 1;
}

int fcm_image_boot_parse(jv m, struct fcm_image_boot *b, char *why, size_t whylen)
{
	const char *boot = fcm_get_str(m, "boot"), *args = fcm_get_str(m, "boot_args");
	const char *flavor = fcm_get_str(m, "flavor"), *kernel = fcm_get_str(m, "kernel");
	jv devs = jv_object_get(jv_copy(m), jv_string("devices"));
	int r = -1;

	memset(b, 0, sizeof *b);
	b->initramfs = 1;
	if (boot && !strcmp(boot, "root-device"))
		b->initramfs = 0;
	else if (boot && strcmp(boot, "initramfs")) {
		snprintf(why, whylen, "\"boot\" must be \"root-device\" or \"initramfs\", not \"%.40s\"", boot);
		goto out;
	}
	if (args && !args_ok(args)) {
		snprintf(why, whylen, "\"boot_args\" may hold letters, digits, spaces and =/._,:- (at most 255)");
		goto out;
	}
	snprintf(b->args, sizeof b->args, "%s", args ? args : "");
	if (jv_get_kind(devs) == JV_KIND_ARRAY) {
		jv_array_foreach(devs, i, d) {
			const char *s = jv_get_kind(d) == JV_KIND_STRING ? jv_string_value(d) : "";
			if (!strcmp(s, "cmdline"))
				b->devices |= FCM_DEVICES_CMDLINE;
			else if (!strcmp(s, "acpi"))
				b->devices |= FCM_DEVICES_ACPI;
			else {
				snprintf(why, whylen, "\"devices\" lists \"cmdline\" and/or \"acpi\", not \"%.40s\"", s);
				jv_free(d);
				goto out;
			}
			jv_free(d);
		}
	} else if (jv_get_kind(devs) != JV_KIND_INVALID && jv_get_kind(devs) != JV_KIND_NULL) {
		snprintf(why, whylen, "\"devices\" must be a list such as [\"cmdline\",\"acpi\"]");
		goto out;
	}
	if (flavor && (!fcm_image_version_ok(flavor) || strlen(flavor) >= sizeof b->flavor)) {
		snprintf(why, whylen, "\"flavor\" must be a short name such as \"fcm\" or \"debian\"");
		goto out;
	}
	snprintf(b->flavor, sizeof b->flavor, "%s", flavor ? flavor : "");
	snprintf(b->kernel, sizeof b->kernel, "%s", kernel ? kernel : "unknown");
	r = 0;
out:
	jv_free(devs);
	return r;
}

jv fcm_image_boot_json(jv m, const struct fcm_image_boot *b)
{
	m = jv_object_set(m, jv_string("boot"), jv_string(b->initramfs ? "initramfs" : "root-device"));
	if (*b->args)
		m = jv_object_set(m, jv_string("boot_args"), jv_string(b->args));
	if (b->devices) {
		jv d = jv_array();
		if (b->devices & FCM_DEVICES_CMDLINE)
			d = jv_array_append(d, jv_string("cmdline"));
		if (b->devices & FCM_DEVICES_ACPI)
			d = jv_array_append(d, jv_string("acpi"));
		m = jv_object_set(m, jv_string("devices"), d);
	}
	if (*b->flavor)
		m = jv_object_set(m, jv_string("flavor"), jv_string(b->flavor));
	return m;
}

int fcm_image_boot(const char *v, struct fcm_image_boot *b, char *why, size_t whylen)
{
	char *p = fcm_path("images/%s/manifest.json", v);
	jv m = fcm_read_json(p);
	int r = -1;

	if (!jv_is_valid(m) || jv_get_kind(m) != JV_KIND_OBJECT)
		snprintf(why, whylen, "image '%s' has no readable manifest (%s)", v, p);
	else if (fcm_image_boot_parse(m, b, why, whylen) == 0)
		r = 0;
	jv_free(m);
	free(p);
	return r;
}

int fcm_image_check(const char *v, char *why, size_t whylen)
{
	struct fcm_image_boot b;

	if (fcm_image_boot(v, &b, why, whylen) < 0)
		return -1;
	for (size_t i = 0; i <= FCM_IMAGE_NFILES; i++) {
		if (i == FCM_IMAGE_NFILES && !b.initramfs)
			break;
		char *p = fcm_path("images/%s/%s", v, i < FCM_IMAGE_NFILES ? fcm_image_files[i] : FCM_IMAGE_INITRD);
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
