/* cpus.c — the CPUs the process may use: its affinity mask and the cgroup
 * v2 CPU quota (containers), for `workers: auto`.
 */
#include "util/cpus.h"

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CGROUP_PATH_MAX 4096

/* The cgroup v2 path of the process ("0::/kubepods/pod1/ctr1"), into OUT. */
static int cgroup_path(const char *root, char *out, size_t len)
{
	char file[CGROUP_PATH_MAX], line[CGROUP_PATH_MAX];
	FILE *f;
	int rc = -1;

	snprintf(file, sizeof(file), "%s/proc/self/cgroup", root);
	f = fopen(file, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "0::/", 4) != 0)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(out, len, "%s", line + 3);
		rc = 0;
		break;
	}
	fclose(f);
	return rc;
}

/* cpu.max of DIR: "QUOTA PERIOD" in microseconds, or "max PERIOD". */
static unsigned read_cpu_max(const char *dir)
{
	char file[CGROUP_PATH_MAX + 16];
	unsigned long long quota, period;
	FILE *f;
	int n;

	snprintf(file, sizeof(file), "%s/cpu.max", dir);
	f = fopen(file, "re");
	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &quota, &period);
	fclose(f);
	if (n != 2 || quota == 0 || period == 0)
		return 0;
	quota = (quota + period - 1) / period;
	return quota > 1u << 20 ? 1u << 20 : (unsigned)quota;
}

unsigned cpus_cgroup_quota(const char *root)
{
	char path[CGROUP_PATH_MAX], dir[2 * CGROUP_PATH_MAX];
	unsigned best = 0;

	if (cgroup_path(root, path, sizeof(path)) < 0)
		return 0;
	/* A limit set on a parent (the pod) binds its children too; with a
	 * cgroup namespace the path is "/" and cpu.max is the container's. */
	for (;;) {
		snprintf(dir, sizeof(dir), "%s/sys/fs/cgroup%s", root,
			 strcmp(path, "/") ? path : "");
		unsigned q = read_cpu_max(dir);
		if (q && (!best || q < best))
			best = q;
		char *slash = strrchr(path, '/');
		if (!slash || slash == path)
			break;
		*slash = '\0';
	}
	if (strcmp(path, "/") != 0) {
		snprintf(dir, sizeof(dir), "%s/sys/fs/cgroup", root);
		unsigned q = read_cpu_max(dir);
		if (q && (!best || q < best))
			best = q;
	}
	return best;
}

unsigned cpus_usable(void)
{
	cpu_set_t set;
	long n = -1;
	unsigned quota;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	if (n < 1)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	quota = cpus_cgroup_quota("");
	if (quota && quota < (unsigned long)n)
		n = (long)quota;
	return (unsigned)n;
}
