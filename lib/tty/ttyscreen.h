/* ttyscreen.h — what a terminal session looks like now, for reattach.
 *
 * Every byte the program writes is fed to a libvterm terminal emulator; the
 * lines that scroll off the top are kept, rendered as text with colours, up
 * to a byte budget.  fcm_tty_screen_render() gives the bytes that make a
 * fresh terminal of the same size look the same: the kept scrollback lines,
 * enough newlines to push them (and whatever the terminal showed) into its
 * history, a clear, every screen line at its place, the alternate screen
 * when the program is in it, the cursor and the current pen. */
#ifndef FCM_TTYSCREEN_H
#define FCM_TTYSCREEN_H

#include <stddef.h>

#include "tty/ttyproto.h"

struct fcm_tty_screen;

/* NULL on allocation failure. */
struct fcm_tty_screen *fcm_tty_screen_new(int rows, int cols, size_t scrollback_bytes);
void fcm_tty_screen_feed(struct fcm_tty_screen *s, const void *data, size_t n);
void fcm_tty_screen_resize(struct fcm_tty_screen *s, int rows, int cols);
/* Is the program in the alternate screen (a full-screen program)? */
int fcm_tty_screen_altscreen(const struct fcm_tty_screen *s);
/* Append the redraw to out.  -1 on allocation failure. */
int fcm_tty_screen_render(struct fcm_tty_screen *s, struct fcm_tty_buf *out);

#endif
