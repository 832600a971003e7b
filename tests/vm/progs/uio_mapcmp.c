// SPDX-License-Identifier: GPL-2.0
/*
 * uio_mapcmp A B LEN: maps LEN bytes at offset 0 of the files A and B (e.g. /dev/uioN, whose
 * map 0 is a VMBus channel's rings, and the channel's sysfs `ring` file) shared and read-only,
 * prints the ring headers' indices (write, read, interrupt mask of the outbound ring, then of
 * the inbound ring at LEN / 2) and exits 0 if both maps hold the same bytes. Exit 2 if a file
 * cannot be opened or mapped (errno printed), 1 if the contents differ.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const uint32_t *map(const char *path, size_t len)
{
	int fd = open(path, O_RDONLY);
	void *p;

	if (fd < 0) {
		printf("open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	p = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		printf("mmap %s: %s\n", path, strerror(errno));
		exit(2);
	}
	close(fd);
	return p;
}

int main(int argc, char **argv)
{
	const uint32_t *a, *b;
	size_t len;

	if (argc != 4) {
		fprintf(stderr, "usage: uio_mapcmp A B LEN\n");
		return 2;
	}
	len = strtoul(argv[3], NULL, 0);
	a = map(argv[1], len);
	b = map(argv[2], len);
	printf("out: write %u read %u mask %u; in: write %u read %u mask %u\n", a[0], a[1], a[2],
	       a[len / 8], a[len / 8 + 1], a[len / 8 + 2]);
	if (memcmp(a, b, len)) {
		printf("the maps differ\n");
		return 1;
	}
	printf("the maps are the same %zu bytes\n", len);
	return 0;
}
