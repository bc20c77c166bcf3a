/* client.h — the one client of fcm's HTTP API (placeholder until merged). */
#ifndef FCM_CLIENT_H
#define FCM_CLIENT_H

#include <jv.h>

void fcm_client_setup(int need_token);
const char *fcm_client_host(void);
long fcm_client_request(const char *method, const char *path, const char *body, int out_fd, jv *reply);
int fcm_client_kind_of_status(long status);

#endif
