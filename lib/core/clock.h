/* clock.h — time as the poll loops count it. */
#ifndef FCM_CLOCK_H
#define FCM_CLOCK_H

/* Milliseconds on CLOCK_MONOTONIC: for timeouts and durations, never dates. */
long fcm_now_ms(void);

#endif
