/* fcm.h — libfcm, everything at once.  Each concern has its own header. */
#ifndef FCM_H
#define FCM_H

#include "atomic.h"
#include "dotfcm.h"
#include "lifecycle.h"
#include "err.h"
#include "expose.h"
#include "jsonl.h"
#include "lock.h"
#include "name.h"
#include "paths.h"
#include "porcelain.h"
#include "rmtree.h"
#include "run.h"
#include "svc.h"
#include "utf8.h"
#include "vm.h"
#include "vmprint.h"

#endif
