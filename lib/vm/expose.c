/* expose.c — public IP, domain and URL of an exposed VM (expose.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/lock.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/name.h"
#include "core/run.h"
#include "vm/vm.h"

int fcm_port_parse(const char *s, long *out, char *err, size_t errlen)
{
	long v = 0;
	const char *p = s;

	if (!s || !*s || strlen(s) > 5)
		goto bad;
	for (; *p; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (*p - '0');
	}
	if (v < 1 || v > 65535)
		goto bad;
	*out = v;
	return 0;
bad:
	snprintf(err, errlen, "port must be a whole number from 1 to 65535, not '%.32s'", s ? s : "");
	return -1;
}

int fcm_domain_check(const char *s, char *why, size_t whylen)
{
	size_t n = strlen(s), label = 0;

	if (n == 0) {
		snprintf(why, whylen, "the domain is empty");
		return -1;
	}
	if (n > FCM_DOMAIN_MAX) {
		snprintf(why, whylen, "domain '%.64s...' is longer than %d characters", s, FCM_DOMAIN_MAX);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		char c = s[i];
		if (c == '.' || c == '\0') {
			if (label == 0 || s[i - 1] == '-') {
				snprintf(why, whylen, "'%.253s' is not a valid domain: each dot-separated part must be 1-63 of a-z, 0-9 and '-', not starting or ending with '-'", s);
				return -1;
			}
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && label > 0))) {
			snprintf(why, whylen, "'%.253s' is not a valid domain: only a-z, 0-9, '-' and '.' are allowed (found '%c')",
			    s, c >= 0x20 && c < 0x7f ? c : '?');
			return -1;
		}
		if (++label > 63) {
			snprintf(why, whylen, "'%.253s' is not a valid domain: a part is longer than 63 characters", s);
			return -1;
		}
	}
	return 0;
}

/* The interface of the default IPv4 route, from /proc/net/route (nothing is
 * sent anywhere).  0 or -1. */
static int default_route_ifname(char ifname[IF_NAMESIZE])
{
	FILE *f = fopen("/proc/net/route", "re");
	char line[512], name[64];
	unsigned long dest, gw, flags, mask;
	int found = -1;

	if (!f)
		return -1;
	if (!fgets(line, sizeof line, f)) {	/* header */
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof line, f)) {
		int refcnt, use, metric;
		if (sscanf(line, "%63s %lx %lx %lx %d %d %d %lx", name, &dest, &gw, &flags,
		    &refcnt, &use, &metric, &mask) != 8)
			continue;
		if (dest == 0 && mask == 0 && (flags & 1) && strlen(name) < IF_NAMESIZE) {
			memcpy(ifname, name, strlen(name) + 1);
			found = 0;
			break;
		}
	}
	fclose(f);
	return found;
}

static int detect_ip(char out[16])
{
	char ifname[IF_NAMESIZE];
	struct ifaddrs *ifa, *p;
	int r = -1;

	if (default_route_ifname(ifname) < 0 || getifaddrs(&ifa) < 0)
		return -1;
	for (p = ifa; p; p = p->ifa_next) {
		if (!p->ifa_addr || p->ifa_addr->sa_family != AF_INET || strcmp(p->ifa_name, ifname))
			continue;
		if (inet_ntop(AF_INET, &((struct sockaddr_in *)p->ifa_addr)->sin_addr, out, 16)) {
			r = 0;
			break;
		}
	}
	freeifaddrs(ifa);
	return r;
}

int fcm_public_ip(char out[16], char *err, size_t errlen)
{
	const char *env = getenv("FCM_PUBLIC_IP");
	struct in_addr a;
	static int warned;

	if (env && *env) {
		if (strlen(env) > 15 || inet_pton(AF_INET, env, &a) != 1) {
			snprintf(err, errlen, "FCM_PUBLIC_IP must be an IPv4 address such as 203.0.113.7, not '%.64s'", env);
			return -1;
		}
		inet_ntop(AF_INET, &a, out, 16);
		return 0;
	}
	if (detect_ip(out) == 0)
		return 0;
	if (!warned++)
		fcm_warn("unable to find this host's public IP (no default route): using 127.0.0.1; set FCM_PUBLIC_IP or FCM_DOMAIN");
	memcpy(out, "127.0.0.1", 10);
	return 0;
}

