// SPDX-License-Identifier: GPL-2.0
/*
 * edu_user - the vm tier's "application" that owns DMA mappings.
 *
 *   edu_user [--leaky] [--xfer] [-n COUNT] [-s SIZE] [-d to_device|from_device|bidirectional]
 *
 * Opens /dev/gputrace_edu, optionally makes the file leaky, maps COUNT
 * buffers through GPUTRACE_EDU_IOC_MAP (the module maps them in this
 * process's context), prints one line per mapping and exits without closing
 * the fd: the kernel closes it at exit, which unmaps the buffers unless the
 * file is leaky. Output lines, parsed by check_report.py:
 *
 *   EDU_USER pid=<pid> comm=edu_user leaky=<0|1> map=<i> bus=0x<hex> size=<n> dir=<name>
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "gputrace_edu_uapi.h"

static const char *const dir_names[] = {
	[GPUTRACE_EDU_DIR_BIDIRECTIONAL] = "bidirectional",
	[GPUTRACE_EDU_DIR_TO_DEVICE] = "to_device",
	[GPUTRACE_EDU_DIR_FROM_DEVICE] = "from_device",
};

static void usage(void)
{
	fprintf(stderr, "usage: edu_user [--leaky] [--xfer] [-n COUNT] [-s SIZE] "
			"[-d to_device|from_device|bidirectional]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned int count = 2, size = 4096, dir = GPUTRACE_EDU_DIR_TO_DEVICE;
	unsigned int flags = 0;
	uint32_t leaky = 0;
	unsigned int i;
	int fd;

	for (i = 1; i < (unsigned int)argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--leaky")) {
			leaky = 1;
		} else if (!strcmp(a, "--xfer")) {
			flags |= GPUTRACE_EDU_MAP_XFER;
		} else if (!strcmp(a, "-n") && i + 1 < (unsigned int)argc) {
			count = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(a, "-s") && i + 1 < (unsigned int)argc) {
			size = strtoul(argv[++i], NULL, 0);
		} else if (!strcmp(a, "-d") && i + 1 < (unsigned int)argc) {
			const char *d = argv[++i];

			for (dir = 0; dir < 3 && strcmp(d, dir_names[dir]); dir++)
				;
			if (dir == 3)
				usage();
		} else {
			usage();
		}
	}

	fd = open("/dev/" GPUTRACE_EDU_DEVNAME, O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "edu_user: open /dev/%s: %s\n", GPUTRACE_EDU_DEVNAME, strerror(errno));
		return 1;
	}
	if (ioctl(fd, GPUTRACE_EDU_IOC_SET_LEAKY, &leaky) < 0) {
		fprintf(stderr, "edu_user: SET_LEAKY: %s\n", strerror(errno));
		return 1;
	}
	for (i = 0; i < count; i++) {
		struct gputrace_edu_map m = { .size = size, .dir = dir, .flags = flags };

		if (ioctl(fd, GPUTRACE_EDU_IOC_MAP, &m) < 0) {
			fprintf(stderr, "edu_user: MAP %u: %s\n", i, strerror(errno));
			return 1;
		}
		printf("EDU_USER pid=%d comm=edu_user leaky=%u map=%u bus=0x%llx size=%u dir=%s\n",
		       (int)getpid(), leaky, i, (unsigned long long)m.bus_addr, size, dir_names[dir]);
	}
	fflush(stdout);
	/* No close(fd): the exit path releases the file, as a crashing process would. */
	return 0;
}
