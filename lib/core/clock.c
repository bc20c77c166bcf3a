/* clock.c — time as the poll loops count it (clock.h). */
#include <time.h>

#include "core/clock.h"

long fcm_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}
