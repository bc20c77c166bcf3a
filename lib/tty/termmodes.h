/* termmodes.h — what a program in a session did to the user's terminal, and
 * undoing it on detach: the alternate screen (tracked from the output, also
 * across reads that split an escape sequence), cursor, colours, mouse,
 * bracketed paste, application keys, scroll region.  For lib/tty/term, the
 * terminal side of both console clients (fcm-tty attach, the remote
 * fcm console). */
#ifndef FCM_TERMMODES_H
#define FCM_TERMMODES_H

#include <stddef.h>

struct fcm_termmodes {
	int altscreen;		/* the program switched to its alternate screen */
	char tail[8];		/* last bytes seen, for sequences split across reads */
	size_t ntail;
};

/* Look at output on its way to the terminal: ESC [ ? 1049|1047|47 h|l. */
void fcm_termmodes_scan(struct fcm_termmodes *t, const void *p, size_t n);
/* Put the terminal on fd back to normal, if it is a terminal. */
void fcm_termmodes_reset(const struct fcm_termmodes *t, int fd);

#endif
