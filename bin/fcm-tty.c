/* fcm-tty — hold a terminal: run a command on a pty, serve it on a unix
 * socket, let clients attach and detach at will (doc/fcm-tty.md).
 *
 *   fcm-tty serve SOCKET [--log] [--scrollback BYTES] [--ready-fd FD]
 *                 [--rows R --cols C] [--wait-attach] -- COMMAND [ARG...]
 *   fcm-tty attach SOCKET [--read-only] [--hint TEXT]
 *   fcm-tty kill SOCKET [--signal SIG] [--timeout SECONDS]
 *   fcm-tty status SOCKET
 *
 * The server is one poll loop with a self-pipe for signals (as
 * s6-supervise); no threads.  The wire protocol is doc/tty-protocol.md. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/err.h"
#include "vm/expose.h"
#include "core/jsonl.h"
#include "core/run.h"
#include "tty/term.h"
#include "tty/ttyproto.h"
#include "tty/ttyscreen.h"
#include "tty/ttysock.h"

static const char usage[] =
    "fcm-tty serve SOCKET [--log] [--scrollback BYTES] [--ready-fd FD] [--rows R --cols C] [--wait-attach] -- COMMAND [ARG...]\n"
    "       fcm-tty attach SOCKET [--read-only] [--hint TEXT]\n"
    "       fcm-tty kill SOCKET [--signal SIG] [--timeout SECONDS]\n"
    "       fcm-tty status SOCKET";

#define CLIENTS_MAX 64
#define CLIENT_QUEUE_MAX (1024 * 1024)
#define PTYIN_MAX (64 * 1024)
#define LOG_QUEUE_MAX (256 * 1024)
#define HELLO_TIMEOUT_MS 10000
#define ATTACH_TIMEOUT_MS 60000	/* --wait-attach: the first client within */
#define SCROLLBACK_DEFAULT (256 * 1024)

/* --- small helpers -------------------------------------------------------- */

static int selfpipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int e = errno;
	unsigned char c = (unsigned char)sig;

	if (write(selfpipe[1], &c, 1) < 0) {
		/* full pipe: the loop will see an earlier byte */
	}
	errno = e;
}

static void selfpipe_init(const int *sigs, int n)
{
	struct sigaction sa;

	if (pipe2(selfpipe, O_CLOEXEC | O_NONBLOCK) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to make the self-pipe");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	for (int i = 0; i < n; i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			fcm_die_sys(FCM_E_INTERNAL, "unable to catch signal %d", sigs[i]);
	signal(SIGPIPE, SIG_IGN);
}

static void set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl >= 0)
		fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static long parse_num(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno || v < min || v > max)
		fcm_die(FCM_E_USAGE, "%s takes a whole number from %ld to %ld, not '%.32s'", opt, min, max, s);
	return v;
}

/* =========================================================================
 * serve
 * ========================================================================= */

struct client {
	int fd;
	int hello;		/* HELLO received */
	int mode;		/* FCM_TTY_MODE_* */
	int role;		/* FCM_TTY_ROLE_* */
	unsigned rows, cols;	/* its last known size (0: unknown) */
	unsigned long seq;	/* attach order */
	long since;		/* connect time, for the HELLO timeout */
	int resync;		/* its queue overflowed: redraw once drained */
	int closing;		/* send what is queued, then close */
	struct fcm_tty_buf in, out;
};

static struct {
	const char *sock;
	dev_t sock_dev;
	ino_t sock_ino;
	int lfd, master;
	pid_t child;
	int child_done, status;
	int pty_eof;
	struct fcm_tty_screen *screen;
	struct client *c[CLIENTS_MAX];
	int nc;
	unsigned long seq;
	struct client *writer;
	struct fcm_tty_buf ptyin;
	int log;
	struct fcm_tty_buf logq;
	unsigned long long log_dropped;
	unsigned rows, cols;
	/* --wait-attach: the command starts when the first typing client
	 * says HELLO (fcm run: none of its output can come before a client). */
	char **cmd;
	int slave;		/* kept until then */
	long started;		/* when serving began */
	int printed;		/* the command has written something */
} S;

