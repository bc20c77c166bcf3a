/* quota.c — per-owner limits and usage (lib/vm/quota.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/jsonl.h"
#include "core/paths.h"
#include "core/size.h"
#include "vm/quota.h"
#include "vm/vm.h"

jv fcm_quota_load(void)
{
	char *path = fcm_path("quota.json");
	jv v = fcm_read_json(path), r = jv_object();

	free(path);
	for (int k = 0; k < 2; k++) {
		const char *key = k ? "users" : "default";
		jv a = jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT ? jv_object_get(jv_copy(v), jv_string(key)) : jv_invalid();
		r = jv_object_set(r, jv_string(key), jv_get_kind(a) == JV_KIND_OBJECT ? a : (jv_free(a), jv_object()));
	}
	jv_free(v);
	return r;
}

int fcm_quota_save(jv all)
{
	char *path = fcm_path("quota.json");
	int r = fcm_write_json_atomic(path, all, 0644);

	free(path);
	return r;
}

long long fcm_disk_mib(const char *size)
{
	unsigned long long b = size ? fcm_size_parse(size) : 0;

	return (long long)(b / (1024 * 1024));
}

/* A limit of one entry: -1 when absent or bad. */
static long long limit(jv entry, const char *key)
{
	jv v = jv_get_kind(entry) == JV_KIND_OBJECT ? jv_object_get(jv_copy(entry), jv_string(key)) : jv_invalid();
	long long n = -1;

	if (jv_get_kind(v) == JV_KIND_NUMBER && jv_number_value(v) >= 0)
		n = (long long)jv_number_value(v);
	else if (jv_get_kind(v) == JV_KIND_STRING && !strcmp(key, "disk"))
		n = fcm_disk_mib(jv_string_value(v));
	jv_free(v);
	return n;
}

void fcm_quota_of(const char *owner, struct fcm_usage *q)
{
	static const char *const keys[] = { "vms", "cpus", "memory", "disk" };
	long long n[4];
	jv all, def, mine;

	for (int i = 0; i < 4; i++)
		n[i] = -1;
	if (owner && strcmp(owner, "admin")) {
		all = fcm_quota_load();
		def = jv_object_get(jv_copy(all), jv_string("default"));
		mine = jv_object_get(jv_object_get(all, jv_string("users")), jv_string(owner));
		for (int i = 0; i < 4; i++) {
			long long u = limit(mine, keys[i]);
			n[i] = u >= 0 ? u : limit(def, keys[i]);
		}
		jv_free(def);
		jv_free(mine);
	}
	q->vms = (long)n[0];
	q->cpus = (long)n[1];
	q->memory = (long)n[2];
	q->disk = n[3];
}

static long num(jv rec, const char *key, long def)
{
	jv v = jv_object_get(jv_copy(rec), jv_string(key));
	long n = jv_get_kind(v) == JV_KIND_NUMBER ? (long)jv_number_value(v) : def;

	jv_free(v);
	return n;
}

void fcm_usage_of(const char *owner, struct fcm_usage *u)
{
	jv vms = fcm_vm_list();

	memset(u, 0, sizeof *u);
	jv_array_foreach(vms, i, rec) {
		const char *o = fcm_get_str(rec, "owner");
		if (o && owner && !strcmp(o, owner)) {
			u->vms++;
			u->cpus += num(rec, "cpus", 1);
			u->memory += num(rec, "memory", 1024);
			u->disk += fcm_disk_mib(fcm_get_str(rec, "disk") ? fcm_get_str(rec, "disk") : "2G");
		}
		jv_free(rec);
		(void)i;
	}
	jv_free(vms);
}

int fcm_quota_check(const char *owner, long cpus, long memory, long long disk, char *why, size_t whylen)
{
	struct fcm_usage q, u;
	const char *names[4] = { "VMs", "vCPUs", "memory", "disk" };
	const char *units[4] = { "", "", " MiB", " MiB" };
	long long lim[4], used[4], add[4] = { 1, cpus, memory, disk };
	size_t n = 0;

	fcm_quota_of(owner, &q);
	if (q.vms < 0 && q.cpus < 0 && q.memory < 0 && q.disk < 0)
		return 0;
	fcm_usage_of(owner, &u);
	lim[0] = q.vms, lim[1] = q.cpus, lim[2] = q.memory, lim[3] = q.disk;
	used[0] = u.vms, used[1] = u.cpus, used[2] = u.memory, used[3] = u.disk;
	for (int i = 0; i < 4; i++) {
		if (lim[i] < 0 || used[i] + add[i] <= lim[i])
			continue;
		if (n == 0)
			n += (size_t)snprintf(why, whylen, "over quota for %s:", owner);
		if (n < whylen)
			n += (size_t)snprintf(why + n, whylen - n, "%s %s %lld%s used + %lld = %lld > %lld%s (%lld over)",
			    n > strlen("over quota for :") + strlen(owner) ? ";" : "", names[i], used[i], units[i], add[i],
			    used[i] + add[i], lim[i], units[i], used[i] + add[i] - lim[i]);
	}
	if (n == 0)
		return 0;
	if (n < whylen)
		snprintf(why + n, whylen - n, ": destroy a VM or ask an admin for more (fcm whoami shows usage)");
	return -1;
}

jv fcm_usage_json(const struct fcm_usage *u, int limits)
{
	jv r = jv_object();
	long long v[4] = { u->vms, u->cpus, u->memory, u->disk };
	const char *keys[4] = { "vms", "cpus", "memory", "disk" };

	for (int i = 0; i < 4; i++) {
		if (limits && v[i] < 0)
			r = jv_object_set(r, jv_string(keys[i]), jv_null());
		else if (i == 3)
			r = jv_object_set(r, jv_string(keys[i]), jv_string_fmt("%lldM", v[i]));
		else
			r = jv_object_set(r, jv_string(keys[i]), jv_number((double)v[i]));
	}
	return r;
}
