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
#include "core/sysprog.h"
#include "vm/guestkey.h"

#define PUBKEY_MAX 8192

char *fcm_guestkey_path(void)
{
	return fcm_path("ssh/id_ed25519");
}

int fcm_keygen(const char *path, const char *comment, char *why, size_t whylen)
{
	char *argv[] = { "ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", (char *)comment,
		"-f", (char *)path, NULL };

	return fcm_sysprog(argv, why, whylen);
}

static int present(const char *p, const char *q)
{
	return access(p, R_OK) == 0 && access(q, R_OK) == 0;
}

/* Make the pair at p and q, under the lock. */
static int make(const char *p, const char *q, char *why, size_t whylen)
{
	char *tp = fcm_path("ssh/.id_ed25519.tmp.%ld", (long)getpid());
	char *tq = fcm_asprintf("%s.pub", tp), reason[600];
	int r = -1;

	unlink(tp);
	unlink(tq);
	if (fcm_keygen(tp, "fcm@host", reason, sizeof reason) < 0)
		snprintf(why, whylen, "unable to generate the fcm ssh key with ssh-keygen: %s", reason);
	else if (chmod(tp, 0600) < 0 || rename(tq, q) < 0 || rename(tp, p) < 0)
		snprintf(why, whylen, "unable to install the fcm ssh key %s: %s", p, strerror(errno));
	else
		r = 0;
	if (r < 0) {
		unlink(tp);
		unlink(tq);
	}
	free(tp);
	free(tq);
	return r;
}

char *fcm_guestkey(char *why, size_t whylen)
{
	char *dir = fcm_path("ssh"), *lock = fcm_path("ssh/.lock");
	char *p = fcm_guestkey_path(), *q = fcm_asprintf("%s.pub", p), *text = NULL;
	int fd = -1;

	if (fcm_mkdirs(dir, 0700) < 0 || chmod(dir, 0700) < 0)
		snprintf(why, whylen, "unable to create %s: %s", dir, strerror(errno));
	else if (!present(p, q) && (fd = fcm_lock(lock, 1)) < 0)
		snprintf(why, whylen, "unable to lock %s: %s", lock, strerror(errno));
	else if (present(p, q) || make(p, q, why, whylen) == 0) {
		text = fcm_read_file(q, PUBKEY_MAX, NULL);
		if (text)
			text[strcspn(text, "\n")] = '\0';
		else
			snprintf(why, whylen, "unable to read %s: %s", q, strerror(errno));
	}
	if (fd >= 0)
		fcm_unlock(fd);
	free(dir);
	free(lock);
	free(p);
	free(q);
	return text;
}
