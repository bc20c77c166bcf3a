/* expose.h — the public side of a VM: its public IP, domain and URL.
 *
 * An exposed VM is reachable at https://<name>.<base>, where <base> is
 * $FCM_DOMAIN when set (a DNS name), else <public-ip-with-dashes>.sslip.io.
 * The public IP is $FCM_PUBLIC_IP (an IPv4 address) when set, else the
 * address of the interface holding the default IPv4 route (read from
 * /proc/net/route and getifaddrs: nothing is sent), else 127.0.0.1 with a
 * warning.  Caddy (fcm-proxy) routes <domain> to <vm-ip>:<port>.
 *
 * In the VM record:
 *   "expose": {"port":8000,"domain":"cosmic-nova.64-34-93-45.sslip.io"} | null
 *   "url":    "https://cosmic-nova.64-34-93-45.sslip.io" | null */
#ifndef FCM_EXPOSE_H
#define FCM_EXPOSE_H

#include <stddef.h>

#include <jv.h>

#define FCM_PORT_DEFAULT 8000
#define FCM_DOMAIN_MAX 253

/* Parse a TCP port, 1-65535, from text ("8000").  0, or -1 with a sentence
 * in err ("port must be a whole number from 1 to 65535, not 'abc'"). */
int fcm_port_parse(const char *s, long *out, char *err, size_t errlen);
/* Is s a DNS name (labels of a-z 0-9 '-', 1-63 each, not starting or ending
 * with '-', at most 253 in all)?  0, or -1 with the reason in why. */
int fcm_domain_check(const char *s, char *why, size_t whylen);
/* The public IPv4 address into out (16 bytes).  0, or -1 with the reason in
 * err when $FCM_PUBLIC_IP is set but not an IPv4 address. */
int fcm_public_ip(char out[16], char *err, size_t errlen);
/* The base domain: $FCM_DOMAIN (lower-cased, checked) or
 * <ip-with-dashes>.sslip.io.  malloc'd, or NULL with the reason in err. */
char *fcm_expose_base(char *err, size_t errlen);
/* <name>.<base> (malloc'd), or NULL with the reason in err (bad name, bad
 * FCM_DOMAIN or FCM_PUBLIC_IP, too long). */
char *fcm_expose_domain(const char *name, char *err, size_t errlen);
/* {"expose":{"port":port,"domain":"<name>.<base>"},"url":"https://<domain>"}
 * to merge into a VM record; jv_invalid_with_msg on a bad name, port or
 * setting. */
jv fcm_expose_new(const char *name, long port);
/* The record rec (consumed) with "expose" and "url" set for port, or both
 * null when port is 0; jv_invalid_with_msg on error (rec freed). */
jv fcm_expose_apply(jv rec, long port);
/* Expose port of the VM whose record is rec (borrowed; 0 = unexpose) and
 * load the routes into Caddy: under the VM table lock, reload the record,
 * set "expose" and "url", write it atomically, run `fcm-proxy sync`.  When
 * the sync fails (Caddy not running, or refusing), the record is written
 * back as it was, so record and Caddy agree and previous routes keep
 * working.  Returns the new record, or jv_invalid_with_msg with *code set to
 * its kind (core/err.h). */
jv fcm_expose_change(jv rec, long port, int *code);
/* Write a VM's record new (borrowed) and load the routes into Caddy
 * (fcm-proxy sync); when the sync fails, write old (borrowed) back, so that
 * record and Caddy agree.  Call under the VM table lock.  Returns a copy of
 * new, or jv_invalid_with_msg with *code set to its kind. */
jv fcm_vm_save_routed(jv old, jv new, int *code);
/* Load every exposed VM into Caddy: runs `fcm-proxy sync` and returns its
 * reply ({"ok":true,"changed":true|false,"routes":N} or {"ok":false,...}). */
jv fcm_proxy_sync(void);

#endif
