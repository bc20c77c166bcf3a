/* term.c — the terminal side of a console client (lib/tty/term.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "tty/term.h"
#include "tty/termmodes.h"
#include "tty/ttyproto.h"

#define QUEUED_MAX (256 * 1024)	/* stop reading keystrokes above this */
#define DRAIN_MS 1000		/* to send "detach" before leaving */

static struct {
	int active;		/* between start() and restore() */
	int raw;		/* stdin is a terminal we put in raw mode */
	struct termios saved;
	struct fcm_termmodes modes;	/* what the session did to the terminal */
	int selfpipe[2];
	int quiet;		/* a command's session: its end is its exit status only */
} T = { .selfpipe = { -1, -1 } };

void fcm_term_quiet(void)
{
	T.quiet = 1;
}

static void restore(void)
{
	if (!T.active)
		return;
	T.active = 0;
	fcm_termmodes_reset(&T.modes, 1);
	if (T.raw)
		tcsetattr(0, TCSADRAIN, &T.saved);
}

void fcm_term_end(int code, const char *fmt, ...)
{
	char msg[1200];
	va_list ap;

	restore();
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s%s\n", isatty(2) ? "\r\n" : "", msg);
	exit(code);
}

void fcm_term_fail(const char *fmt, ...)
{
	char msg[1100];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fcm_term_end(FCM_EXIT_TEMP, "%s: fatal: %s", fcm_prog, msg);
}

void fcm_term_exit(unsigned status)
{
	if (T.quiet) {
		restore();
		exit((int)status);
	}
	if (status > 128 && status < 128 + NSIG)
		fcm_term_end((int)status, "[session ended: the command was killed by signal %u]", status - 128);
	fcm_term_end((int)status, "[session ended: exit status %u]", status);
}

void fcm_term_output(const void *data, size_t n)
{
	const char *p = data;

	fcm_termmodes_scan(&T.modes, p, n);
	while (n) {
		ssize_t w = write(1, p, n);
		if (w < 0 && errno == EAGAIN) {
			struct pollfd pfd = { .fd = 1, .events = POLLOUT };
			poll(&pfd, 1, 1000);
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			fcm_term_fail("unable to write to stdout: %s", strerror(w < 0 ? errno : EIO));
		p += w;
		n -= (size_t)w;
	}
}

void fcm_term_size(unsigned *rows, unsigned *cols)
{
	struct winsize ws;

	*rows = *cols = 0;
	if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col &&
	    ws.ws_row <= FCM_TTY_SIZE_MAX && ws.ws_col <= FCM_TTY_SIZE_MAX) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	if (write(T.selfpipe[1], &c, 1) < 0) {
		/* full: the loop will see an earlier byte */
	}
	errno = e;
}

static void start(void)
{
	static const int sigs[] = { SIGWINCH, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	struct sigaction sa;

	if (pipe2(T.selfpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make the self-pipe");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to catch signal %d", sigs[i]);
	signal(SIGPIPE, SIG_IGN);
	T.active = 1;
	atexit(restore);	/* every way out puts the terminal back */
	if (isatty(0) && tcgetattr(0, &T.saved) == 0) {
		struct termios raw = T.saved;
		cfmakeraw(&raw);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		T.raw = 1;
		tcsetattr(0, TCSADRAIN, &raw);
	}
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Say "detach", give it DRAIN_MS to go out, and end: sig 0 for Ctrl-]. */
static _Noreturn void detach(const struct fcm_term_transport *t, const char *how, int sig)
{
	long end = now_ms() + DRAIN_MS, left;

	t->detach(t->ctx);
	while ((left = t->flush(t->ctx)) > 0 && now_ms() < end) {
		struct pollfd p = { .fd = t->fd, .events = POLLOUT };
		poll(&p, 1, 100);
	}
	if (sig)
		fcm_term_end(128 + sig, "[detached by SIG%s — reattach with: %s]", sigabbrev_np(sig), how);
	fcm_term_end(0, "[detached — reattach with: %s]", how);
}

void fcm_term_run(const struct fcm_term_transport *t, const char *how, int read_only)
{
	int in_open = 1;
	long queued;

	start();
	if ((queued = t->flush(t->ctx)) < 0)
		fcm_term_end(FCM_EXIT_TEMP, "[connection to the session lost]");
	for (;;) {
		struct pollfd p[3] = {
			{ .fd = T.selfpipe[0], .events = POLLIN },
			{ .fd = t->fd, .events = (short)(POLLIN | (queued ? POLLOUT : 0)) },
			{ .fd = 0, .events = POLLIN },
		};
		int reading = in_open && queued < QUEUED_MAX;

		if (poll(p, reading ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			fcm_term_fail("poll: %s", strerror(errno));
		}
		if (p[0].revents & POLLIN) {
			unsigned char sigs[32];
			ssize_t r = read(T.selfpipe[0], sigs, sizeof sigs);
			for (ssize_t k = 0; k < r; k++) {
				unsigned rows, cols;
				if (sigs[k] != SIGWINCH)
					detach(t, how, sigs[k]);
				fcm_term_size(&rows, &cols);
				if (rows)
					t->resize(t->ctx, rows, cols);
			}
		}
		if (reading && p[2].revents) {
			uint8_t buf[4096];
			ssize_t r = read(0, buf, sizeof buf);
			if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
				in_open = 0;	/* no more input: keep showing output */
			} else if (r > 0) {
				uint8_t *d = memchr(buf, FCM_TERM_DETACH_KEY, (size_t)r);
				size_t k = d ? (size_t)(d - buf) : (size_t)r;
				if (k && !read_only)
					t->input(t->ctx, buf, k);
				if (d)
					detach(t, how, 0);
			}
		}
		if (p[1].revents & (POLLIN | POLLHUP | POLLERR))
			t->recv(t->ctx);
		/* now, rather than a poll round later */
		if ((queued = t->flush(t->ctx)) < 0)
			fcm_term_end(FCM_EXIT_TEMP, "[connection to the session lost]");
	}
}
