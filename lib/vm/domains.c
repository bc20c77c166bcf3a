/* domains.c — a VM's custom domains (domains.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "vm/domains.h"
#include "vm/expose.h"
#include "vm/vm.h"

int fcm_host_check(const char *host, char *why, size_t whylen)
{
	const char *name = host;

	if (!strncmp(host, "*.", 2)) {
		name = host + 2;
		if (!strchr(name, '.')) {
			snprintf(why, whylen, "'%.253s' is too wide a wildcard: give at least two labels after '*.' (*.example.com)", host);
			return -1;
		}
	}
	if (strchr(name, '*')) {
		snprintf(why, whylen, "'%.253s' is not a valid domain: a '*' may only be the whole first label (*.example.com)", host);
		return -1;
	}
	if (strlen(host) > FCM_DOMAIN_MAX) {
		snprintf(why, whylen, "domain '%.64s...' is longer than %d characters", host, FCM_DOMAIN_MAX);
		return -1;
	}
	return fcm_domain_check(name, why, whylen);
}

/* Does wildcard w ("*.x") cover name n (one label, then ".x")? */
static int covers(const char *w, const char *n)
{
	const char *dot;

	if (strncmp(w, "*.", 2) || !strncmp(n, "*.", 2))
		return 0;
	dot = strchr(n, '.');
	return dot && dot != n && !strcmp(dot + 1, w + 2);
}

int fcm_hosts_overlap(const char *a, const char *b)
{
	return !strcmp(a, b) || covers(a, b) || covers(b, a);
}

int fcm_domain_canon(const char *in, char *out, size_t outlen, char *why, size_t whylen)
{
	size_t n = strlen(in);

	if (n == 0) {
		snprintf(why, whylen, "say which domain (such as www.example.com)");
		return -1;
	}
	if (n > FCM_DOMAIN_MAX + 1 || n >= outlen) {
		snprintf(why, whylen, "domain '%.64s...' is longer than %d characters", in, FCM_DOMAIN_MAX);
		return -1;
	}
	for (size_t i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 0x80) {
			snprintf(why, whylen, "the domain has characters other than ASCII: give an internationalised name in its xn-- (punycode) form");
			return -1;
		}
		if ((c < 0x20 && c) || c == 0x7f) {
			snprintf(why, whylen, "the domain has a control character: give a name such as www.example.com");
			return -1;
		}
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
	}
	if (n > 1 && out[n - 1] == '.')
		out[--n] = '\0';
	return fcm_host_check(out, why, whylen);
}

int fcm_custom_domain(const char *in, char *out, size_t outlen, char *why, size_t whylen)
{
	const char *wild = getenv("FCM_DOMAINS_WILDCARD"), *tld, *name;
	char err[512], *base;
	int r = 0;

	if (fcm_domain_canon(in, out, outlen, why, whylen) < 0)
		return -1;
	name = !strncmp(out, "*.", 2) ? out + 2 : out;
	if (name != out && !(wild && !strcmp(wild, "1"))) {
		snprintf(why, whylen, "wildcard domains such as '%.253s' are not allowed on this host (its admin may allow them with FCM_DOMAINS_WILDCARD=1)", out);
		return -1;
	}
	if (!(tld = strrchr(name, '.'))) {
		snprintf(why, whylen, "'%.253s' is not a full domain name: give one with a dot, such as www.example.com", out);
		return -1;
	}
	if (strspn(tld + 1, "0123456789") == strlen(tld + 1)) {
		snprintf(why, whylen, "'%.253s' is an IP address, not a domain name", out);
		return -1;
	}
	/* fcm's own names: the base and every name directly under it. */
	if (!(base = fcm_expose_base(err, sizeof err))) {
		snprintf(why, whylen, "%s", err);
		return -1;
	}
	const char *under = strchr(name, '.');
	if (name != out && !strcmp(name, base)) {
		snprintf(why, whylen, "'%.253s' would take every VM's URL (<name>.%s): give a domain of yours", out, base);
		r = -1;
	} else if (!strcmp(name, base) || (name == out && under && !strcmp(under + 1, base))) {
		snprintf(why, whylen, "'%.253s' is one of this host's own names (the VMs' URLs <name>.%s and the API's fcm.%s): give a domain of yours",
		    out, base, base);
		r = -1;
	}
	free(base);
	/* The API's and dashboard's own name (FCM_API_HOST, doc/web.md). */
	const char *api = getenv("FCM_API_HOST");
	if (!r && api && *api) {
		char ah[FCM_DOMAIN_MAX + 2], w[256];
		if (fcm_domain_canon(api, ah, sizeof ah, w, sizeof w) == 0 && fcm_hosts_overlap(ah, out)) {
			snprintf(why, whylen, "'%.253s' is this host's API and dashboard (FCM_API_HOST): give a domain of yours", out);
			r = -1;
		}
	}
	return r;
}

long fcm_domains_max(char *why, size_t whylen)
{
	const char *e = getenv("FCM_DOMAINS_MAX");
	char *end;
	long v;

	if (!e || !*e)
		return FCM_DOMAINS_DEFAULT_MAX;
	errno = 0;
	v = strtol(e, &end, 10);
	if (errno || *end || v < 1 || v > FCM_DOMAINS_LIMIT) {
		snprintf(why, whylen, "FCM_DOMAINS_MAX must be a whole number from 1 to %d, not '%.32s'", FCM_DOMAINS_LIMIT, e);
		return -1;
	}
	return v;
}