char *fcm_expose_base(char *err, size_t errlen)
{
	const char *env = getenv("FCM_DOMAIN");
	char ip[16], why[400];

	if (env && *env) {
		char *d = fcm_strdup(env);
		for (char *p = d; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (fcm_domain_check(d, why, sizeof why) < 0) {
			snprintf(err, errlen, "FCM_DOMAIN: %s", why);
			free(d);
			return NULL;
		}
		return d;
	}
	if (fcm_public_ip(ip, err, errlen) < 0)
		return NULL;
	for (char *p = ip; *p; p++)
		if (*p == '.')
			*p = '-';
	return fcm_asprintf("%s.sslip.io", ip);
}

char *fcm_expose_domain(const char *name, char *err, size_t errlen)
{
	char why[256], *base, *d;

	if (!name || fcm_name_check(name, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s", name ? why : "no VM name");
		return NULL;
	}
	if (!(base = fcm_expose_base(err, errlen)))
		return NULL;
	d = fcm_asprintf("%s.%s", name, base);
	free(base);
	if (strlen(d) > FCM_DOMAIN_MAX) {
		snprintf(err, errlen, "domain '%.64s...' would be longer than %d characters: use a shorter name or FCM_DOMAIN",
		    d, FCM_DOMAIN_MAX);
		free(d);
		return NULL;
	}
	return d;
}

jv fcm_expose_new(const char *name, long port)
{
	char err[512], *d;
	jv r;

	if (port < 1 || port > 65535)
		return jv_invalid_with_msg(jv_string_fmt("port must be a whole number from 1 to 65535, not %ld", port));
	if (!(d = fcm_expose_domain(name, err, sizeof err)))
		return jv_invalid_with_msg(jv_string(err));
	r = jv_object_set(jv_object(), jv_string("expose"),
	    jv_object_set(jv_object_set(jv_object(), jv_string("port"), jv_number((double)port)),
	    jv_string("domain"), jv_string(d)));
	r = jv_object_set(r, jv_string("url"), jv_string_fmt("https://%s", d));
	free(d);
	return r;
}

jv fcm_expose_apply(jv rec, long port)
{
	jv e;

	if (port == 0) {
		rec = jv_object_set(rec, jv_string("expose"), jv_null());
		return jv_object_set(rec, jv_string("url"), jv_null());
	}
	e = fcm_expose_new(fcm_get_str(rec, "name"), port);
	if (!jv_is_valid(e)) {
		jv_free(rec);
		return e;
	}
	return jv_object_merge(rec, e);
}

jv fcm_proxy_sync(void)
{
	return fcm_call("proxy", jv_object_set(jv_object(), jv_string("op"), jv_string("sync")));
}

static jv failed(int *code, int c, jv msg)
{
	*code = c;
	return jv_invalid_with_msg(msg);
}

jv fcm_vm_save_routed(jv old, jv new, int *code)
{
	const char *name = fcm_get_str(new, "name");
	jv reply, r;

	if (fcm_vm_save(jv_copy(new)) < 0)
		return failed(code, FCM_E_INTERNAL, jv_string_fmt("unable to write the record of VM %s: %s", name, strerror(errno)));
	reply = fcm_proxy_sync();
	if (fcm_reply_ok(reply)) {
		jv_free(reply);
		return jv_copy(new);
	}
	if (fcm_vm_save(jv_copy(old)) < 0)
		r = failed(code, FCM_E_INTERNAL, jv_string_fmt("%s; and unable to put the record of VM %s back as it was: %s",
		    fcm_reply_error(reply), name, strerror(errno)));
	else
		r = failed(code, fcm_kind_parse(fcm_get_str(reply, "kind")),
		    jv_string_fmt("%s; VM %s is left as it was", fcm_reply_error(reply), name));
	jv_free(reply);
	return r;
}

jv fcm_expose_change(jv rec, long port, int *code)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	jv old, new, r;
	int fd;

	if (!id || !name)
		return failed(code, FCM_E_USAGE, jv_string("the VM record has no id or name"));
	if ((fd = fcm_vm_table_lock()) < 0)
		return failed(code, FCM_E_INTERNAL, jv_string_fmt("unable to lock the VM table: %s", strerror(errno)));
	old = fcm_vm_load(id);
	if (!jv_is_valid(old)) {
		jv_free(old);
		fcm_unlock(fd);
		return failed(code, FCM_E_NOT_FOUND, jv_string_fmt("VM %s no longer exists", name));
	}
	new = fcm_expose_apply(jv_copy(old), port);
	if (!jv_is_valid(new)) {
		jv_free(old);
		fcm_unlock(fd);
		*code = FCM_E_USAGE;
		return new;
	}
	r = fcm_vm_save_routed(old, new, code);
	jv_free(old);
	jv_free(new);
	fcm_unlock(fd);
	return r;
}
