/* fcm domains — a VM's custom domains (doc/fcm-domains.md).
 *
 *   fcm domains [ls] [--json] [VM]          the VM's domains
 *   fcm domains add [--json] [VM] DOMAIN    serve the VM at DOMAIN too
 *   fcm domains rm [--json] [VM] DOMAIN     stop serving it there
 *
 * The record's "domains" array (lib/vm/domains.h) is the truth; Caddy is
 * given the routes from the records (fcm-proxy sync), with a certificate
 * for each name, and if it cannot take them the record is left as it was. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"
#include "core/err.h"
#include "core/jsonl.h"
#include "vm/domains.h"
#include "vm/expose.h"

/* The request's domain made canonical; with strict, checked as a new one. */
static jv check_domain(jv req, int strict)
{
	const char *d = fcm_get_str(req, "domain");
	char out[FCM_DOMAIN_MAX + 2], why[512];

	if (!d)
		fcm_die(FCM_E_USAGE, "say which domain (such as www.example.com)");
	if ((strict ? fcm_custom_domain(d, out, sizeof out, why, sizeof why) :
	    fcm_domain_canon(d, out, sizeof out, why, sizeof why)) < 0)
		fcm_die(FCM_E_USAGE, "%s", why);
	return jv_object_set(req, jv_string("domain"), jv_string(out));
}

static jv check_add(jv req) { return check_domain(req, 1); }
static jv check_rm(jv req) { return check_domain(req, 0); }

static jv port_of(jv rec)
{
	jv p = jv_getpath(jv_copy(rec), JV_ARRAY(jv_string("expose"), jv_string("port")));

	if (jv_get_kind(p) == JV_KIND_NUMBER)
		return p;
	jv_free(p);
	return jv_null();
}

/* --- ls ----------------------------------------------------------------------- */

static jv ls_run(jv req, jv rec, const struct fcm_principal *who)
{
	jv ds = fcm_domains_of(rec), out = jv_array();

	(void)req;
	(void)who;
	jv_array_foreach(ds, i, d) {
		const char *s = jv_string_value(d);
		jv o = jv_object_set(jv_object(), jv_string("vm"), jv_string(fcm_get_str(rec, "name")));
		o = jv_object_set(o, jv_string("domain"), jv_copy(d));
		o = jv_object_set(o, jv_string("url"), strncmp(s, "*.", 2) ? jv_string_fmt("https://%s", s) : jv_null());
		o = jv_object_set(o, jv_string("port"), port_of(rec));
		out = jv_array_append(out, o);
		jv_free(d);
		(void)i;
	}
	jv_free(ds);
	return out;
}

static void ls_print(jv reply, jv req)
{
	const char *vm = fcm_get_str(req, "vm");
	int n = jv_array_length(jv_copy(reply)), routed = 1;

	if (n == 0) {
		printf("%s has no custom domains; add one with 'fcm domains add %s DOMAIN'\n", vm, vm);
		return;
	}
	printf("%-40s  %s\n", "DOMAIN", "URL");
	jv_array_foreach(reply, i, o) {
		const char *url = fcm_get_str(o, "url");
		jv p = jv_object_get(jv_copy(o), jv_string("port"));
		routed = jv_get_kind(p) == JV_KIND_NUMBER;
		printf("%-40s  %s\n", fcm_get_str(o, "domain"), url ? url : "-");
		jv_free(p);
		jv_free(o);
		(void)i;
	}
	if (!routed)
		printf("(%s is not exposed: these domains answer once 'fcm expose %s PORT')\n", vm, vm);
}

/* --- add, rm ---------------------------------------------------------------- */