jv fcm_domains_of(jv rec)
{
	jv d = jv_object_get(jv_copy(rec), jv_string("domains")), out = jv_array();

	if (jv_get_kind(d) == JV_KIND_ARRAY) {
		jv_array_foreach(d, i, s) {
			if (jv_get_kind(s) == JV_KIND_STRING)
				out = jv_array_append(out, s);
			else
				jv_free(s);
			(void)i;
		}
	}
	jv_free(d);
	return out;
}

/* Does any host of rec (its generated name, its domains) overlap domain?
 * The one that does (malloc'd), or NULL. */
static char *overlap_in(jv rec, const char *domain)
{
	jv e = jv_object_get(jv_copy(rec), jv_string("expose")), ds = fcm_domains_of(rec);
	const char *gen = jv_get_kind(e) == JV_KIND_OBJECT ? fcm_get_str(e, "domain") : NULL;
	char *hit = NULL;

	if (gen && fcm_hosts_overlap(gen, domain))
		hit = fcm_strdup(gen);
	jv_array_foreach(ds, i, s) {
		if (!hit && fcm_hosts_overlap(jv_string_value(s), domain))
			hit = fcm_strdup(jv_string_value(s));
		jv_free(s);
		(void)i;
	}
	jv_free(ds);
	jv_free(e);
	return hit;
}

static jv failed(int *code, int c, jv msg)
{
	*code = c;
	return jv_invalid_with_msg(msg);
}

/* Under the lock: may the VM of rec (id, name) take domain?  NULL reply
 * when it may, else the failure (invalid, *code set). */
static jv may_take(jv rec, const char *domain, const char *viewer, int *code)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	jv all = fcm_vm_list(), r = jv_null();
	char why[256], *hit;
	long max = fcm_domains_max(why, sizeof why);

	if (max < 0) {
		jv_free(all);
		return failed(code, FCM_E_USAGE, jv_string(why));
	}
	int have = jv_array_length(fcm_domains_of(rec));
	if (have >= max) {
		jv_free(all);
		return failed(code, FCM_E_FORBIDDEN, jv_string_fmt("VM %s has %d custom domains, and one VM may have at most %ld on this host: remove one first ('fcm domains rm %s DOMAIN')",
		    name, have, max, name));
	}
	jv e = jv_object_get(jv_copy(rec), jv_string("expose"));
	const char *own = jv_get_kind(e) == JV_KIND_OBJECT ? fcm_get_str(e, "domain") : NULL;
	if (own && fcm_hosts_overlap(own, domain))
		r = failed(code, FCM_E_USAGE, jv_string_fmt("%s is VM %s's own URL already", own, name));
	jv_free(e);
	jv_array_foreach(all, i, other) {
		const char *oid = fcm_get_str(other, "id"), *state = fcm_get_str(other, "state");
		const char *oname = fcm_get_str(other, "name"), *owner = fcm_get_str(other, "owner");
		/* A VM being destroyed has no route any more, and never will. */
		if (jv_is_valid(r) && jv_get_kind(r) == JV_KIND_NULL && oid && strcmp(oid, id) &&
		    !(state && !strcmp(state, "destroying")) && (hit = overlap_in(other, domain))) {
			int named = !viewer || (owner && !strcmp(owner, viewer));
			if (!strcmp(hit, domain))
				r = failed(code, FCM_E_CONFLICT, jv_string_fmt("domain %s is already used by %s%s: a domain belongs to one VM; remove it there first",
				    domain, named ? "VM " : "another VM", named && oname ? oname : ""));
			else
				r = failed(code, FCM_E_CONFLICT, jv_string_fmt("domain %s overlaps %s, which %s%s uses: a name and a wildcard covering it cannot belong to two VMs",
				    domain, hit, named ? "VM " : "another VM", named && oname ? oname : ""));
			free(hit);
		}
		jv_free(other);
		(void)i;
	}
	jv_free(all);
	return r;
}

jv fcm_domains_change(jv rec, const char *domain, int add, const char *viewer, int *changed, int *code)
{
	const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
	jv old, new, ds, kept, r;
	int fd, had = 0;

	*changed = 0;
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
	ds = fcm_domains_of(old);
	kept = jv_array();
	jv_array_foreach(ds, i, s) {
		if (!strcmp(jv_string_value(s), domain)) {
			had = 1;
			jv_free(s);
		} else
			kept = jv_array_append(kept, s);
		(void)i;
	}
	jv_free(ds);
	if (add == had) {	/* nothing to do */
		jv_free(kept);
		fcm_unlock(fd);
		if (add)
			return old;
		r = failed(code, FCM_E_NOT_FOUND, jv_string_fmt("VM %s has no domain %s (see 'fcm domains %s')", name, domain, name));
		jv_free(old);
		return r;
	}
	if (add) {
		const char *state = fcm_get_str(old, "state");
		if (state && !strcmp(state, "destroying")) {
			r = failed(code, FCM_E_CONFLICT, jv_string_fmt("VM %s is being destroyed", name));
			jv_free(kept);
			jv_free(old);
			fcm_unlock(fd);
			return r;
		}
		r = may_take(old, domain, viewer, code);
		if (!jv_is_valid(r)) {
			jv_free(kept);
			jv_free(old);
			fcm_unlock(fd);
			return r;
		}
		kept = jv_array_append(kept, jv_string(domain));
	}
	new = jv_object_set(jv_copy(old), jv_string("domains"), kept);
	r = fcm_vm_save_routed(old, new, code);
	*changed = jv_is_valid(r);
	jv_free(old);
	jv_free(new);
	fcm_unlock(fd);
	return r;
}
