// SPDX-License-Identifier: GPL-2.0
/*
 * memhold MIB: allocate MIB MiB, touch every page, print "memhold: holding MIB MiB", then keep
 * touching them once a second until killed (a process the OOM killer would pick if the balloon
 * took memory the guest needs).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64, len = mib << 20, i;
	volatile unsigned char *p = malloc(len);

	if (!p) {
		perror("memhold: malloc");
		return 1;
	}
	memset((void *)p, 0x5a, len);
	printf("memhold: holding %zu MiB\n", mib);
	fflush(stdout);
	for (;;) {
		for (i = 0; i < len; i += 4096)
			p[i]++;
		sleep(1);
	}
}
