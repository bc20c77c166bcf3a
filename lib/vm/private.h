/* private.h — tenant data is root's alone (doc/isolation.md): the VMs'
 * directories, records, logs, disks and host keys (vms/), the git repos
 * (git/), the host's key into its guests and the push keys (ssh/), the
 * admin token.  fcm makes them 0700 (directories) and 0600 (files); the
 * daemon checks at start what an older fcm or a hand left open. */
#ifndef FCM_PRIVATE_H
#define FCM_PRIVATE_H

/* Take every group and other permission bit away from $FCM_ROOT/.token,
 * vms/, git/, ssh/, each entry in them, and each entry of a VM's directory,
 * warning once per path fixed.  Symbolic links are left alone.  Returns the
 * number of paths fixed. */
int fcm_private_fix(void);

#endif
