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
/* A new ed25519 key pair, no passphrase, at path and path.pub.  0, or -1
 * with why (ssh-keygen's reason). */
int fcm_keygen(const char *path, const char *comment, char *why, size_t whylen);

#endif
