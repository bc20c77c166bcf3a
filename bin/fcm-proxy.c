/* fcm-proxy — the HTTPS routes of exposed VMs, in Caddy (doc/fcm-proxy.md).
 *
 *   fcm-proxy sync        make Caddy's routes exactly those of the VM records
 *   fcm-proxy routes      the routes Caddy has loaded for fcm
 *   fcm-proxy status      is Caddy reachable, and are its routes up to date?
 *   fcm-proxy render      the full Caddy config for the records (no Caddy needed)
 *   fcm-proxy bootstrap   write that config to $FCM_ROOT/caddy/caddy.json, for
 *                         the caddy service to start from (s6/caddy/run)
 *   fcm-proxy ca          the root certificate of Caddy's internal CA (PEM)
 *
 * Every exposed VM (record field "expose": {"port":P,"domain":D}) becomes one
 * route of Caddy's server "fcm": host D and the VM's custom domains (record
 * field "domains", lib/vm/domains.h) -> reverse_proxy <vm-ip>:P, with
 * automatic HTTPS (Let's Encrypt, or Caddy's internal CA with FCM_TLS=internal).
 * The config is computed whole from the records and loaded with one POST /load
 * (atomic in Caddy: all or nothing); only fcm's parts of Caddy's config are
 * replaced (server "fcm", the TLS policy "@id":"fcm-tls", the API route), and
 * when the result equals what Caddy runs, nothing is loaded.  No text is ever
 * edited, so no route can be stale or duplicated. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/caddy.h"
#include "core/err.h"
#include "core/atomic.h"
#include "vm/domains.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/lock.h"
#include "core/name.h"
#include "core/paths.h"
#include "vm/svc.h"
#include "vm/vm.h"

static const char usage[] = "fcm-proxy sync|routes|status|render|bootstrap|ca";

#define SERVER "fcm"
#define TLS_ID "fcm-tls"

static const struct fcm_field no_fields[] = {
	{ "op", JV_KIND_STRING, 1 },
	{ NULL, 0, 0 },
};

static jv path2(const char *a, const char *b)
{
	return JV_ARRAY(jv_string(a), jv_string(b));
}

/* --- settings --------------------------------------------------------------- */

struct settings {
	int internal;		/* FCM_TLS=internal */
	const char *email;	/* FCM_ACME_EMAIL or NULL */
	const char *ca;		/* FCM_ACME_CA or NULL */
	const char *listen;	/* FCM_CADDY_LISTEN, default :443 */
	char api_host[300];	/* fcm.<base> (or FCM_API_HOST) when FCM_PUBLISH_API=1, else "" */
	const char *api_dial;	/* FCM_API_ADDR, default 127.0.0.1:7777 */
};

static int plain(const char *s, size_t max)
{
	if (strlen(s) > max)
		return 0;
	for (; *s; s++)
		if (*s <= ' ' || *s >= 0x7f || *s == '"' || *s == '\\' || *s == '{' || *s == '}')
			return 0;
	return 1;
}

static const char *env(const char *k)
{
	const char *v = getenv(k);

	return v && *v ? v : NULL;
}

