/* dotfcm.h — which VM a porcelain command means.
 *
 * `fcm <cmd> [vm]`: vm is a name or an id; left out, it is read from the file
 * `.fcm` in the current directory (or a parent), which `fcm create` writes:
 *   {"name":"cosmic-nova","id":"8i5agfx2","host":"127.0.0.1:7777"} */
#ifndef FCM_DOTFCM_H
#define FCM_DOTFCM_H

#include <jv.h>

/* The name in the nearest .fcm (here or in a parent directory), as a jv
 * string; invalid with a message a person can act on when there is none. */
jv fcm_dotfcm_vm(void);
/* The record of the VM meant by arg (may be NULL).  Invalid with a message a
 * person can act on when there is none. */
jv fcm_vm_from_arg(const char *arg);
/* Write .fcm in the current directory for the record (atomic).  -1 on error. */
int fcm_dotfcm_write(jv rec);

#endif
