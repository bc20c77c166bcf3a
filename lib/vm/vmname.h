/* vmname.h — fresh VM names: <adjective>-<noun>, from 100 adjectives x 100
 * nouns (space, tech and nature words) = 10,000 (doc/fcm-name.md). */
#ifndef FCM_VMNAME_H
#define FCM_VMNAME_H

#include <stddef.h>

/* How many names there are. */
size_t fcm_vm_names_total(void);
/* A fresh name in out (outlen >= FCM_NAME_MAX + 1): every combination is
 * tried once, from a random start with a random stride, until one for which
 * taken(name, arg) says 0.  0, or -1 when every one is taken.  Dies when
 * the system gives no random bytes. */
int fcm_vm_name_fresh(char *out, size_t outlen, int (*taken)(const char *name, void *arg), void *arg);

#endif