static void remove_socket(void)
{
	struct stat st;

	if (S.sock && lstat(S.sock, &st) == 0 && st.st_dev == S.sock_dev && st.st_ino == S.sock_ino)
		unlink(S.sock);
}

static void client_close(struct client *c)
{
	int i;

	for (i = 0; i < S.nc && S.c[i] != c; i++)
		;
	if (i == S.nc)
		return;
	S.c[i] = S.c[--S.nc];
	close(c->fd);
	fcm_tty_buf_free(&c->in);
	fcm_tty_buf_free(&c->out);
	if (S.writer == c)
		S.writer = NULL;
	free(c);
}

static int client_alive(const struct client *c)
{
	for (int i = 0; i < S.nc; i++)
		if (S.c[i] == c)
			return 1;
	return 0;
}

static void client_error(struct client *c, const char *msg)
{
	size_t n = strlen(msg);

	if (n > FCM_TTY_ERROR_MAX)
		n = FCM_TTY_ERROR_MAX;
	fcm_tty_buf_frame(&c->out, FCM_TTY_ERROR, msg, n);
	c->closing = 1;
}

/* Queue a frame for c; on overflow, stop sending it live output and give it
 * a fresh redraw once its queue drains. */
static void client_send(struct client *c, int type, const void *p, size_t n)
{
	if (c->resync || c->closing)
		return;
	if (c->out.len > CLIENT_QUEUE_MAX) {
		c->resync = 1;
		return;
	}
	if (type == FCM_TTY_DATA ? fcm_tty_buf_data(&c->out, p, n) : fcm_tty_buf_frame(&c->out, type, p, n))
		c->resync = 1;
}

static void client_redraw(struct client *c)
{
	struct fcm_tty_buf b = { 0 };

	if (fcm_tty_screen_render(S.screen, &b) == 0)
		fcm_tty_buf_data(&c->out, b.p + b.off, b.len);
	fcm_tty_buf_free(&b);
}

static void pty_set_size(unsigned rows, unsigned cols)
{
	struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };

	ioctl(S.master, TIOCSWINSZ, &ws);
}

/* Apply the writer's size to the pty and the screen.  force: a full-screen
 * program gets a SIGWINCH (the size toggled) even when it does not change,
 * so that it redraws. */
static void apply_size(unsigned rows, unsigned cols, int force)
{
	if (!rows || !cols)
		return;
	if (rows != S.rows || cols != S.cols) {
		S.rows = rows;
		S.cols = cols;
		fcm_tty_screen_resize(S.screen, (int)rows, (int)cols);
		pty_set_size(rows, cols);
	} else if (force && fcm_tty_screen_altscreen(S.screen)) {
		pty_set_size(rows > 1 ? rows - 1 : rows + 1, cols);
		pty_set_size(rows, cols);
	}
}

static void set_role(struct client *c, int role)
{
	uint8_t r = (uint8_t)role;

	if (c->role == role)
		return;
	c->role = role;
	client_send(c, FCM_TTY_ROLE, &r, 1);
}

/* The writer left: the most recently attached interactive client types. */
static void elect_writer(void)
{
	struct client *best = NULL;

	for (int i = 0; i < S.nc; i++) {
		struct client *c = S.c[i];
		if (c->hello && !c->closing && c->mode == FCM_TTY_MODE_RW && (!best || c->seq > best->seq))
			best = c;
	}
	if (!best)
		return;
	S.writer = best;
	set_role(best, FCM_TTY_ROLE_WRITER);
	apply_size(best->rows, best->cols, 0);
}

static pid_t spawn(char **argv, int slave);