/* Read and check the settings; NULL reply on success, else the failure. */
static jv settings_get(struct settings *s)
{
	const char *tls = env("FCM_TLS"), *pub = env("FCM_PUBLISH_API");
	char err[512];

	memset(s, 0, sizeof *s);
	if (!tls || !strcmp(tls, "acme"))
		s->internal = 0;
	else if (!strcmp(tls, "internal"))
		s->internal = 1;
	else
		return fcm_fail(FCM_E_USAGE, "FCM_TLS must be 'acme' (Let's Encrypt, the default) or 'internal' (Caddy's own CA), not '%.64s'", tls);
	s->email = env("FCM_ACME_EMAIL");
	if (s->email && (!plain(s->email, 254) || !strchr(s->email, '@')))
		return fcm_fail(FCM_E_USAGE, "FCM_ACME_EMAIL must be an email address, not '%.64s'", s->email);
	s->ca = env("FCM_ACME_CA");
	if (s->ca && (!plain(s->ca, 512) || strncmp(s->ca, "https://", 8)))
		return fcm_fail(FCM_E_USAGE, "FCM_ACME_CA must be an https:// ACME directory URL, not '%.64s'", s->ca);
	s->listen = env("FCM_CADDY_LISTEN");
	if (!s->listen)
		s->listen = ":443";
	else if (!plain(s->listen, 128) || !strchr(s->listen, ':'))
		return fcm_fail(FCM_E_USAGE, "FCM_CADDY_LISTEN must be a Caddy listen address such as ':443', not '%.64s'", s->listen);
	if (pub && strcmp(pub, "0")) {
		const char *host = env("FCM_API_HOST");
		if (host) {	/* the API's (and dashboard's) own name, doc/web.md */
			if (fcm_domain_check(host, err, sizeof err) < 0)
				return fcm_fail(FCM_E_USAGE, "FCM_API_HOST: %s", err);
			snprintf(s->api_host, sizeof s->api_host, "%s", host);
		} else {
			char *base = fcm_expose_base(err, sizeof err);
			if (!base)
				return fcm_fail(FCM_E_USAGE, "%s", err);
			snprintf(s->api_host, sizeof s->api_host, "fcm.%s", base);
			free(base);
		}
		s->api_dial = env("FCM_API_ADDR");
		if (!s->api_dial)
			s->api_dial = "127.0.0.1:7777";
		else if (!plain(s->api_dial, 128) || !strchr(s->api_dial, ':'))
			return fcm_fail(FCM_E_USAGE, "FCM_API_ADDR must be HOST:PORT, not '%.64s'", s->api_dial);
	}
	return jv_null();
}

/* --- the desired routes --------------------------------------------------------- */

/* The route of hosts (consumed: an array of names) to dial.  hold: a VM
 * that suspends itself when idle (doc/snapshots.md) is woken by the
 * request's first packet; Caddy holds the request, dialling again every
 * 250 ms, for FCM_WAKE_TIMEOUT seconds (60) instead of failing at once. */
static jv proxy_route(const char *id, jv hosts, const char *dial, int hold)
{
	jv upstream = jv_object_set(jv_object(), jv_string("dial"), jv_string(dial));
	jv handler = jv_object_set(jv_object_set(jv_object(), jv_string("handler"), jv_string("reverse_proxy")),
	    jv_string("upstreams"), JV_ARRAY(upstream));
	if (hold) {
		const char *e = getenv("FCM_WAKE_TIMEOUT");
		long s = e && *e ? strtol(e, NULL, 10) : 0;
		char *d = fcm_asprintf("%lds", s > 0 && s <= 3600 ? s : 60);
		handler = jv_object_set(handler, jv_string("load_balancing"), jv_object_set(jv_object_set(jv_object(),
		    jv_string("try_duration"), jv_string(d)), jv_string("try_interval"), jv_string("250ms")));
		free(d);
	}
	jv match = jv_object_set(jv_object(), jv_string("host"), hosts);
	jv r = jv_object();

	r = jv_object_set(r, jv_string("@id"), jv_string(id));
	r = jv_object_set(r, jv_string("match"), JV_ARRAY(match));
	r = jv_object_set(r, jv_string("handle"), JV_ARRAY(handler));
	return jv_object_set(r, jv_string("terminal"), jv_true());
}

/* The page Caddy gives when the upstream does not answer (502), for hosts
 * (consumed: an array of names). */
static jv error_route(jv hosts, const char *text)
{
	jv headers = jv_object_set(jv_object(), jv_string("Content-Type"),
	    JV_ARRAY(jv_string("text/plain; charset=utf-8")));
	jv handler = jv_object();
	jv match = jv_object_set(jv_object(), jv_string("host"), hosts);

	handler = jv_object_set(handler, jv_string("handler"), jv_string("static_response"));
	handler = jv_object_set(handler, jv_string("status_code"), jv_string("{http.error.status_code}"));
	handler = jv_object_set(handler, jv_string("headers"), headers);
	handler = jv_object_set(handler, jv_string("body"), jv_string(text));
	return jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("match"), JV_ARRAY(match)),
	    jv_string("handle"), JV_ARRAY(handler)), jv_string("terminal"), jv_true());
}

