/* ratelimit.c — token buckets per client address (lib/http/ratelimit.h). */
#include <string.h>

#include "http/ratelimit.h"

struct bucket {
	char addr[64];		/* "" when free */
	double tokens;
	long last_ms;
};

static struct bucket table[FCM_RATELIMIT_ADDRS];
static double rate_per_ms = 30.0 / 60000.0, burst = 30;

void fcm_ratelimit_init(unsigned per_minute, unsigned b)
{
	rate_per_ms = (double)per_minute / 60000.0;
	burst = b ? b : 1;
	memset(table, 0, sizeof table);
}

long fcm_ratelimit_take(const char *addr, long now_ms)
{
	struct bucket *b = NULL, *victim = NULL;

	if (!addr || !*addr)
		addr = "?";
	for (size_t i = 0; i < FCM_RATELIMIT_ADDRS && !b; i++) {
		struct bucket *t = &table[i];
		if (t->addr[0] && !strcmp(t->addr, addr))
			b = t;
		else if (!victim || (victim->addr[0] && (!t->addr[0] || t->last_ms < victim->last_ms)))
			victim = t;	/* a free slot, else the one seen longest ago */
	}
	if (!b) {
		b = victim;
		memset(b, 0, sizeof *b);
		strncpy(b->addr, addr, sizeof b->addr - 1);
		b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		b->tokens += (double)(now_ms - b->last_ms) * rate_per_ms;
		if (b->tokens > burst)
			b->tokens = burst;
		b->last_ms = now_ms;
	}
	if (b->tokens >= 1) {
		b->tokens -= 1;
		return 0;
	}
	if (rate_per_ms <= 0)
		return 60;
	long wait = (long)((1 - b->tokens) / rate_per_ms / 1000) + 1;
	return wait;
}
