/* termmodes.c — track the alternate screen; reset a terminal's modes. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tty/termmodes.h"

void fcm_termmodes_scan(struct fcm_termmodes *t, const void *data, size_t n)
{
	const char *p = data;
	char w[sizeof t->tail + 4096];
	size_t k = 0;

	/* Look at the bytes in chunks of 4 KiB, each after the tail of the
	 * previous, so that a sequence split anywhere is still seen. */
	do {
		size_t m = n > 4096 ? 4096 : n;
		memcpy(w, t->tail, t->ntail);
		memcpy(w + t->ntail, p, m);
		k = t->ntail + m;
		for (size_t i = 0; i + 4 < k; i++) {
			if (w[i] != '\033' || w[i + 1] != '[' || w[i + 2] != '?')
				continue;
			size_t j = i + 3;
			unsigned v = 0;
			while (j < k && w[j] >= '0' && w[j] <= '9' && v < 100000)
				v = v * 10 + (unsigned)(w[j++] - '0');
			if (j < k && (v == 1049 || v == 1047 || v == 47) && (w[j] == 'h' || w[j] == 'l'))
				t->altscreen = w[j] == 'h';
		}
		t->ntail = k < sizeof t->tail ? k : sizeof t->tail;
		memcpy(t->tail, w + k - t->ntail, t->ntail);
		p += m;
		n -= m;
	} while (n > 0);
}

void fcm_termmodes_reset(const struct fcm_termmodes *t, int fd)
{
	char buf[200];
	int n;

	if (!isatty(fd))
		return;
	n = snprintf(buf, sizeof buf, "%s\033[0m\0337\033[r\0338\033[?25h\033[?1l\033>\033[?2004l\033[?1000l\033[?1002l\033[?1003l\033[?1006l",
	    t->altscreen ? "\033[?1049l" : "");
	if (write(fd, buf, (size_t)n) < 0) {
		/* the terminal is gone: nothing to reset */
	}
}
