/* vmcache.c — the VM list in memory, kept exact by inotify (vmcache.h). */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/svc.h"
#include "vm/vm.h"
#include "vm/vmcache.h"

/* What changes an entry, at each level of a VM's directory. */
#define M_ROOT (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)
#define M_VM   (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR)
#define M_SVC  (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR)
#define M_SUP  (IN_CREATE | IN_DELETE | IN_MOVED_TO | IN_CLOSE_WRITE | IN_ONLYDIR)

struct entry {
	char id[FCM_NAME_MAX + 1];
	int wd[3];		/* vms/<id>, its service/, service/supervise/ (-1: none) */
	int dirty;
	jv rec;			/* as fcm ls shows it; invalid: no record (yet) */
	char *json;
	size_t len;
};

struct fcm_vmcache {
	int fd, root_wd, rescan, resort;
	struct entry **e;
	size_t n, cap;
};

static void entry_drop(struct fcm_vmcache *c, size_t i)
{
	struct entry *x = c->e[i];

	for (int k = 0; k < 3; k++)
		if (x->wd[k] >= 0)
			inotify_rm_watch(c->fd, x->wd[k]);
	jv_free(x->rec);
	free(x->json);
	free(x);
	c->e[i] = c->e[--c->n];
	c->resort = 1;
}

static struct entry *entry_of_id(struct fcm_vmcache *c, const char *id)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->e[i]->id, id))
			return c->e[i];
	return NULL;
}

static void entry_add(struct fcm_vmcache *c, const char *id)
{
	struct entry *x;

	if (fcm_id_check(id) < 0 || strlen(id) > FCM_NAME_MAX || entry_of_id(c, id))
		return;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->e = realloc(c->e, c->cap * sizeof *c->e);
		if (!c->e)
			fcm_die_nomem();
	}
	x = fcm_malloc(sizeof *x);
	memset(x, 0, sizeof *x);
	strcpy(x->id, id);
	x->wd[0] = x->wd[1] = x->wd[2] = -1;
	x->dirty = 1;
	x->rec = jv_invalid();
	c->e[c->n++] = x;
	c->resort = 1;
}

/* (Re)watch what exists of the VM's directories, then read it again: a
 * change made before a watch existed is in what is read. */
static void entry_load(struct fcm_vmcache *c, struct entry *x)
{
	static const char *const sub[3] = { "", "/service", "/service/supervise" };
	static const uint32_t mask[3] = { M_VM, M_SVC, M_SUP };
	jv rec;

	for (int k = 0; k < 3; k++) {
		char *p = fcm_path("vms/%s%s", x->id, sub[k]);
		int wd = inotify_add_watch(c->fd, p, mask[k]);
		free(p);
		x->wd[k] = wd;
	}
	x->dirty = 0;
	rec = fcm_vm_load(x->id);
	free(x->json);
	x->json = NULL;
	jv_free(x->rec);
	x->rec = jv_invalid();
	if (!jv_is_valid(rec)) {	/* a VM being made or removed */
		jv_free(rec);
		c->resort = 1;
		return;
	}
	x->rec = fcm_vm_listed(rec);
	jv s = jv_dump_string(jv_copy(x->rec), 0);
	x->json = fcm_strdup(jv_string_value(s));
	x->len = strlen(x->json);
	jv_free(s);
	c->resort = 1;
}

/* The order of fcm_vm_list: oldest first, then by name; entries without a
 * record last (they are not shown). */
static int by_created(const void *a, const void *b)
{
	const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
	int vx = jv_is_valid(x->rec), vy = jv_is_valid(y->rec);

	if (!vx || !vy)
		return vy - vx;
	jv cx = jv_object_get(jv_copy(x->rec), jv_string("created_at"));
	jv cy = jv_object_get(jv_copy(y->rec), jv_string("created_at"));
	double dx = jv_get_kind(cx) == JV_KIND_NUMBER ? jv_number_value(cx) : 0;
	double dy = jv_get_kind(cy) == JV_KIND_NUMBER ? jv_number_value(cy) : 0;
	int r = dx < dy ? -1 : dx > dy;

	jv_free(cx);
	jv_free(cy);
	if (!r) {
		const char *nx = fcm_get_str(x->rec, "name"), *ny = fcm_get_str(y->rec, "name");
		r = strcmp(nx ? nx : "", ny ? ny : "");
	}
	return r;
}