static int ipv4(const char *s)
{
	struct in_addr a;

	return s && strlen(s) <= 15 && inet_pton(AF_INET, s, &a) == 1;
}

/* Does a host of hosts (borrowed) overlap host (a name, or *.name)? */
static int taken(jv hosts, const char *host)
{
	int hit = 0;

	jv_array_foreach(hosts, i, h) {
		hit = hit || fcm_hosts_overlap(jv_string_value(h), host);
		jv_free(h);
		(void)i;
	}
	return hit;
}

struct desired {
	jv routes;	/* server routes */
	jv errors;	/* error routes */
	jv hosts;	/* every host, for the TLS policy */
};

/* Every exposed VM's route, from the records.  A record that cannot be
 * routed is skipped with a warning: one bad record must not take every
 * other VM's route down. */
static struct desired desired_get(const struct settings *s)
{
	struct desired d = { jv_array(), jv_array(), jv_array() };
	jv list = fcm_vm_list();
	char why[512];

	if (s->api_host[0]) {
		d.routes = jv_array_append(d.routes, proxy_route("fcm-api", JV_ARRAY(jv_string(s->api_host)), s->api_dial, 0));
		d.errors = jv_array_append(d.errors, error_route(JV_ARRAY(jv_string(s->api_host)),
		    "The fcm API is not running on this host.\n"));
		d.hosts = jv_array_append(d.hosts, jv_string(s->api_host));
	}
	jv_array_foreach(list, i, rec) {
		const char *id = fcm_get_str(rec, "id"), *name = fcm_get_str(rec, "name");
		const char *ip = fcm_get_str(rec, "ip"), *domain;
		jv e = jv_object_get(jv_copy(rec), jv_string("expose"));
		long port;

		if (jv_get_kind(e) != JV_KIND_OBJECT)
			goto next;
		/* A VM being made or taken apart has no route: its address may be
		 * given back at any moment (lib/vm/lifecycle.h). */
		const char *state = fcm_get_str(rec, "state");
		if (state && (!strcmp(state, "creating") || !strcmp(state, "destroying")))
			goto next;
		domain = fcm_get_str(e, "domain");
		if (!name || fcm_name_check(name, why, sizeof why) < 0) {
			fcm_warn("VM %s: not routed: its record has no valid name", id ? id : "?");
			goto next;
		}
		if (fcm_get_int(e, "port", 1, 65535, &port, why, sizeof why) != 1) {
			fcm_warn("VM %s: not routed: expose.port must be a whole number from 1 to 65535", name);
			goto next;
		}
		if (!domain || fcm_domain_check(domain, why, sizeof why) < 0) {
			fcm_warn("VM %s: not routed: expose.domain: %s", name, domain ? why : "missing");
			goto next;
		}
		if (!ipv4(ip)) {
			fcm_warn("VM %s: not routed: it has no IPv4 address yet", name);
			goto next;
		}
		if (taken(d.hosts, domain)) {
			fcm_warn("VM %s: not routed: domain %s is already routed to another VM", name, domain);
			goto next;
		}
		/* Its hosts: the generated name, then its custom domains
		 * (lib/vm/domains.h) that no VM before it has. */
		jv hosts = JV_ARRAY(jv_string(domain)), ds = fcm_domains_of(rec);
		jv_array_foreach(ds, j, dj) {
			const char *h = jv_string_value(dj);
			if (fcm_host_check(h, why, sizeof why) < 0)
				fcm_warn("VM %s: domain not routed: %s", name, why);
			else if (taken(d.hosts, h) || taken(hosts, h))
				fcm_warn("VM %s: domain %s not routed: it is routed to another VM", name, h);
			else
				hosts = jv_array_append(hosts, jv_copy(dj));
			jv_free(dj);
			(void)j;
		}
		jv_free(ds);
		char *rid = fcm_asprintf("fcm-vm-%s", id);
		char *dial = fcm_asprintf("%s:%ld", ip, port);
		char *text = fcm_asprintf("VM %s is not running, or nothing answers on its port %ld yet.\n"
		    "Start it with 'fcm start %s'; see 'fcm logs %s'.\n", name, port, name, name);
		jv idle = jv_object_get(jv_copy(rec), jv_string("idle_suspend"));
		int hold = jv_get_kind(idle) == JV_KIND_NUMBER && jv_number_value(idle) > 0;
		jv_free(idle);
		d.routes = jv_array_append(d.routes, proxy_route(rid, jv_copy(hosts), dial, hold));
		d.errors = jv_array_append(d.errors, error_route(jv_copy(hosts), text));
		d.hosts = jv_array_concat(d.hosts, hosts);
		free(rid);
		free(dial);
		free(text);
next:
		jv_free(e);
		jv_free(rec);
	}
	jv_free(list);
	return d;
}

