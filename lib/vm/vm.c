/* vm.c — VM records on disk. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "core/rmtree.h"
#include "core/stateformat.h"
#include "vm/vm.h"

char *fcm_vm_dir(const char *id)
{
	return fcm_path("vms/%s", id);
}

/* The record of VM id, its file opened relative to vms, a descriptor of
 * the directory vms/ (a lookup of two names, not of the whole path: fcm ls
 * reads hundreds), or by its whole path when vms is -1. */
static jv load(int vms, const char *id)
{
	char *path;
	jv rec;

	if (fcm_id_check(id) < 0)
		return jv_invalid_with_msg(jv_string_fmt("'%.64s' is not a VM id", id));
	char err[512];

	path = fcm_path("vms/%s/config.json", id);
	rec = vms >= 0 ? fcm_read_json_at(vms, path + strlen(fcm_root()) + strlen("/vms/"), path) :
	    fcm_read_json_at(AT_FDCWD, path, path);
	if (jv_is_valid(rec) && jv_get_kind(rec) != JV_KIND_OBJECT) {
		jv_free(rec);
		free(path);
		return jv_invalid_with_msg(jv_string_fmt("the record of VM %s is not a JSON object", id));
	}
	if (jv_is_valid(rec) && fcm_state_check(rec, path, err, sizeof err) < 0) {
		jv_free(rec);
		free(path);
		return jv_invalid_with_msg(jv_string(err));
	}
	free(path);
	/* The format is the file's, not the record's: fcm_vm_save stamps it. */
	return jv_is_valid(rec) ? jv_object_delete(rec, jv_string("format")) : rec;
}

jv fcm_vm_load(const char *id)
{
	return load(-1, id);
}

/* A record with its sort keys, read once (not at each comparison). */
struct listed {
	jv rec;
	double created;
	const char *name;	/* the record's own string */
};

static int by_created(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	int r = x->created < y->created ? -1 : x->created > y->created;

	return r ? r : strcmp(x->name, y->name);
}

jv fcm_vm_list(void)
{
	char *dir = fcm_path("vms");
	DIR *d = opendir(dir);
	struct dirent *e;
	struct listed *recs = NULL;
	size_t n = 0, cap = 0;
	jv out = jv_array();

	if (!d) {
		free(dir);
		return out;
	}
	while ((e = readdir(d))) {
		if (fcm_id_check(e->d_name) < 0)
			continue;
		jv rec = load(dirfd(d), e->d_name);
		if (!jv_is_valid(rec)) {
			jv msg = jv_invalid_get_msg(rec);
			/* A directory without a record is a VM being made or removed. */
			if (errno != ENOENT)
				fcm_warn("skipping VM %s: %s", e->d_name,
				    jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "bad record");
			jv_free(msg);
			continue;
		}
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			recs = realloc(recs, cap * sizeof *recs);
			if (!recs)
				fcm_die_nomem();
		}
		jv c = jv_object_get(jv_copy(rec), jv_string("created_at"));
		const char *name = fcm_get_str(rec, "name");
		recs[n].created = jv_get_kind(c) == JV_KIND_NUMBER ? jv_number_value(c) : 0;
		recs[n].name = name ? name : "";
		recs[n++].rec = rec;
		jv_free(c);
	}
	closedir(d);
	free(dir);
	if (n)
		qsort(recs, n, sizeof *recs, by_created);
	for (size_t i = 0; i < n; i++)
		out = jv_array_append(out, recs[i].rec);
	free(recs);
	return out;
}

/* --- the name index ------------------------------------------------------ */

/* The id name points to in the index: 1 (in id), or 0. */
static int index_get(const char *name, char id[FCM_ID_LEN + 1])
{
	char *p = fcm_path("vms/.names/%s", name);
	ssize_t n = readlink(p, id, FCM_ID_LEN + 1);

	free(p);
	if (n <= 0 || n > FCM_ID_LEN)
		return 0;
	id[n] = '\0';
	return fcm_id_check(id) == 0;
}

/* The record of VM id if it is named name, else invalid. */
static jv named(const char *id, const char *name)
{
	jv rec = fcm_vm_load(id);
	const char *n = jv_is_valid(rec) ? fcm_get_str(rec, "name") : NULL;

	if (n && !strcmp(n, name))
		return rec;
	jv_free(rec);
	return jv_invalid();
}

int fcm_vm_names_complete(void)
{
	char *p = fcm_path("vms/.names/.complete");
	int ok = access(p, F_OK) == 0;

	free(p);
	return ok;
}

