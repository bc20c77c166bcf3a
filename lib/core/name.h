/* name.h — VM names and ids.
 *
 * A name is a DNS label (it becomes <name>.<domain> and the git repo
 * <name>.git): 1-63 of a-z, 0-9 and '-', not starting or ending with '-'.
 * An id is 8 characters of a-z0-9, random, and names the VM's directory. */
#ifndef FCM_NAME_H
#define FCM_NAME_H

#include <stddef.h>

#define FCM_NAME_MAX 63
#define FCM_ID_LEN 8

/* 0 when s is a valid name; else -1 with the reason in why. */
int fcm_name_check(const char *s, char *why, size_t whylen);
int fcm_id_check(const char *s);
/* An owner: "admin", a user id, or an e-mail address: 1-128 of letters,
 * digits and ._-@+, not starting with '-' or '.'.  0, or -1 with why. */
int fcm_owner_check(const char *s, char *why, size_t whylen);
/* A fresh random id (not checked against existing VMs). */
void fcm_id_new(char id[FCM_ID_LEN + 1]);

#endif