/* --- merging fcm's parts into Caddy's config -------------------------------- */

/* Delete the object at path when it exists and is empty. */
static jv prune(jv cfg, jv path)
{
	jv v = jv_getpath(jv_copy(cfg), jv_copy(path));
	int empty = jv_get_kind(v) == JV_KIND_OBJECT && jv_object_length(jv_copy(v)) == 0;

	jv_free(v);
	if (empty)
		cfg = jv_delpaths(cfg, JV_ARRAY(jv_copy(path)));
	jv_free(path);
	return cfg;
}

static jv tls_policy(const struct settings *s, jv hosts)
{
	jv issuer = jv_object(), p = jv_object();

	if (s->internal) {
		issuer = jv_object_set(issuer, jv_string("module"), jv_string("internal"));
	} else {
		issuer = jv_object_set(issuer, jv_string("module"), jv_string("acme"));
		if (s->ca)
			issuer = jv_object_set(issuer, jv_string("ca"), jv_string(s->ca));
		if (s->email)
			issuer = jv_object_set(issuer, jv_string("email"), jv_string(s->email));
	}
	p = jv_object_set(p, jv_string("@id"), jv_string(TLS_ID));
	p = jv_object_set(p, jv_string("subjects"), hosts);
	p = jv_object_set(p, jv_string("issuers"), JV_ARRAY(issuer));
	/* Internal certificates have no OCSP responder: nothing to fetch. */
	if (s->internal)
		p = jv_object_set(p, jv_string("disable_ocsp_stapling"), jv_true());
	return p;
}

/* cfg (consumed: Caddy's current config, or null) with fcm's parts replaced
 * by d (consumed).  Idempotent: merging the result again gives it back. */
static jv merge(jv cfg, struct desired d, const struct settings *s)
{
	jv servers_fcm = JV_ARRAY(jv_string("apps"), jv_string("http"), jv_string("servers"), jv_string(SERVER));
	jv policies_path = JV_ARRAY(jv_string("apps"), jv_string("tls"), jv_string("automation"), jv_string("policies"));
	jv policies, kept = jv_array();
	int any = jv_array_length(jv_copy(d.routes)) > 0;

	if (jv_get_kind(cfg) != JV_KIND_OBJECT) {
		jv_free(cfg);
		cfg = jv_object();
	}
	/* The server. */
	if (any) {
		jv srv = jv_object();
		srv = jv_object_set(srv, jv_string("listen"), JV_ARRAY(jv_string(s->listen)));
		srv = jv_object_set(srv, jv_string("routes"), d.routes);
		srv = jv_object_set(srv, jv_string("errors"),
		    jv_object_set(jv_object(), jv_string("routes"), d.errors));
		cfg = jv_setpath(cfg, servers_fcm, srv);
	} else {
		jv_free(d.routes);
		jv_free(d.errors);
		cfg = jv_delpaths(cfg, JV_ARRAY(servers_fcm));
	}
	/* The TLS policy for fcm's hosts, first so that it wins. */
	policies = jv_getpath(jv_copy(cfg), jv_copy(policies_path));
	if (jv_get_kind(policies) == JV_KIND_ARRAY) {
		jv_array_foreach(policies, i, p) {
			const char *pid = jv_get_kind(p) == JV_KIND_OBJECT ? fcm_get_str(p, "@id") : NULL;
			if (pid && !strcmp(pid, TLS_ID))
				jv_free(p);
			else
				kept = jv_array_append(kept, p);
		}
	}
	jv_free(policies);
	if (any)
		kept = jv_array_concat(JV_ARRAY(tls_policy(s, d.hosts)), kept);
	else
		jv_free(d.hosts);
	if (jv_array_length(jv_copy(kept)) > 0)
		cfg = jv_setpath(cfg, jv_copy(policies_path), kept);
	else {
		jv_free(kept);
		cfg = jv_delpaths(cfg, JV_ARRAY(jv_copy(policies_path)));
	}
	jv_free(policies_path);
	/* Never let Caddy install its root certificate into this host's trust store. */
	cfg = jv_setpath(cfg, JV_ARRAY(jv_string("apps"), jv_string("pki"), jv_string("certificate_authorities"),
	    jv_string("local"), jv_string("install_trust")), jv_false());
	/* No empty objects left behind. */
	cfg = prune(cfg, JV_ARRAY(jv_string("apps"), jv_string("http"), jv_string("servers")));
	cfg = prune(cfg, path2("apps", "http"));
	cfg = prune(cfg, JV_ARRAY(jv_string("apps"), jv_string("tls"), jv_string("automation")));
	cfg = prune(cfg, path2("apps", "tls"));
	return cfg;
}