static void client_hello(struct client *c, const struct fcm_tty_frame *f)
{
	uint8_t w[FCM_TTY_HDR + 10];
	size_t n;

	if (f->version != FCM_TTY_VERSION) {
		char msg[128];
		snprintf(msg, sizeof msg, "protocol version %u is not supported: this server speaks %d",
		    f->version, FCM_TTY_VERSION);
		client_error(c, msg);
		return;
	}
	c->hello = 1;
	c->mode = (int)f->mode;
	c->rows = f->rows;
	c->cols = f->cols;
	c->seq = ++S.seq;
	c->role = FCM_TTY_ROLE_WATCHER;
	if (c->mode == FCM_TTY_MODE_RW) {
		if (S.writer && S.writer != c)
			set_role(S.writer, FCM_TTY_ROLE_WATCHER);
		S.writer = c;
		c->role = FCM_TTY_ROLE_WRITER;
		apply_size(c->rows, c->cols, 1);
		if (S.cmd && !S.child) {	/* --wait-attach: now, at the client's size */
			S.child = spawn(S.cmd, S.slave);
			close(S.slave);
			S.slave = -1;
		}
	}
	n = fcm_tty_encode_welcome(w, sizeof w, (unsigned)c->role, S.rows, S.cols, (uint32_t)S.child);
	fcm_tty_buf_put(&c->out, w, n);
	if (S.printed)	/* a command that wrote nothing has no screen to restore */
		client_redraw(c);
}

static void pty_input(struct client *c, const uint8_t *p, size_t n)
{
	if (c != S.writer || S.child_done)
		return;
	fcm_tty_buf_put(&S.ptyin, p, n);
}

/* Handle every complete frame in c's input.  -1: drop the client. */
static int client_frames(struct client *c)
{
	struct fcm_tty_frame f;
	const char *why;
	long k;

	while (c->in.len && !c->closing) {
		k = fcm_tty_decode(c->in.p + c->in.off, c->in.len, &f, &why);
		if (k == 0)
			return 0;
		if (k < 0) {
			char msg[160];
			snprintf(msg, sizeof msg, "protocol error: %s", why);
			client_error(c, msg);
			return 0;
		}
		if (!c->hello && f.type != FCM_TTY_HELLO) {
			client_error(c, "protocol error: the first frame must be HELLO");
			return 0;
		}
		switch (f.type) {
		case FCM_TTY_HELLO:
			if (c->hello)
				client_error(c, "protocol error: HELLO twice");
			else
				client_hello(c, &f);
			break;
		case FCM_TTY_DATA:
			pty_input(c, f.data, f.len);
			break;
		case FCM_TTY_RESIZE:
			c->rows = f.rows;
			c->cols = f.cols;
			if (c == S.writer)
				apply_size(f.rows, f.cols, 0);
			break;
		case FCM_TTY_DETACH:
			return -1;
		default:
			client_error(c, "protocol error: a server-to-client frame sent by a client");
			break;
		}
		fcm_tty_buf_eat(&c->in, (size_t)k);
	}
	return 0;
}

static void client_read(struct client *c)
{
	uint8_t buf[16384];
	ssize_t r = read(c->fd, buf, sizeof buf);

	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0) {
		int was_writer = c == S.writer;
		client_close(c);
		if (was_writer)
			elect_writer();
		return;
	}
	if (fcm_tty_buf_put(&c->in, buf, (size_t)r) < 0 || client_frames(c) < 0) {
		int was_writer = c == S.writer;
		client_close(c);
		if (was_writer)
			elect_writer();
	}
}

static void client_write(struct client *c)
{
	if (fcm_tty_buf_flush(&c->out, c->fd) < 0) {
		int was_writer = c == S.writer;
		client_close(c);
		if (was_writer)
			elect_writer();
		return;
	}
	if (!c->out.len && c->resync) {
		c->resync = 0;
		client_redraw(c);
	}
}

