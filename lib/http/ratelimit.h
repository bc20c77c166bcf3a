/* ratelimit.h — how often one client address may make requests that carry
 * no token (GET /v1/auth/config, POST /v1/auth/device and /v1/auth/login):
 * a token bucket per address, `burst` requests at once and `per_minute`
 * more each minute.  The table holds FCM_RATELIMIT_ADDRS addresses; when
 * it is full the one seen longest ago is forgotten.  Pure: the API's poll
 * loop passes the time. */
#ifndef FCM_RATELIMIT_H
#define FCM_RATELIMIT_H

#define FCM_RATELIMIT_ADDRS 4096

/* Set the rates (defaults: 30 a minute, bursts of 30). */
void fcm_ratelimit_init(unsigned per_minute, unsigned burst);
/* One request from addr (text, e.g. "127.0.0.1") at now_ms: 0 when it may
 * go on, else how many seconds until it may (at least 1). */
long fcm_ratelimit_take(const char *addr, long now_ms);

#endif
