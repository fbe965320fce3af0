/* cpus.h — how many CPUs this process may use: what `workers: auto` runs.
 */
#ifndef LBD_CPUS_H
#define LBD_CPUS_H

/* The CPUs the process may run on (sched_getaffinity, else the online
 * count), lowered to the cgroup v2 CPU quota when one is set (cpu.max of
 * the process's cgroup or of any cgroup above it, rounded up): a container
 * limited to 500m on a 64-core node gets 1. At least 1. */
unsigned cpus_usable(void);

/* The quota part, reading ROOT/proc/self/cgroup and
 * ROOT/sys/fs/cgroup/<path>/cpu.max (ROOT is "" for the real files; tests
 * give a fake tree). Returns the quota in whole CPUs rounded up, or 0 when
 * there is none (cgroup v1, no cpu controller, "max" everywhere). */
unsigned cpus_cgroup_quota(const char *root);

#endif