static void accept_clients(void)
{
	for (;;) {
		int fd = accept4(S.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				fcm_warn_sys("unable to accept a client");
			return;
		}
		if (S.nc == CLIENTS_MAX) {
			static const char msg[] = "too many clients attached to this session";
			uint8_t f[FCM_TTY_HDR + sizeof msg];
			size_t n = fcm_tty_encode(f, sizeof f, FCM_TTY_ERROR, msg, sizeof msg - 1);
			if (write(fd, f, n) < 0) {
				/* it goes away either way */
			}
			close(fd);
			continue;
		}
		c = calloc(1, sizeof *c);
		if (!c)
			fcm_die_nomem();
		c->fd = fd;
		c->since = fcm_now_ms();
		c->role = FCM_TTY_ROLE_WATCHER;
		S.c[S.nc++] = c;
	}
}

static void log_output(const uint8_t *p, size_t n)
{
	if (!S.log)
		return;
	if (S.logq.len + n > LOG_QUEUE_MAX) {
		S.log_dropped += n;
		return;
	}
	fcm_tty_buf_put(&S.logq, p, n);
}

static void log_flush(void)
{
	if (fcm_tty_buf_flush(&S.logq, 1) < 0) {
		fcm_warn_sys("unable to write the log to stdout; logging stops");
		S.log = 0;
		fcm_tty_buf_free(&S.logq);
		return;
	}
	if (!S.logq.len && S.log_dropped) {
		char note[128];
		int k = snprintf(note, sizeof note,
		    "\r\n[fcm-tty: %llu bytes of output not logged: the log reader was too slow]\r\n",
		    S.log_dropped);
		S.log_dropped = 0;
		fcm_tty_buf_put(&S.logq, note, (size_t)k);
	}
}

static void output(const uint8_t *p, size_t n)
{
	fcm_tty_screen_feed(S.screen, p, n);
	log_output(p, n);
	for (int i = 0; i < S.nc; i++)
		if (S.c[i]->hello)
			client_send(S.c[i], FCM_TTY_DATA, p, n);
}

/* Read what the pty has.  Returns bytes read, 0 at EOF/EAGAIN. */
static size_t pty_read(void)
{
	uint8_t buf[65536];
	ssize_t r = read(S.master, buf, sizeof buf);

	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (r <= 0) {	/* EIO: every slave fd is closed */
		S.pty_eof = 1;
		return 0;
	}
	S.printed = 1;
	output(buf, (size_t)r);
	return (size_t)r;
}

static void reap(void)
{
	int st;
	pid_t p;

	while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
		if (p != S.child)
			continue;
		S.child_done = 1;
		S.status = fcm_wait_code(st);
	}
}

/* Run the command on the pty, in a session of its own whose controlling
 * terminal the pty is. */
static pid_t spawn(char **argv, int slave)
{
	struct fcm_child c = { .argv = argv, .in = slave, .out = slave, .err = slave, .flags = FCM_CHILD_CTTY };
	int e;

	if (fcm_child_start(&c) < 0) {
		e = errno;
		remove_socket();
		fcm_die(e == ENOENT ? FCM_E_USAGE : FCM_E_INTERNAL, "unable to run %s: %s", argv[0], strerror(e));
	}
	return c.pid;
}

static void forward_signal(int sig)
{
	if (S.child > 0 && !S.child_done)
		kill(S.child, sig);
}

/* The command exited: send the last output, EXIT, flush (at most 2 s),
 * remove the socket and exit with its status. */
static _Noreturn void finish(void)
{
	uint8_t x[FCM_TTY_HDR + 4];
	size_t n;
	long deadline;

	if (!S.pty_eof)
		while (pty_read() > 0)
			;
	n = fcm_tty_encode_exit(x, sizeof x, (uint32_t)S.status);
	remove_socket();
	close(S.lfd);
	for (int i = 0; i < S.nc; i++) {
		struct client *c = S.c[i];
		c->resync = 0;
		if (c->hello)
			fcm_tty_buf_put(&c->out, x, n);
	}
	deadline = fcm_now_ms() + 2000;
	for (;;) {
		struct pollfd pfd[CLIENTS_MAX + 1];
		int np = 0;
		long left = deadline - fcm_now_ms();
		for (int i = 0; i < S.nc; i++)
			if (S.c[i]->out.len)
				pfd[np++] = (struct pollfd){ .fd = S.c[i]->fd, .events = POLLOUT };
		if (S.log && S.logq.len)
			pfd[np++] = (struct pollfd){ .fd = 1, .events = POLLOUT };
		if (!np || left <= 0)
			break;
		if (poll(pfd, (nfds_t)np, (int)left) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < S.nc; i++)
			if (S.c[i]->out.len && fcm_tty_buf_flush(&S.c[i]->out, S.c[i]->fd) < 0)
				fcm_tty_buf_clear(&S.c[i]->out);
		if (S.log && S.logq.len)
			log_flush();
	}
	for (int i = 0; i < S.nc; i++)
		close(S.c[i]->fd);
	exit(S.status);
}