/* --- talking to Caddy --------------------------------------------------------- */

/* Caddy's running config (null when it has none); invalid with a message
 * when Caddy cannot be reached or answers badly. */
/* Caddy's whole config; invalid with an error reply (its kind says whether
 * Caddy is not running) as the message. */
static jv caddy_config(void)
{
	char err[1024], *resp;
	long st = fcm_caddy_request("GET", "/config/", NULL, &resp, err, sizeof err);
	jv cfg;

	if (st < 0)
		return jv_invalid_with_msg(fcm_error_reply(st == -2 ? FCM_E_UNAVAILABLE : FCM_E_INTERNAL, err));
	if (st != 200) {
		jv r = jv_invalid_with_msg(jv_string_fmt("Caddy's admin API at %s answered GET /config/ with HTTP %ld: %.200s",
		    fcm_caddy_admin(), st, resp));
		free(resp);
		return r;
	}
	cfg = jv_parse(resp);
	free(resp);
	if (!jv_is_valid(cfg)) {
		jv_free(cfg);
		return jv_invalid_with_msg(jv_string_fmt("Caddy's admin API at %s gave a config that is not JSON",
		    fcm_caddy_admin()));
	}
	return cfg;
}

/* The reply for an invalid (its message a string, or an error reply). */
static jv fail_msg(int kind, jv invalid)
{
	jv msg = jv_invalid_get_msg(invalid);
	jv r;

	if (jv_get_kind(msg) == JV_KIND_OBJECT) {
		r = fcm_fail(fcm_kind_parse(fcm_get_str(msg, "kind")), "%s", fcm_reply_error(msg));
	} else {
		r = fcm_fail(kind, "%s", jv_get_kind(msg) == JV_KIND_STRING ? jv_string_value(msg) : "unknown error");
	}
	jv_free(msg);
	return r;
}

/* The error Caddy gave in a response body ({"error":"..."}), or the body. */
static char *caddy_error(const char *resp)
{
	jv v = jv_parse(resp);
	const char *e = jv_is_valid(v) && jv_get_kind(v) == JV_KIND_OBJECT ? fcm_get_str(v, "error") : NULL;
	char *r = fcm_asprintf("%.400s", e ? e : resp);

	jv_free(v);
	return r;
}

