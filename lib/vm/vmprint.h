/* vmprint.h — how VMs look to a person: the `fcm ls` table and the summary
 * `fcm create` prints.  Shared by the local commands and the remote client,
 * so both print the same thing.  (A pipe gets JSON lines instead.) */
#ifndef FCM_VMPRINT_H
#define FCM_VMPRINT_H

#include <stdio.h>

#include <jv.h>

/* Should output be a table/prose (stdout is a terminal and no --json)? */
int fcm_human_output(int json_flag);
/* The table: NAME STATE IP URL CPUS MEM DISK GIT AGE, one row per record of
 * the array (borrowed). */
void fcm_print_vm_table(FILE *f, jv records);
/* "VM created: <name>" with its URL, git remote and IP (borrowed). */
void fcm_print_created(FILE *f, jv rec);
/* "3m", "2h", "5d" since a unix time. */
void fcm_format_age(long long since, char *out, size_t outlen);

#endif
