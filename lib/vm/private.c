/* private.c — tenant data is root's alone (private.h). */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/err.h"
#include "core/paths.h"
#include "vm/private.h"

/* Strip group and other bits from path; recurse depth more levels into a
 * directory.  Returns the number of paths fixed. */
static int fix(const char *path, int depth)
{
	struct stat st;
	int n = 0;

	if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode))
		return 0;
	if (st.st_mode & 077) {
		mode_t m = st.st_mode & 07700;
		if (chmod(path, m) == 0) {
			fcm_warn("%s was mode %04o, readable by others: made it %04o", path,
			    (unsigned)(st.st_mode & 07777), (unsigned)m);
			n++;
		} else
			fcm_warn_sys("unable to make %s private (mode %04o)", path, (unsigned)m);
	}
	if (depth > 0 && S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *p = fcm_asprintf("%s/%s", path, e->d_name);
			n += fix(p, depth - 1);
			free(p);
		}
		if (d)
			closedir(d);
	}
	return n;
}

int fcm_private_fix(void)
{
	static const struct { const char *rel; int depth; } tree[] = {
		{ ".token", 0 },
		{ "vms", 2 },	/* vms/<id>/<file> */
		{ "git", 1 },	/* git/<name>.git */
		{ "ssh", 1 },
	};
	int n = 0;

	for (size_t i = 0; i < sizeof tree / sizeof tree[0]; i++) {
		char *p = fcm_path("%s", tree[i].rel);
		n += fix(p, tree[i].depth);
		free(p);
	}
	return n;
}
