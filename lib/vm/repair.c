/* repair.c — finish what a crash left behind (lib/vm/repair.h). */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/diskfs.h"
#include "vm/jail.h"
#include "vm/lifecycle.h"
#include "vm/repair.h"
#include "vm/vm.h"

static jv item(const char *id, const char *name, const char *was)
{
	jv r = jv_object_set(jv_object(), jv_string("id"), jv_string(id));

	r = jv_object_set(r, jv_string("name"), name ? jv_string(name) : jv_null());
	return jv_object_set(r, jv_string("was"), jv_string(was));
}

/* Is a create of this VM still running (it holds vms/<id>/.busy)? */
static int being_made(const char *id)
{
	char *busy = fcm_path("vms/%s/.busy", id);
	int fd = fcm_lock_try(busy), held = fd < 0 && errno == EWOULDBLOCK;

	fcm_unlock(fd);
	free(busy);
	return held;
}

jv fcm_vm_repair(unsigned flags)
{
	char *dir = fcm_path("vms");
	jv fixed = jv_array(), failed = jv_array(), r;
	int checked = 0, lk;
	DIR *d;
	struct dirent *e;

	if ((lk = fcm_vm_table_lock()) < 0) {
		free(dir);
		return jv_invalid_with_msg(jv_string_fmt("unable to lock the VM table: %s", strerror(errno)));
	}
	d = opendir(dir);
	while (d && (e = readdir(d))) {
		const char *id = e->d_name, *was = NULL, *name = NULL;
		jv rec;

		if (fcm_id_check(id) < 0)
			continue;
		checked++;
		rec = fcm_vm_load(id);
		if (!jv_is_valid(rec) || jv_get_kind(rec) != JV_KIND_OBJECT) {
			was = "no record";
		} else {
			const char *state = fcm_get_str(rec, "state");
			name = fcm_get_str(rec, "name");
			if (state && !strcmp(state, "destroying"))
				was = "destroying";
			else if (state && !strcmp(state, "creating") && !being_made(id))
				was = "creating";
		}
		if (was) {
			char *n = name ? fcm_strdup(name) : NULL;
			jv it = item(id, n, was);
			if (fcm_vm_teardown_ex(id, n, flags) == 0)
				fixed = jv_array_append(fixed, jv_object_set(it, jv_string("done"), jv_string("removed")));
			else
				failed = jv_array_append(failed, jv_object_set(it, jv_string("error"),
				    jv_string("could not be taken apart wholly (see the warnings)")));
			free(n);
		}
		jv_free(rec);
	}
	if (d)
		closedir(d);
	/* The name index, made anew from the records that are left. */
	if (fcm_vm_names_rebuild() < 0)
		fcm_warn_sys("unable to index the VMs' names in %s/vms/.names", fcm_root());
	/* And the uid index (its links are not fsynced: a crash may have
	 * lost one), made anew at the next claim. */
	fcm_jail_uids_forget();
	fcm_unlock(lk);
	free(dir);
	r = jv_object_set(jv_object(), jv_string("checked"), jv_number(checked));
	r = jv_object_set(r, jv_string("swept"), jv_number(fcm_diskfs_sweep()));
	r = jv_object_set(r, jv_string("fixed"), fixed);
	return jv_object_set(r, jv_string("failed"), failed);
}
