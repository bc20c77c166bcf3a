/* guestkey.h — the host's key into its guests: the ssh key pair with which
 * fcm logs in to every VM as root (fcm-deploy, fcm-console, the fcm-ssh
 * plugin), $FCM_ROOT/ssh/id_ed25519{,.pub}.  Its public half goes into each
 * VM disk's /root/.ssh/authorized_keys (fcm-disk create); `fcm keys guest`
 * prints it.  Not a VM's own ssh host key: fcm-disk makes one per VM. */
#ifndef FCM_GUESTKEY_H
#define FCM_GUESTKEY_H

#include <stddef.h>

/* The private key's path (malloc'd); the public half is beside it, + ".pub". */
char *fcm_guestkey_path(void);
/* The public key line (malloc'd, no newline), making the pair first when
 * there is none: once, under $FCM_ROOT/ssh/.lock, made beside and renamed
 * into place public half first, so that no reader ever sees half a key.
 * NULL with why on failure. */
char *fcm_guestkey(char *why, size_t whylen);
/* A new ed25519 key pair, no passphrase, at path (0600) and path.pub (0644):
 * the files `ssh-keygen -t ed25519 -N "" -C comment` writes, made without
 * it (lib/vm/keygen.c).  Not fsynced.  0, or -1 with why. */
int fcm_keygen(const char *path, const char *comment, char *why, size_t whylen);
/* The same pair as the two files' text (malloc'd, each ending in a newline;
 * clear *priv before freeing it).  0, or -1 with why. */
int fcm_keygen_text(const char *comment, char **priv, char **pub, char *why, size_t whylen);

/* --- each VM's own ssh host key, pinned ------------------------------------
 * fcm-disk makes a VM's host key; create records its public half in
 * vms/<id>/known_hosts as "fcm-<id> <key>" (0600), and every ssh from the
 * host into the guest checks it strictly under the alias fcm-<id>, so that
 * a guest answering with another key (another VM on its address, a swapped
 * disk) is refused. */

/* vms/<id>/known_hosts (malloc'd). */
char *fcm_hostkey_path(const char *id);
/* Record the VM's host key (an "ssh-ed25519 AAAA… comment" line): written
 * atomically, mode 0600.  0, or -1 with why. */
int fcm_hostkey_record(const char *id, const char *pubkey, char *why, size_t whylen);

#define FCM_GUEST_SSH_NOPTS 10
/* The ssh options that pin VM id's key: -o StrictHostKeyChecking=yes,
 * UserKnownHostsFile=<its known_hosts>, GlobalKnownHostsFile=/dev/null,
 * HostKeyAlias=fcm-<id>, CheckHostIP=no, in opts (NULL-terminated, the
 * strings malloc'd: fcm_guest_ssh_opts_free). */
void fcm_guest_ssh_opts(const char *id, char *opts[FCM_GUEST_SSH_NOPTS + 1]);
void fcm_guest_ssh_opts_free(char *opts[FCM_GUEST_SSH_NOPTS + 1]);
/* Is this a line ssh prints when it refuses the guest's host key (changed,
 * or none recorded)?  1 or 0. */
int fcm_hostkey_refusal(const char *line);
/* Ask the guest at ip for its ed25519 host key (ssh-keyscan, no login) and
 * compare it with the one recorded for VM id: 1 the same, 0 another, -1 no
 * answer (down, still booting), -2 none recorded (fcm_hostkey_unrecorded). */
int fcm_hostkey_check(const char *id, const char *ip);
/* NULL when VM id has a host key recorded; else the message saying so and
 * how to record it (malloc'd). */
char *fcm_hostkey_unrecorded(const char *name, const char *id);
/* Record the host key of a VM made before fcm recorded them, read from its
 * disk (debugfs, read-only; the key fcm-disk wrote in its upper layer).
 * 0 (recorded, or there was one), or -1 with why. */
int fcm_hostkey_adopt(const char *id, char *why, size_t whylen);
/* The message for that refusal, naming the VM (malloc'd). */
char *fcm_hostkey_refused(const char *name, const char *id);

#endif