static int serve(int argc, char **argv)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT };
	long scrollback = SCROLLBACK_DEFAULT, ready_fd = -1;
	unsigned rows = 24, cols = 80;
	char **cmd = NULL, err[512];
	int i, slave, wait_attach = 0;
	struct stat st;

	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--")) {
			cmd = argv + i + 1;
			break;
		} else if (!strcmp(a, "--log")) {
			S.log = 1;
		} else if (!strcmp(a, "--wait-attach")) {
			wait_attach = 1;
		} else if (!strcmp(a, "--scrollback") && i + 1 < argc) {
			scrollback = parse_num("--scrollback", argv[++i], 0, 64L * 1024 * 1024);
		} else if (!strcmp(a, "--ready-fd") && i + 1 < argc) {
			ready_fd = parse_num("--ready-fd", argv[++i], 3, 1023);
		} else if (!strcmp(a, "--rows") && i + 1 < argc) {
			rows = (unsigned)parse_num("--rows", argv[++i], 1, FCM_TTY_SIZE_MAX);
		} else if (!strcmp(a, "--cols") && i + 1 < argc) {
			cols = (unsigned)parse_num("--cols", argv[++i], 1, FCM_TTY_SIZE_MAX);
		} else if (a[0] == '-' && a[1]) {
			fcm_die(FCM_E_USAGE, "unknown option or missing value '%.64s'; usage: %s", a, usage);
		} else if (!S.sock) {
			S.sock = a;
		} else {
			cmd = argv + i;
			break;
		}
	}
	if (!S.sock || !cmd || !cmd[0])
		fcm_die(FCM_E_USAGE, "serve needs a SOCKET and a COMMAND; usage: %s", usage);
	fcm_set_instance(S.sock);

	selfpipe_init(sigs, (int)(sizeof sigs / sizeof sigs[0]));
	S.lfd = fcm_tty_listen(S.sock, err, sizeof err);
	if (S.lfd < 0)
		fcm_die(errno == EADDRINUSE || errno == EEXIST ? FCM_E_USAGE : FCM_E_INTERNAL, "%s", err);
	if (fstat(S.lfd, &st) == 0 && lstat(S.sock, &st) == 0) {
		S.sock_dev = st.st_dev;
		S.sock_ino = st.st_ino;
	}
	S.rows = rows;
	S.cols = cols;
	{
		struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
		if (openpty(&S.master, &slave, NULL, NULL, &ws) < 0) {
			remove_socket();
			fcm_die_sys(FCM_E_INTERNAL, "unable to open a pseudo-terminal");
		}
	}
	fcntl(S.master, F_SETFD, FD_CLOEXEC);
	fcntl(slave, F_SETFD, FD_CLOEXEC);
	{
		struct termios t;
		if (tcgetattr(slave, &t) == 0) {
			t.c_iflag |= IUTF8;
			tcsetattr(slave, TCSANOW, &t);
		}
	}
	S.screen = fcm_tty_screen_new((int)rows, (int)cols, (size_t)scrollback);
	if (!S.screen)
		fcm_die_nomem();
	S.started = fcm_now_ms();
	S.slave = -1;
	if (wait_attach) {
		S.cmd = cmd;
		S.slave = slave;
	} else {
		S.child = spawn(cmd, slave);
		close(slave);
	}
	set_nonblock(S.master);
	if (S.log)
		set_nonblock(1);
	if (ready_fd >= 0) {
		if (write((int)ready_fd, "\n", 1) < 0)
			fcm_warn_sys("unable to write to the readiness fd %ld", ready_fd);
		close((int)ready_fd);
	}

	for (;;) {
		struct pollfd pfd[CLIENTS_MAX + 4];
		struct client *pc[CLIENTS_MAX];
		int np = 0, ncl, ipipe, ilisten, imaster = -1, ilog = -1, timeout = -1;
		long t = fcm_now_ms();

		if (S.child_done)
			finish();
		if (S.cmd && !S.child) {	/* --wait-attach: nobody came */
			long left = S.started + ATTACH_TIMEOUT_MS - t;
			if (left <= 0) {
				remove_socket();
				fcm_die(FCM_E_UNAVAILABLE, "no client attached within %d s: the command was not run",
				    ATTACH_TIMEOUT_MS / 1000);
			}
			timeout = (int)left;
		}
		ipipe = np;
		pfd[np++] = (struct pollfd){ .fd = selfpipe[0], .events = POLLIN };
		ilisten = np;
		pfd[np++] = (struct pollfd){ .fd = S.lfd, .events = POLLIN };
		if (!S.pty_eof) {
			imaster = np;
			pfd[np++] = (struct pollfd){ .fd = S.master,
			    .events = (short)(POLLIN | (S.ptyin.len ? POLLOUT : 0)) };
		}
		if (S.log && S.logq.len) {
			ilog = np;
			pfd[np++] = (struct pollfd){ .fd = 1, .events = POLLOUT };
		}
		ncl = S.nc;
		for (i = 0; i < ncl; i++) {
			struct client *c = S.c[i];
			short ev = 0;
			if (!c->closing && !(c == S.writer && S.ptyin.len > PTYIN_MAX))
				ev |= POLLIN;
			if (c->out.len)
				ev |= POLLOUT;
			if (!c->hello) {
				long left = c->since + HELLO_TIMEOUT_MS - t;
				if (left < 0)
					left = 0;
				if (timeout < 0 || left < timeout)
					timeout = (int)left;
			}
			pc[i] = c;
			pfd[np++] = (struct pollfd){ .fd = c->fd, .events = ev };
		}
		if (poll(pfd, (nfds_t)np, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fcm_die_sys(FCM_E_INTERNAL, "poll");
		}
		if (pfd[ipipe].revents & POLLIN) {
			unsigned char sigbuf[64];
			ssize_t r;
			while ((r = read(selfpipe[0], sigbuf, sizeof sigbuf)) > 0)
				for (ssize_t k = 0; k < r; k++) {
					if (sigbuf[k] == SIGCHLD)
						reap();
					else
						forward_signal(sigbuf[k]);
				}
		}
		if (imaster >= 0) {
			if (pfd[imaster].revents & POLLOUT) {
				if (fcm_tty_buf_flush(&S.ptyin, S.master) < 0)
					fcm_tty_buf_clear(&S.ptyin);
			}
			if (pfd[imaster].revents & (POLLIN | POLLHUP | POLLERR))
				pty_read();
		}
		if (ilog >= 0 && pfd[ilog].revents)
			log_flush();
		for (i = 0; i < ncl; i++) {
			struct pollfd *p = &pfd[np - ncl + i];
			struct client *c = pc[i];
			if (!client_alive(c))
				continue;
			if (p->revents & POLLOUT)
				client_write(c);
			if (!client_alive(c))
				continue;
			if (p->revents & (POLLIN | POLLHUP | POLLERR))
				client_read(c);
			if (!client_alive(c))
				continue;
			if (c->closing && !c->out.len)
				client_close(c);
			else if (!c->hello && fcm_now_ms() - c->since >= HELLO_TIMEOUT_MS)
				client_close(c);
		}
		if (pfd[ilisten].revents & POLLIN)
			accept_clients();
		/* Write keystrokes now rather than a poll round later. */
		if (S.ptyin.len && !S.pty_eof && fcm_tty_buf_flush(&S.ptyin, S.master) < 0)
			fcm_tty_buf_clear(&S.ptyin);
		for (i = 0; i < S.nc; i++)
			if (S.c[i]->out.len)
				client_write(S.c[i]);
	}
}

