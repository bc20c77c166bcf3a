/* stateformat.h — the format of fcm's state files, and upgrades
 * (doc/state.md).
 *
 * FCM_STATE_FORMAT is the format this fcm reads and writes.  The state root
 * says its format in $FCM_ROOT/format (one line: the number); each JSON
 * state object carries it as "format" (fcm_state_stamp when it is written,
 * fcm_state_check when it is read).  State without a format is format 1,
 * the layout of fcm before formats.  A newer fcm migrates older state once,
 * at daemon start (fcm_state_migrate); state newer than this fcm is refused
 * with one line, changing nothing.
 *
 * A new kind of state file uses the two functions; a change of the format
 * of any file raises FCM_STATE_FORMAT and adds a step to the table of
 * stateformat.c. */
#ifndef FCM_STATEFORMAT_H
#define FCM_STATEFORMAT_H

#include <stddef.h>

#include <jv.h>

#define FCM_STATE_FORMAT 2

/* obj (a JSON object, consumed) with "format": FCM_STATE_FORMAT, to be
 * written.  Anything else is returned as it is. */
jv fcm_state_stamp(jv obj);

/* The format of a state object read from what (a path, for the message):
 * its "format", 1 without one.  When it is newer than this fcm, returns -1
 * with err "<what> is state format N, newer than this fcm's (M): upgrade
 * fcm"; a "format" that is not a whole number >= 1 is refused likewise. */
int fcm_state_check(jv obj, const char *what, char *err, size_t errlen);

/* The format of the state root: $FCM_ROOT/format; 1 when it has none but
 * holds state (vms/ or images/), FCM_STATE_FORMAT for an empty root; -1 with
 * err when the file is unreadable, not a number or newer than this fcm. */
int fcm_state_root_format(char *err, size_t errlen);

/* At daemon start (and fcm doctor): check every state file first — one
 * newer than this fcm, or a newer root, and it dies (kind conflict) having
 * changed nothing — then bring what is older up to FCM_STATE_FORMAT, one
 * file at a time, each written atomically, and write $FCM_ROOT/format last,
 * so an interrupted migration is simply done again.  Under the VM table
 * lock.  Returns the format it found (FCM_STATE_FORMAT: nothing to do). */
int fcm_state_migrate(void);

#endif