static int scan(struct fcm_vmcache *c)
{
	char *dir = fcm_path("vms");
	DIR *d;
	struct dirent *de;

	while (c->n)
		entry_drop(c, c->n - 1);
	if (c->root_wd >= 0)
		inotify_rm_watch(c->fd, c->root_wd);
	c->root_wd = inotify_add_watch(c->fd, dir, M_ROOT);
	d = opendir(dir);
	free(dir);
	c->rescan = 0;
	if (!d)
		return errno == ENOENT ? 0 : -1;
	while ((de = readdir(d)))
		entry_add(c, de->d_name);
	closedir(d);
	return 0;
}

struct fcm_vmcache *fcm_vmcache_new(void)
{
	struct fcm_vmcache *c;
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0)
		return NULL;
	c = fcm_malloc(sizeof *c);
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->root_wd = -1;
	c->rescan = 1;
	fcm_vmcache_sync(c);
	return c;
}

void fcm_vmcache_free(struct fcm_vmcache *c)
{
	if (!c)
		return;
	while (c->n)
		entry_drop(c, c->n - 1);
	free(c->e);
	close(c->fd);
	free(c);
}

static void event(struct fcm_vmcache *c, const struct inotify_event *ev)
{
	if (ev->mask & IN_Q_OVERFLOW) {
		c->rescan = 1;
		return;
	}
	if (ev->wd == c->root_wd) {
		if (ev->mask & IN_IGNORED) {	/* vms/ itself went */
			c->root_wd = -1;
			c->rescan = 1;
		} else if (ev->len && (ev->mask & (IN_CREATE | IN_MOVED_TO))) {
			entry_add(c, ev->name);
		} else if (ev->len && (ev->mask & (IN_DELETE | IN_MOVED_FROM))) {
			for (size_t i = 0; i < c->n; i++)
				if (!strcmp(c->e[i]->id, ev->name)) {
					entry_drop(c, i);
					break;
				}
		}
		return;
	}
	for (size_t i = 0; i < c->n; i++)
		for (int k = 0; k < 3; k++)
			if (c->e[i]->wd[k] == ev->wd) {
				if (ev->mask & IN_IGNORED)
					c->e[i]->wd[k] = -1;
				c->e[i]->dirty = 1;
				return;
			}
}

int fcm_vmcache_sync(struct fcm_vmcache *c)
{
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;
	int r = 0;

	for (;;) {
		n = read(c->fd, buf, sizeof buf);
		if (n <= 0)
			break;
		for (char *p = buf; p < buf + n;) {
			const struct inotify_event *ev = (const struct inotify_event *)p;
			event(c, ev);
			p += sizeof *ev + ev->len;
		}
	}
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		c->rescan = 1;
	if (c->rescan && scan(c) < 0) {
		c->rescan = 1;
		r = -1;
	}
	for (size_t i = 0; i < c->n; i++)
		if (c->e[i]->dirty)
			entry_load(c, c->e[i]);
	if (c->resort) {
		if (c->n > 1)
			qsort(c->e, c->n, sizeof *c->e, by_created);
		c->resort = 0;
	}
	return r;
}

char *fcm_vmcache_list(struct fcm_vmcache *c, const char *who, int admin, const char *owner,
    size_t *len)
{
	size_t total = 2;
	char *out, *p;

	for (size_t i = 0; i < c->n; i++)
		if (c->e[i]->json)
			total += c->e[i]->len + 1;
	p = out = fcm_malloc(total + 1);
	*p++ = '[';
	for (size_t i = 0; i < c->n; i++) {
		struct entry *x = c->e[i];
		if (!x->json || !fcm_vm_visible(x->rec, who, admin, owner))
			continue;
		if (p > out + 1)
			*p++ = ',';
		memcpy(p, x->json, x->len);
		p += x->len;
	}
	*p++ = ']';
	*p = '\0';
	*len = (size_t)(p - out);
	return out;
}

char *fcm_vmcache_one(struct fcm_vmcache *c, const char *ref, const char *who, int admin,
    size_t *len)
{
	char why[256];
	struct entry *found = NULL;

	if (fcm_id_check(ref) == 0 && (found = entry_of_id(c, ref)) && !found->json)
		found = NULL;
	if (!found && fcm_name_check(ref, why, sizeof why) == 0)
		for (size_t i = 0; i < c->n && !found; i++) {
			const char *name = c->e[i]->json ? fcm_get_str(c->e[i]->rec, "name") : NULL;
			if (name && !strcmp(name, ref))
				found = c->e[i];
		}
	if (!found || !fcm_vm_visible(found->rec, who, admin, NULL))
		return NULL;
	*len = found->len;
	return fcm_strdup(found->json);
}