/* =========================================================================
 * attach: the console loop of lib/tty/term on fcm-tty's frames
 * ========================================================================= */

static struct {
	int fd;
	struct fcm_tty_buf in, out;
	int greeted;		/* WELCOME came */
} A;

static void attach_input(void *ctx, const void *p, size_t n)
{
	(void)ctx;
	fcm_tty_buf_data(&A.out, p, n);
}

static void attach_resize(void *ctx, unsigned rows, unsigned cols)
{
	uint8_t f[FCM_TTY_HDR + 8];
	size_t n = fcm_tty_encode_resize(f, sizeof f, rows, cols);

	(void)ctx;
	fcm_tty_buf_put(&A.out, f, n);
}

static void attach_detach(void *ctx)
{
	(void)ctx;
	fcm_tty_buf_frame(&A.out, FCM_TTY_DETACH, NULL, 0);
}

static long attach_flush(void *ctx)
{
	(void)ctx;
	return fcm_tty_buf_flush(&A.out, A.fd) < 0 ? -1 : (long)A.out.len;
}

static void attach_recv(void *ctx)
{
	uint8_t buf[65536];
	ssize_t r = read(A.fd, buf, sizeof buf);
	struct fcm_tty_frame f;
	const char *why;
	long k;

	(void)ctx;
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (r <= 0)
		fcm_term_end(FCM_EXIT_TEMP, "[connection to the session lost%s]",
		    A.greeted ? "" : ": the server closed it before greeting");
	fcm_tty_buf_put(&A.in, buf, (size_t)r);
	while ((k = fcm_tty_decode(A.in.p + A.in.off, A.in.len, &f, &why)) > 0) {
		switch (f.type) {
		case FCM_TTY_WELCOME:
		case FCM_TTY_ROLE:
			A.greeted = 1;
			break;
		case FCM_TTY_DATA:
			fcm_term_output(f.data, f.len);
			break;
		case FCM_TTY_EXIT:
			fcm_term_exit(f.status);
		case FCM_TTY_ERROR:
			fcm_term_fail("the session refused us: %.*s", (int)f.len, (const char *)f.data);
		default:
			fcm_term_fail("protocol error: unexpected frame '%c'", f.type);
		}
		fcm_tty_buf_eat(&A.in, (size_t)k);
	}
	if (k < 0)
		fcm_term_fail("protocol error from the server: %s", why);
}