static jv summary(jv reply, jv cfg)
{
	jv routes = jv_getpath(cfg, JV_ARRAY(jv_string("apps"), jv_string("http"), jv_string("servers"),
	    jv_string(SERVER), jv_string("routes")));
	jv out = jv_array();

	if (jv_get_kind(routes) == JV_KIND_ARRAY) {
		jv_array_foreach(routes, i, r) {
			jv hosts = jv_getpath(jv_copy(r), JV_ARRAY(jv_string("match"), jv_number(0), jv_string("host")));
			jv host = jv_get_kind(hosts) == JV_KIND_ARRAY ? jv_array_get(jv_copy(hosts), 0) : jv_invalid();
			jv dial = jv_getpath(jv_copy(r), JV_ARRAY(jv_string("handle"), jv_number(0), jv_string("upstreams"),
			    jv_number(0), jv_string("dial")));
			const char *rid = jv_get_kind(r) == JV_KIND_OBJECT ? fcm_get_str(r, "@id") : NULL;
			jv o = jv_object();
			o = jv_object_set(o, jv_string("host"), jv_get_kind(host) == JV_KIND_STRING ? host : jv_null());
			o = jv_object_set(o, jv_string("upstream"), jv_get_kind(dial) == JV_KIND_STRING ? dial : jv_null());
			/* every host of the route: the generated name, then custom domains */
			o = jv_object_set(o, jv_string("hosts"), jv_get_kind(hosts) == JV_KIND_ARRAY ? hosts : (jv_free(hosts), jv_array()));
			if (rid && !strncmp(rid, "fcm-vm-", 7))
				o = jv_object_set(o, jv_string("vm"), jv_string(rid + 7));
			else if (rid && !strcmp(rid, "fcm-api"))
				o = jv_object_set(o, jv_string("api"), jv_true());
			out = jv_array_append(out, o);
			jv_free(r);
		}
	}
	jv_free(routes);
	return jv_object_set(reply, jv_string("routes"), out);
}

/* --- operations --------------------------------------------------------------- */

static jv check_fields(jv req)
{
	char err[512];

	if (fcm_fields_check(req, no_fields, err, sizeof err) < 0)
		return fcm_fail(FCM_E_USAGE, "%s", err);
	return jv_null();
}

static jv rendered(struct settings *s)
{
	char err[512], *listen = fcm_caddy_listen(err, sizeof err);
	jv base;

	if (!listen)
		return jv_invalid_with_msg(jv_string(err));
	base = jv_object_set(jv_object(), jv_string("admin"),
	    jv_object_set(jv_object(), jv_string("listen"), jv_string(listen)));
	free(listen);
	return merge(base, desired_get(s), s);
}

static jv op_render(jv req)
{
	struct settings s;
	jv r = check_fields(req), cfg;

	if (jv_get_kind(r) == JV_KIND_NULL)
		r = settings_get(&s);
	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	cfg = rendered(&s);
	if (!jv_is_valid(cfg))
		return fail_msg(FCM_E_USAGE, cfg);
	return jv_object_set(fcm_ok(), jv_string("config"), cfg);
}

static jv op_bootstrap(jv req)
{
	struct settings s;
	jv r = check_fields(req), cfg;
	char *dir, *path;

	if (jv_get_kind(r) == JV_KIND_NULL)
		r = settings_get(&s);
	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	cfg = rendered(&s);
	if (!jv_is_valid(cfg))
		return fail_msg(FCM_E_USAGE, cfg);
	dir = fcm_path("caddy");
	path = fcm_path("caddy/caddy.json");
	if (fcm_mkdirs(dir, 0700) < 0 || fcm_write_json_atomic(path, cfg, 0600) < 0)
		r = fcm_fail(FCM_E_INTERNAL, "unable to write %s: %s", path, strerror(errno));
	else
		r = jv_object_set(fcm_ok(), jv_string("config"), jv_string(path));
	free(dir);
	free(path);
	return r;
}