int fcm_vm_name_claim(const char *name, const char *id)
{
	char *dir = fcm_path("vms/.names"), *p = fcm_path("vms/.names/%s", name);
	char held[FCM_ID_LEN + 1];
	int r = -1;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		goto out;
	if (symlink(id, p) == 0) {
		r = 0;
		goto out;
	}
	if (errno != EEXIST)
		goto out;
	if (index_get(name, held)) {
		jv rec = named(held, name);
		int live = jv_is_valid(rec);
		jv_free(rec);
		if (live) {
			errno = EEXIST;
			goto out;
		}
	}
	/* Left by a VM gone before its destroy ended: take it. */
	if (unlink(p) == 0 && symlink(id, p) == 0)
		r = 0;
out:
	free(dir);
	free(p);
	return r;
}

void fcm_vm_name_release(const char *name, const char *id)
{
	char held[FCM_ID_LEN + 1];

	if (index_get(name, held) && !strcmp(held, id)) {
		char *p = fcm_path("vms/.names/%s", name);
		unlink(p);
		free(p);
	}
}

int fcm_vm_names_rebuild(void)
{
	char *dir = fcm_path("vms/.names"), *done = fcm_path("vms/.names/.complete");
	jv list;
	int r = -1;

	unlink(done);
	if (fcm_rm_tree(dir) < 0 && errno != ENOENT)
		goto out;
	if (mkdir(dir, 0700) < 0)
		goto out;
	list = fcm_vm_list();
	r = 0;
	jv_array_foreach(list, i, rec) {
		const char *name = fcm_get_str(rec, "name"), *id = fcm_get_str(rec, "id");
		char *p;
		(void)i;
		if (name && id && fcm_name_check(name, NULL, 0) == 0) {
			p = fcm_path("vms/.names/%s", name);
			if (symlink(id, p) < 0 && errno != EEXIST)
				r = -1;
			free(p);
		}
		jv_free(rec);
	}
	jv_free(list);
	if (r == 0 && fcm_write_atomic(done, "", 0, 0600) < 0)
		r = -1;
out:
	free(dir);
	free(done);
	return r;
}

jv fcm_vm_find(const char *ref)
{
	char why[256], held[FCM_ID_LEN + 1];
	jv list, found = jv_invalid();

	if (fcm_id_check(ref) == 0) {
		jv rec = fcm_vm_load(ref);
		if (jv_is_valid(rec))
			return rec;
		jv_free(rec);
	}
	if (fcm_name_check(ref, why, sizeof why) < 0)
		return jv_invalid_with_msg(jv_string(why));
	if (index_get(ref, held)) {
		found = named(held, ref);
		if (jv_is_valid(found))
			return found;
		jv_free(found);
		found = jv_invalid();
	}
	/* Not in the index: a record not made by create (yet indexed). */
	list = fcm_vm_list();
	jv_array_foreach(list, i, rec) {
		const char *name = fcm_get_str(rec, "name");
		if (!jv_is_valid(found) && name && !strcmp(name, ref))
			found = jv_copy(rec);
		jv_free(rec);
	}
	jv_free(list);
	if (!jv_is_valid(found)) {
		jv_free(found);
		return jv_invalid_with_msg(jv_string_fmt("no VM named '%s' (see 'fcm ls')", ref));
	}
	return found;
}

int fcm_vm_name_taken(const char *name)
{
	char held[FCM_ID_LEN + 1];
	jv rec;
	int taken;

	if (fcm_vm_names_complete() && fcm_name_check(name, NULL, 0) == 0) {
		if (!index_get(name, held))
			return 0;
		rec = named(held, name);
	} else {
		rec = fcm_vm_find(name);
	}
	taken = jv_is_valid(rec);
	jv_free(rec);
	return taken;
}

static int save(jv rec, int sync)
{
	const char *id = fcm_get_str(rec, "id");
	char *path;
	int r;

	if (!id || fcm_id_check(id) < 0) {
		jv_free(rec);
		errno = EINVAL;
		return -1;
	}
	path = fcm_path("vms/%s/config.json", id);
	r = (sync ? fcm_write_json_atomic : fcm_write_json_replace)(path, fcm_state_stamp(rec), 0600);
	free(path);
	return r;
}

int fcm_vm_save(jv rec)
{
	return save(rec, 1);
}

int fcm_vm_save_unsynced(jv rec)
{
	return save(rec, 0);
}

int fcm_vm_visible(jv rec, const char *who, int admin, const char *owner)
{
	const char *o = fcm_get_str(rec, "owner");

	if (!admin && (!o || !who || strcmp(o, who)))
		return 0;
	return !owner || (o && !strcmp(o, owner));
}

int fcm_vm_table_lock(void)
{
	return fcm_lock_dir("vms", 0700);
}