static int attach(int argc, char **argv)
{
	struct fcm_term_transport t = {
		.input = attach_input, .resize = attach_resize, .detach = attach_detach,
		.recv = attach_recv, .flush = attach_flush,
	};
	const char *sock = NULL, *hint = getenv("FCM_TTY_HINT");
	char how[1100], err[512];
	int ro = 0;
	unsigned rows, cols;
	uint8_t f[FCM_TTY_HDR + 16];

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--read-only") || !strcmp(a, "-r"))
			ro = 1;
		else if (!strcmp(a, "--hint") && i + 1 < argc)
			hint = argv[++i];
		else if (a[0] == '-' && a[1])
			fcm_die(FCM_E_USAGE, "unknown option or missing value '%.64s'; usage: %s", a, usage);
		else if (!sock)
			sock = a;
		else
			fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", a, usage);
	}
	if (!sock)
		fcm_die(FCM_E_USAGE, "attach needs a SOCKET; usage: %s", usage);
	if (hint && *hint)
		snprintf(how, sizeof how, "%s", hint);
	else
		snprintf(how, sizeof how, "fcm-tty attach %s", sock);

	A.fd = fcm_tty_connect(sock);
	if (A.fd < 0) {
		int e = errno;
		fcm_die(e == ENOENT || e == ECONNREFUSED || e == ENOTSOCK || e == ENAMETOOLONG ?
		    FCM_E_USAGE : FCM_E_INTERNAL, "%s", fcm_tty_connect_error(sock, e, err, sizeof err));
	}
	set_nonblock(A.fd);
	fcm_term_size(&rows, &cols);
	fcm_tty_buf_put(&A.out, f, fcm_tty_encode_hello(f, sizeof f, ro ? FCM_TTY_MODE_RO : FCM_TTY_MODE_RW, rows, cols));
	t.fd = A.fd;
	fcm_term_run(&t, how, ro);
}

