/* guestkey.c — the host's key into its guests (guestkey.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/lock.h"
#include "core/paths.h"
#include "core/run.h"
#include "core/sysprog.h"
#include "vm/guestkey.h"

#define PUBKEY_MAX 8192

char *fcm_guestkey_path(void)
{
	return fcm_path("ssh/id_ed25519");
}

/* --- each VM's own host key ------------------------------------------------- */

char *fcm_hostkey_path(const char *id)
{
	return fcm_path("vms/%s/known_hosts", id);
}

int fcm_hostkey_record(const char *id, const char *pubkey, char *why, size_t whylen)
{
	char *path = fcm_hostkey_path(id), *line;
	int r = 0;

	if (!pubkey || strncmp(pubkey, "ssh-", 4) || strpbrk(pubkey, "\n\r")) {
		snprintf(why, whylen, "no usable ssh host key for VM %s (fcm-disk gave '%.40s')", id,
		    pubkey ? pubkey : "");
		free(path);
		return -1;
	}
	line = fcm_asprintf("fcm-%s %s\n", id, pubkey);
	if (fcm_write_atomic(path, line, strlen(line), 0600) < 0) {
		snprintf(why, whylen, "unable to write %s: %s", path, strerror(errno));
		r = -1;
	}
	free(line);
	free(path);
	return r;
}

void fcm_guest_ssh_opts(const char *id, char *opts[FCM_GUEST_SSH_NOPTS + 1])
{
	char *kh = fcm_hostkey_path(id);
	size_t n = 0;

	opts[n++] = fcm_strdup("-o");
	opts[n++] = fcm_strdup("StrictHostKeyChecking=yes");
	opts[n++] = fcm_strdup("-o");
	opts[n++] = fcm_asprintf("UserKnownHostsFile=%s", kh);
	opts[n++] = fcm_strdup("-o");
	opts[n++] = fcm_strdup("GlobalKnownHostsFile=/dev/null");
	opts[n++] = fcm_strdup("-o");
	opts[n++] = fcm_asprintf("HostKeyAlias=fcm-%s", id);
	opts[n++] = fcm_strdup("-o");
	opts[n++] = fcm_strdup("CheckHostIP=no");
	opts[n] = NULL;
	free(kh);
}

void fcm_guest_ssh_opts_free(char *opts[FCM_GUEST_SSH_NOPTS + 1])
{
	for (size_t i = 0; i < FCM_GUEST_SSH_NOPTS && opts[i]; i++)
		free(opts[i]);
}

int fcm_hostkey_refusal(const char *line)
{
	return strstr(line, "Host key verification failed") != NULL ||
	    strstr(line, "REMOTE HOST IDENTIFICATION HAS CHANGED") != NULL ||
	    strstr(line, "host key is known for") != NULL;
}

char *fcm_hostkey_refused(const char *name, const char *id)
{
	char *kh = fcm_hostkey_path(id), *msg;

	msg = fcm_asprintf("VM '%s' answered with an ssh host key other than the one recorded when it was "
	    "created (%s): refusing to connect, as another machine may be posing as it (was its disk replaced?)",
	    name, kh);
	free(kh);
	return msg;
}

/* Run argv with stdin and stderr on /dev/null; its stdout (at most
 * PUBKEY_MAX - 1 bytes, malloc'd, NUL-terminated), or NULL when it could
 * not start. */
static char *capture_quiet(char *const argv[])
{
	struct fcm_child c = { .argv = argv, .in = FCM_CHILD_NULL, .out = FCM_CHILD_PIPE, .err = FCM_CHILD_NULL };
	size_t n = 0;
	ssize_t r;
	char *out;

	if (fcm_child_start(&c) < 0)
		return NULL;
	out = fcm_malloc(PUBKEY_MAX);
	while (n < PUBKEY_MAX - 1 && (r = read(c.fd_out, out + n, PUBKEY_MAX - 1 - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(c.fd_out);
	fcm_child_finish(&c);
	return out;
}

/* The key of a known_hosts or ssh-keyscan line: its 2nd and 3rd words. */
static int key_of(const char *line, char *out, size_t len)
{
	const char *t = strchr(line, ' '), *e;

	if (!t)
		return -1;
	t++;
	e = strchr(t, ' ');
	if (!e || !(e = strpbrk(e + 1, " \n")))
		e = t + strlen(t);
	if ((size_t)(e - t) >= len)
		return -1;
	memcpy(out, t, (size_t)(e - t));
	out[e - t] = '\0';
	return 0;
}

int fcm_hostkey_check(const char *id, const char *ip)
{
	char *path = fcm_hostkey_path(id), *rec = fcm_read_file(path, PUBKEY_MAX, NULL), *got = NULL;
	char want[PUBKEY_MAX], have[PUBKEY_MAX];
	char *argv[] = { "ssh-keyscan", "-T", "20", "-t", "ed25519", (char *)ip, NULL };
	int result = -1;

	free(path);
	if (!rec || key_of(rec, want, sizeof want) < 0) {
		free(rec);
		return -2;	/* nothing recorded: nothing can be trusted */
	}
	free(rec);
	if (!(got = capture_quiet(argv)))
		return -1;
	for (char *line = got; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (*line == '#' || key_of(line, have, sizeof have) < 0)
			continue;
		result = !strcmp(have, want);
		break;
	}
	free(got);
	return result;
}

char *fcm_hostkey_unrecorded(const char *name, const char *id)
{
	char *kh = fcm_hostkey_path(id), *msg = NULL;

	if (access(kh, R_OK) < 0)
		msg = fcm_asprintf("no ssh host key is recorded for VM '%s' (%s), so fcm cannot tell it from "
		    "another machine: 'fcm daemon --reload' records the one on its disk", name, kh);
	free(kh);
	return msg;
}

int fcm_hostkey_adopt(const char *id, char *why, size_t whylen)
{
	char *kh = fcm_hostkey_path(id), *disk = fcm_path("vms/%s/disk.img", id), *out = NULL;
	char *argv[] = { "debugfs", "-R", "cat /upper/etc/ssh/ssh_host_ed25519_key.pub", disk, NULL };
	int ret = -1;

	if (access(kh, F_OK) == 0 || access(disk, R_OK) < 0) {
		ret = 0;	/* recorded already, or no disk to read it from */
		goto out;
	}
	/* debugfs lives in /sbin on some systems: sysprog's lookup is for
	 * programs run for their effect, this one is read. */
	if (access("/usr/sbin/debugfs", X_OK) == 0)
		argv[0] = "/usr/sbin/debugfs";
	else if (access("/sbin/debugfs", X_OK) == 0)
		argv[0] = "/sbin/debugfs";
	if (!(out = capture_quiet(argv))) {
		snprintf(why, whylen, "unable to run debugfs to read VM %s's host key: %s", id, strerror(errno));
		goto out;
	}
	out[strcspn(out, "\n")] = '\0';
	ret = fcm_hostkey_record(id, out, why, whylen);
out:
	free(out);
	free(kh);
	free(disk);
	return ret;
}
