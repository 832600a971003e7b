// SPDX-License-Identifier: GPL-2.0
/*
 * memhold MIB: allocate MIB MiB, touch every page, print "memhold: holding MIB MiB", then keep
 * touching them once a second until killed (a process the OOM killer would pick if the balloon
 * took memory the guest needs). Each pass checks that every page still holds what the last one
 * wrote and exits with "memhold: page N corrupt" (status 2) if not: memory that is not really
 * there (a hot-added page the host does not back) does not keep what is written to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 64, len = mib << 20, i;
	volatile unsigned char *p = malloc(len);
	unsigned char want = 0x5a;

	if (!p) {
		perror("memhold: malloc");
		return 1;
	}
	memset((void *)p, 0x5a, len);
	printf("memhold: holding %zu MiB\n", mib);
	fflush(stdout);
	for (;;) {
		for (i = 0; i < len; i += 4096) {
			if (p[i] != want) {
				printf("memhold: page %zu corrupt: %#x, want %#x\n", i / 4096, p[i], want);
				fflush(stdout);
				return 2;
			}
			p[i] = (unsigned char)(want + 1);
		}
		want++;
		sleep(1);
	}
}
