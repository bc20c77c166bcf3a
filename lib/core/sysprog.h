/* sysprog.h — a system program run for its effect (mkfs.ext4, ssh-keygen),
 * through core/run: looked up in /usr/sbin and /sbin first (they are not on
 * every user's PATH), and when it fails, the reason it gave kept for our own
 * error message. */
#ifndef FCM_SYSPROG_H
#define FCM_SYSPROG_H

#include <stddef.h>

/* Run argv (argv[0] a program name) with an empty stdin.  0 when it exits 0;
 * else -1 with why: the last line it wrote (stderr first), else its exit
 * status or signal, else why it could not start. */
int fcm_sysprog(char *argv[], char *why, size_t whylen);

#endif