static jv change(jv req, jv rec, const struct fcm_principal *who, int add)
{
	const char *domain = fcm_get_str(req, "domain");
	int kind = 0, changed = 0;
	jv new = fcm_domains_change(rec, domain, add, who->admin ? NULL : who->name, &changed, &kind);

	if (!jv_is_valid(new))
		fcm_die_invalid(kind, new);
	new = jv_object_merge(jv_object_set(jv_object(), jv_string("ok"), jv_true()), new);
	new = jv_object_set(new, jv_string("domains"), fcm_domains_of(new));
	new = jv_object_set(new, jv_string("domain"), jv_string(domain));
	return jv_object_set(new, jv_string(add ? "added" : "removed"), jv_bool(changed));
}

static jv add_run(jv req, jv rec, const struct fcm_principal *who) { return change(req, rec, who, 1); }
static jv rm_run(jv req, jv rec, const struct fcm_principal *who) { return change(req, rec, who, 0); }

static void add_print(jv reply, jv req)
{
	const char *name = fcm_get_str(reply, "name"), *d = fcm_get_str(reply, "domain");
	jv added = jv_object_get(jv_copy(reply), jv_string("added")), port = port_of(reply);
	int wild = !strncmp(d, "*.", 2);

	(void)req;
	if (jv_get_kind(added) == JV_KIND_TRUE)
		printf("%s: domain %s added%s%s\n", name, d, wild ? "" : ": https://", wild ? "" : d);
	else
		printf("%s: domain %s was there already\n", name, d);
	if (jv_get_kind(port) != JV_KIND_NUMBER)
		printf("  (%s is not exposed: the domain answers once 'fcm expose %s PORT')\n", name, name);
	else if (jv_get_kind(added) == JV_KIND_TRUE)
		printf("  Point the name's DNS at this host: Caddy obtains its certificate once it resolves here.\n");
	jv_free(added);
	jv_free(port);
}

static void rm_print(jv reply, jv req)
{
	(void)req;
	printf("%s: domain %s removed\n", fcm_get_str(reply, "name"), fcm_get_str(reply, "domain"));
}

extern const struct fcm_cmd fcm_cmd_domains;

static const struct fcm_cmd domains_ls = {
	.name = "ls",
	.usage = "fcm domains [ls] [--json] [VM]",
	.flags = FCM_CMD_VM | FCM_CMD_NOWRITE,
	.routes = (const struct fcm_cmd_route[]){ { "GET", "/v1/vms/{vm}/domains", 0 }, { NULL } },
	.status = 200,
	.run = ls_run,
	.print = ls_print,
	.parent = &fcm_cmd_domains,
};

static const struct fcm_cmd domains_add = {
	.name = "add",
	.usage = "fcm domains add [--json] [VM] DOMAIN",
	.args = (const char *const[]){ "domain", NULL },
	.flags = FCM_CMD_VM,
	.routes = (const struct fcm_cmd_route[]){ { "POST", "/v1/vms/{vm}/domains", 0 }, { NULL } },
	.status = 200,
	.check = check_add,
	.run = add_run,
	.print = add_print,
	.parent = &fcm_cmd_domains,
};

static const struct fcm_cmd domains_rm = {
	.name = "rm",
	.usage = "fcm domains rm [--json] [VM] DOMAIN",
	.args = (const char *const[]){ "domain", NULL },
	.flags = FCM_CMD_VM,
	.routes = (const struct fcm_cmd_route[]){ { "DELETE", "/v1/vms/{vm}/domains/{domain}", 0 }, { NULL } },
	.status = 200,
	.check = check_rm,
	.run = rm_run,
	.print = rm_print,
	.parent = &fcm_cmd_domains,
};

const struct fcm_cmd fcm_cmd_domains = {
	.name = "domains",
	.summary = "serve a VM at domains of your own, over HTTPS",
	.usage = "fcm domains [ls] [--json] [VM] | fcm domains add [--json] [VM] DOMAIN | "
	    "fcm domains rm [--json] [VM] DOMAIN",
	.subs = (const struct fcm_cmd *const[]){ &domains_ls, &domains_add, &domains_rm, NULL },
	.dflt = &domains_ls,
};
