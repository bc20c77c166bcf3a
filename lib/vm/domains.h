/* domains.h — a VM's custom domains (doc/fcm-domains.md).
 *
 * Besides its generated name (<name>.<base>, expose.h), an exposed VM may be
 * reached at names its owner brings: the record's
 *   "domains": ["www.example.com", "example.com"]
 * (absent or [] when none).  fcm-proxy routes each of them, like the
 * generated name, to <vm-ip>:<expose.port> with a certificate of its own;
 * a VM that is not exposed keeps its domains but has no route.
 *
 * A name belongs to one VM at a time: it is added under the VM table lock
 * after looking at every other record, so two adds of one name at once
 * cannot both win.  Names under the host's own base domain are fcm's (the
 * generated names, fcm.<base> for the API), never a custom domain.
 * Wildcards (*.example.com) only when the host's admin allows them
 * (FCM_DOMAINS_WILDCARD=1); a wildcard and a name it covers cannot belong
 * to two VMs.  How many one VM may have: FCM_DOMAINS_MAX (default 20). */
#ifndef FCM_DOMAINS_H
#define FCM_DOMAINS_H

#include <stddef.h>

#include <jv.h>

#define FCM_DOMAINS_DEFAULT_MAX 20
#define FCM_DOMAINS_LIMIT 1000	/* the most FCM_DOMAINS_MAX may say */

/* A host name Caddy may route: a DNS name (expose.h's fcm_domain_check), or
 * one of the form *.<name> with at least two labels after the '*'.  0, or -1
 * with the reason in why. */
int fcm_host_check(const char *host, char *why, size_t whylen);
/* Does pattern (a name or *.<name>) match host (a name or *.<name>), or
 * host match pattern?  "*.example.com" and "www.example.com" do;
 * "*.example.com" and "a.b.example.com" or "example.com" do not (a wildcard
 * is one label, as in Caddy and in certificates). */
int fcm_hosts_overlap(const char *a, const char *b);
/* A domain as a user gave it, made canonical into out (outlen at least
 * FCM_DOMAIN_MAX + 2): ASCII lower-cased, one trailing dot dropped, and
 * checked by fcm_host_check.  0, or -1 with one sentence in why. */
int fcm_domain_canon(const char *in, char *out, size_t outlen, char *why, size_t whylen);
/* fcm_domain_canon, then the rules for a new custom domain: a valid host name with at least one dot, not an IP address,
 * a wildcard only with FCM_DOMAINS_WILDCARD=1, not the base domain nor a
 * name directly under it (fcm's own), nor FCM_API_HOST.  0, or -1 with one sentence in why
 * (kind usage). */
int fcm_custom_domain(const char *in, char *out, size_t outlen, char *why, size_t whylen);
/* The most custom domains one VM may have: FCM_DOMAINS_MAX (1 to
 * FCM_DOMAINS_LIMIT), default FCM_DOMAINS_DEFAULT_MAX.  -1 with the reason
 * in why when it is set badly. */
long fcm_domains_max(char *why, size_t whylen);
/* The record's (borrowed) custom domains: a new array, [] when none. */
jv fcm_domains_of(jv rec);
/* Add (add = 1) or remove the canonical domain (fcm_custom_domain) of the
 * VM whose record is rec (borrowed): under the VM table lock, reload the
 * record, check that no other VM's name overlaps (kind conflict; the other
 * VM is named only when viewer is NULL, an admin, or owns it) and the
 * bound (kind forbidden), write the record atomically and run
 * `fcm-proxy sync`; when the sync fails the record is written back as it
 * was.  Adding a name the VM has, or removing one it has not (kind
 * not_found), changes nothing: *changed says whether anything did.
 * Returns the new record, or jv_invalid_with_msg with *code set to its kind. */
jv fcm_domains_change(jv rec, const char *domain, int add, const char *viewer, int *changed, int *code);

#endif