static jv op_sync(jv req)
{
	struct settings s;
	jv r = check_fields(req), cur, want;
	char *lockpath, *dir, err[1024], *resp = NULL, *body;
	int fd;
	long st;

	if (jv_get_kind(r) == JV_KIND_NULL)
		r = settings_get(&s);
	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	if (!(body = fcm_caddy_listen(err, sizeof err)))
		return fcm_fail(FCM_E_USAGE, "%s", err);
	free(body);
	/* One sync at a time: each reads Caddy's config and replaces it whole. */
	dir = fcm_path("proxy");
	lockpath = fcm_path("proxy/.lock");
	if (fcm_mkdirs(dir, 0755) < 0 || (fd = fcm_lock(lockpath, 1)) < 0) {
		r = fcm_fail(FCM_E_INTERNAL, "unable to lock %s: %s", lockpath, strerror(errno));
		free(dir);
		free(lockpath);
		return r;
	}
	free(dir);
	free(lockpath);
	cur = caddy_config();
	if (!jv_is_valid(cur)) {
		fcm_unlock(fd);
		return fail_msg(FCM_E_INTERNAL, cur);
	}
	want = merge(jv_copy(cur), desired_get(&s), &s);
	if (jv_equal(jv_copy(cur), jv_copy(want))) {
		jv_free(cur);
		fcm_unlock(fd);
		return summary(jv_object_set(fcm_ok(), jv_string("changed"), jv_false()), want);
	}
	jv_free(cur);
	jv dumped = jv_dump_string(jv_copy(want), 0);
	body = fcm_strdup(jv_string_value(dumped));
	jv_free(dumped);
	st = fcm_caddy_request("POST", "/load", body, &resp, err, sizeof err);
	free(body);
	fcm_unlock(fd);
	if (st < 0) {
		jv_free(want);
		return fcm_fail(st == -2 ? FCM_E_UNAVAILABLE : FCM_E_INTERNAL, "%s", err);
	}
	if (st != 200) {
		char *why = caddy_error(resp);
		r = fcm_fail(st >= 500 ? FCM_E_INTERNAL : FCM_E_USAGE,
		    "Caddy refused the new routes (HTTP %ld: %s); it keeps the previous ones", st, why);
		free(why);
		free(resp);
		jv_free(want);
		return r;
	}
	free(resp);
	return summary(jv_object_set(fcm_ok(), jv_string("changed"), jv_true()), want);
}

static jv op_routes(jv req)
{
	jv r = check_fields(req), cur;

	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	cur = caddy_config();
	if (!jv_is_valid(cur))
		return fail_msg(FCM_E_INTERNAL, cur);
	return summary(fcm_ok(), cur);
}

static jv op_status(jv req)
{
	struct settings s;
	jv r = check_fields(req), cur, want;

	if (jv_get_kind(r) == JV_KIND_NULL)
		r = settings_get(&s);
	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	r = jv_object_set(fcm_ok(), jv_string("admin"), jv_string(fcm_caddy_admin()));
	r = jv_object_set(r, jv_string("tls"), jv_string(s.internal ? "internal" : "acme"));
	cur = caddy_config();
	if (!jv_is_valid(cur)) {
		jv msg = jv_invalid_get_msg(cur);
		r = jv_object_set(r, jv_string("running"), jv_false());
		return jv_object_set(r, jv_string("why"), msg);
	}
	r = jv_object_set(r, jv_string("running"), jv_true());
	want = merge(jv_copy(cur), desired_get(&s), &s);
	r = jv_object_set(r, jv_string("in_sync"), jv_bool(jv_equal(jv_copy(cur), want)));
	return summary(r, cur);
}

static jv op_ca(jv req)
{
	jv r = check_fields(req), v;
	char err[1024], *resp;
	long st;

	if (jv_get_kind(r) != JV_KIND_NULL)
		return r;
	st = fcm_caddy_request("GET", "/pki/ca/local", NULL, &resp, err, sizeof err);
	if (st < 0)
		return fcm_fail(FCM_E_INTERNAL, "%s", err);
	v = jv_parse(resp);
	if (st != 200 || !jv_is_valid(v) || jv_get_kind(v) != JV_KIND_OBJECT || !fcm_get_str(v, "root_certificate")) {
		char *why = caddy_error(resp);
		r = fcm_fail(FCM_E_INTERNAL, "Caddy has no internal CA to show (HTTP %ld: %s)", st, why);
		free(why);
	} else {
		r = jv_object_set(fcm_ok(), jv_string("root"), jv_string(fcm_get_str(v, "root_certificate")));
	}
	jv_free(v);
	free(resp);
	return r;
}

int main(int argc, char **argv)
{
	static const struct fcm_op ops[] = {
		{ "sync", op_sync },
		{ "routes", op_routes },
		{ "status", op_status },
		{ "render", op_render },
		{ "bootstrap", op_bootstrap },
		{ "ca", op_ca },
		{ NULL, NULL },
	};

	fcm_init(argv[0]);
	return fcm_serve(argc, argv, ops, usage);
}
