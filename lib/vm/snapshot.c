/* snapshot.c — where a suspended VM's snapshot is (snapshot.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "vm/snapshot.h"

char *fcm_snapshot_path(const char *id, const char *name)
{
	return name ? fcm_path("vms/%s/snapshot/%s", id, name) : fcm_path("vms/%s/snapshot", id);
}

int fcm_snapshot_exists(const char *id)
{
	char *p = fcm_snapshot_path(id, "info.json");
	int r = access(p, F_OK) == 0;

	free(p);
	return r;
}

jv fcm_snapshot_info(const char *id)
{
	char *p = fcm_snapshot_path(id, "info.json");
	jv v = fcm_read_json(p);

	free(p);
	return v;
}

long long fcm_snapshot_bytes(const char *id)
{
	static const char *const names[] = { "vmstate", "memory", "info.json" };
	long long sum = 0;
	struct stat st;

	if (!fcm_snapshot_exists(id))
		return 0;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *p = fcm_snapshot_path(id, names[i]);
		if (stat(p, &st) == 0)
			sum += (long long)st.st_blocks * 512;
		free(p);
	}
	return sum;
}

int fcm_snapshot_remove(const char *id)
{
	char *info = fcm_snapshot_path(id, "info.json"), *dir = fcm_snapshot_path(id, NULL);
	int r = 0;

	if (unlink(info) < 0 && errno != ENOENT)
		r = -1;
	if (r == 0 && fcm_rm_tree(dir) < 0 && errno != ENOENT)
		r = -1;
	free(info);
	free(dir);
	return r;
}

long fcm_idle_parse(const char *s)
{
	char *end;
	long n, mul = 1;

	if (!s)
		return -1;
	if (!strcmp(s, "off"))
		return 0;
	if (*s < '0' || *s > '9' || strlen(s) > 12)
		return -1;
	n = strtol(s, &end, 10);
	if (*end) {
		if (end[1])
			return -1;
		switch (*end) {
		case 's': mul = 1; break;
		case 'm': mul = 60; break;
		case 'h': mul = 3600; break;
		case 'd': mul = 86400; break;
		default: return -1;
		}
	}
	if (n > 30L * 86400 / mul)
		return -1;
	return n * mul;
}