/* =========================================================================
 * kill, status
 * ========================================================================= */

static int parse_signal(const char *s)
{
	static const struct { const char *name; int sig; } sigs[] = {
		{ "HUP", SIGHUP }, { "INT", SIGINT }, { "TERM", SIGTERM }, { "KILL", SIGKILL },
		{ "QUIT", SIGQUIT },
	};

	if (!strncmp(s, "SIG", 3))
		s += 3;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (!strcmp(s, sigs[i].name))
			return sigs[i].sig;
	return (int)parse_num("--signal", s, 1, NSIG - 1);
}

static int kill_cmd(int argc, char **argv)
{
	const char *sock = NULL;
	int sig = SIGHUP;
	long timeout = 5;
	struct stat st;

	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--signal") && i + 1 < argc)
			sig = parse_signal(argv[++i]);
		else if (!strcmp(a, "--timeout") && i + 1 < argc)
			timeout = parse_num("--timeout", argv[++i], 0, 3600);
		else if (a[0] == '-' && a[1])
			fcm_die(FCM_E_USAGE, "unknown option or missing value '%.64s'; usage: %s", a, usage);
		else if (!sock)
			sock = a;
		else
			fcm_die(FCM_E_USAGE, "unexpected argument '%.64s'; usage: %s", a, usage);
	}
	if (!sock)
		fcm_die(FCM_E_USAGE, "kill needs a SOCKET; usage: %s", usage);
	if (lstat(sock, &st) == 0 && !S_ISSOCK(st.st_mode))
		fcm_die(FCM_E_USAGE, "%s is not a session socket", sock);
	if (fcm_tty_kill(sock, sig, timeout * 1000) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to end the session at %s", sock);
	return 0;
}

static int status_cmd(int argc, char **argv)
{
	pid_t pid = 0;
	int r;
	jv out;

	if (argc != 1)
		fcm_die(FCM_E_USAGE, "status needs a SOCKET; usage: %s", usage);
	fcm_err_json(1);
	r = fcm_tty_probe(argv[0], &pid);
	if (r < 0) {
		char err[512];
		fcm_die(errno == ENOENT || errno == ENOTSOCK ? FCM_E_USAGE : FCM_E_INTERNAL, "%s",
		    fcm_tty_connect_error(argv[0], errno, err, sizeof err));
	}
	out = jv_object_set(fcm_ok(), jv_string("live"), jv_bool(r == 1));
	if (r == 1)
		out = jv_object_set(out, jv_string("pid"), jv_number(pid));
	if (fcm_jsonl_write(stdout, out) < 0)
		fcm_die_sys(FCM_E_INTERNAL, "unable to write to stdout");
	return r == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
	fcm_init(argv[0]);
	if (argc < 2)
		fcm_die_usage(usage);
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		printf("usage: %s\n", usage);
		return 0;
	}
	if (!strcmp(argv[1], "serve"))
		return serve(argc - 2, argv + 2);
	if (!strcmp(argv[1], "attach"))
		return attach(argc - 2, argv + 2);
	if (!strcmp(argv[1], "kill"))
		return kill_cmd(argc - 2, argv + 2);
	if (!strcmp(argv[1], "status"))
		return status_cmd(argc - 2, argv + 2);
	fcm_die(FCM_E_USAGE, "unknown command '%.64s'; usage: %s", argv[1], usage);
}
