// SPDX-License-Identifier: GPL-2.0
/*
 * uio_bufmap /dev/uioN MAP:LEN...: for each MAP:LEN, maps LEN bytes of UIO map MAP (at offset
 * MAP * page size, as the UIO core wants) shared and read-write, checks that the memory starts
 * zeroed, writes a pattern into every page, unmaps, maps again and reads the pattern back. This
 * is what DPDK's netvsc driver does with the receive and send buffers of uio_hv_generic. The
 * device is opened once for all maps. Exit 0 on success, 1 if a byte differs, 2 if the device
 * cannot be opened or mapped (errno printed).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static uint8_t *map(int fd, int index, size_t len)
{
	long page = sysconf(_SC_PAGESIZE);
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)index * page);

	if (p == MAP_FAILED) {
		printf("mmap map%d (%zu bytes): %s\n", index, len, strerror(errno));
		exit(2);
	}
	return p;
}

static int check(int fd, int index, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), i;
	uint8_t *p = map(fd, index, len);

	for (i = 0; i < len; i += page) {
		if (p[i] != 0 || p[i + page - 1] != 0) {
			printf("map%d: page at %#zx not zeroed\n", index, i);
			return 1;
		}
		p[i] = (uint8_t)(i / page);
		p[i + page - 1] = (uint8_t)~(i / page);
	}
	munmap(p, len);
	p = map(fd, index, len);
	for (i = 0; i < len; i += page) {
		if (p[i] != (uint8_t)(i / page) || p[i + page - 1] != (uint8_t)~(i / page)) {
			printf("map%d: page at %#zx lost its pattern\n", index, i);
			return 1;
		}
	}
	munmap(p, len);
	printf("uio_bufmap: map%d %zu bytes written and read back\n", index, len);
	return 0;
}

int main(int argc, char **argv)
{
	int fd, i;

	if (argc < 3) {
		fprintf(stderr, "usage: uio_bufmap /dev/uioN MAP:LEN...\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("open %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	for (i = 2; i < argc; i++) {
		char *colon = strchr(argv[i], ':');

		if (!colon) {
			fprintf(stderr, "uio_bufmap: '%s' is not MAP:LEN\n", argv[i]);
			return 2;
		}
		if (check(fd, atoi(argv[i]), strtoul(colon + 1, NULL, 0)))
			return 1;
	}
	close(fd);
	return 0;
}
