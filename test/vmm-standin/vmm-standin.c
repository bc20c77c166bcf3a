/* vmm-standin — NOT Firecracker, and not its test double: a stand-in for
 * scale benchmarks (bench/scale) that boots no guest at all.
 *
 *   vmm-standin --api-sock PATH [--config-file FILE] [other Firecracker flags]
 *   vmm-standin --version
 *
 * It takes Firecracker's command line as fcm-fc gives it, serves the few
 * calls of Firecracker's API (v1.7, /work/shared/firecracker/…yaml) that fcm
 * makes on its unix socket — GET / (InstanceInfo), PUT /actions
 * (SendCtrlAltDel: the "guest" shuts down and it exits 0, as Firecracker
 * does), PATCH /vm (Paused/Resumed) — and answers anything else 400 with a
 * fault_message.  It dies of SIGTERM and SIGINT as Firecracker does.  So
 * hundreds of "VMs" cost fcm what real ones would (supervision, logs,
 * driver, console holder) and the host almost nothing.  For what a guest
 * does, use test/firecracker (the double), never this. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define CLIENTS 16

struct client {
	int fd;
	size_t len;
	char buf[8192];
};

static const char *state = "Running";

static void reply(int fd, int status, const char *body)
{
	char head[256];
	const char *what = status == 200 ? "OK" : status == 204 ? "No Content" : "Bad Request";
	size_t blen = body ? strlen(body) : 0;
	int n = snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nServer: Firecracker API\r\nConnection: keep-alive\r\n"
	    "%sContent-Length: %zu\r\n\r\n", status, what, blen ? "Content-Type: application/json\r\n" : "", blen);

	if (write(fd, head, (size_t)n) < 0 || (blen && write(fd, body, blen) < 0))
		return;
}

static void fault(int fd, const char *msg)
{
	char b[512];

	snprintf(b, sizeof b, "{\"fault_message\":\"%s\"}", msg);
	reply(fd, 400, b);
}

/* One request (head and body complete): 1 answered, 0 answered and exit. */
static int handle(int fd, const char *method, const char *path, const char *body)
{
	char info[256];

	if (!strcmp(method, "GET") && !strcmp(path, "/")) {
		snprintf(info, sizeof info, "{\"id\":\"anonymous-instance\",\"state\":\"%s\",\"vmm_version\":\"1.7.0\",\"app_name\":\"Firecracker\"}",
		    state);
		reply(fd, 200, info);
	} else if (!strcmp(method, "PUT") && !strcmp(path, "/actions")) {
		if (!strstr(body, "\"SendCtrlAltDel\"")) {
			fault(fd, "vmm-standin: only SendCtrlAltDel is stood in for");
			return 1;
		}
		reply(fd, 204, NULL);
		return 0;	/* the "guest" shuts down: Firecracker exits 0 */
	} else if (!strcmp(method, "PATCH") && !strcmp(path, "/vm")) {
		if (strstr(body, "\"Paused\""))
			state = "Paused";
		else if (strstr(body, "\"Resumed\""))
			state = "Running";
		else {
			fault(fd, "Invalid VM state");
			return 1;
		}
		reply(fd, 204, NULL);
	} else {
		fault(fd, "vmm-standin: not stood in for (use the test double, test/firecracker)");
	}
	return 1;
}

/* Answer every complete request in c's buffer.  -1: close it; 0: exit. */
static int serve(struct client *c)
{
	for (;;) {
		char *end = memmem(c->buf, c->len, "\r\n\r\n", 4), method[16], path[256];
		size_t head, clen = 0;
		const char *cl;

		if (!end)
			return c->len >= sizeof c->buf - 1 ? -1 : 1;
		head = (size_t)(end - c->buf) + 4;
		c->buf[head - 1] = '\0';
		if (sscanf(c->buf, "%15s %255s", method, path) != 2)
			return -1;
		cl = strcasestr(c->buf, "\r\nContent-Length:");
		if (cl)
			clen = strtoul(cl + 17, NULL, 10);
		if (head + clen >= sizeof c->buf)
			return -1;
		if (c->len < head + clen) {
			c->buf[head - 1] = '\n';
			return 1;
		}
		char body[8192];
		memcpy(body, c->buf + head, clen);
		body[clen] = '\0';
		if (!handle(c->fd, method, path, body))
			return 0;
		memmove(c->buf, c->buf + head + clen, c->len - head - clen);
		c->len -= head + clen;
	}
}

int main(int argc, char **argv)
{
	const char *sock = NULL;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct client cl[CLIENTS];
	int lfd, n = 0;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--version")) {
			printf("Firecracker v1.7.0\n\n");
			return 0;
		}
		if (!strcmp(argv[i], "--api-sock") && i + 1 < argc)
			sock = argv[++i];
	}
	if (!sock || strlen(sock) >= sizeof sa.sun_path) {
		fprintf(stderr, "vmm-standin: --api-sock PATH is needed\n");
		return 1;
	}
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0) {
		fprintf(stderr, "vmm-standin: unable to serve %s: %s\n", sock, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	printf("vmm-standin: no guest boots here (a stand-in for scale benchmarks)\n");
	fflush(stdout);
	for (;;) {
		struct pollfd p[CLIENTS + 1];
		p[0] = (struct pollfd){ .fd = lfd, .events = n < CLIENTS ? POLLIN : 0 };
		for (int i = 0; i < n; i++)
			p[i + 1] = (struct pollfd){ .fd = cl[i].fd, .events = POLLIN };
		if (poll(p, (nfds_t)n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (int i = n - 1; i >= 0; i--) {
			ssize_t r;
			int keep;
			if (!p[i + 1].revents)
				continue;
			r = read(cl[i].fd, cl[i].buf + cl[i].len, sizeof cl[i].buf - 1 - cl[i].len);
			keep = r > 0;
			if (keep) {
				cl[i].len += (size_t)r;
				keep = serve(&cl[i]);
				if (keep == 0) {
					unlink(sock);
					return 0;
				}
				keep = keep > 0;
			}
			if (!keep) {
				close(cl[i].fd);
				cl[i] = cl[--n];
			}
		}
		if (p[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0) {
				cl[n].fd = fd;
				cl[n++].len = 0;
			}
		}
	}
}
