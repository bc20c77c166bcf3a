/* repair.h — finding and finishing what a crash left behind (fcm doctor, and
 * fcm daemon when it starts).
 *
 * Under the VM table lock, every directory of $FCM_ROOT/vms/ is checked:
 *   - no record (a create killed between making the directory and writing
 *     the record): taken apart;
 *   - "destroying" (a destroy killed part-way): the teardown finished;
 *   - "creating" whose create is gone (its lock vms/<id>/.busy is free,
 *     lib/vm/lifecycle.h): taken apart; one still being made is left alone.
 * Taking apart is fcm_vm_teardown_ex, whose order never leaves a route to a
 * freed address.  What killed builds of a disk template left in cache/ is
 * removed too (fcm_diskfs_sweep). */
#ifndef FCM_REPAIR_H
#define FCM_REPAIR_H

#include <jv.h>

/* Check and repair; flags as fcm_vm_teardown_ex's.  Returns
 *   {"checked":N,"swept":N,"fixed":[{"id","name","was","done"}...],
 *    "failed":[{"id","name","was","error"}...]}
 * ("was": "no record", "creating", "destroying"). */
jv fcm_vm_repair(unsigned flags);

#endif
