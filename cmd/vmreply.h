/* vmreply.h — the answer of commands that change a VM's state (start,
 * stop, destroy): {"ok":true,"id","name","state"}, printed for a person as
 * "VM <name>: <state>". */
#ifndef FCM_VMREPLY_H
#define FCM_VMREPLY_H

#include <jv.h>

/* The reply for the VM of rec (borrowed) now in state. */
jv fcm_vm_reply(jv rec, const char *state);
/* "VM <name>: <state>" (a struct fcm_cmd print function). */
void fcm_vm_reply_print(jv reply, jv req);

#endif
