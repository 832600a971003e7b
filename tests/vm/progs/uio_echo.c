// SPDX-License-Identifier: GPL-2.0
/*
 * uio_echo /dev/uioN RING_FILE COUNT: talk to the host engine's echo device from user space
 * through uio_hv_generic, the way DPDK's netvsc driver and hv_fcopy_uio_daemon do: map both
 * rings from the UIO device (the ring file's size / 2 per direction), send COUNT in-band
 * packets of 104 bytes asking for completions with the kernel's tools/hv/vmbus_bufring.c,
 * signal the host by writing 1 (unmask and signal), block in read() for the interrupt, and check
 * that each packet comes back as a completion with its payload. Prints
 * "uio_echo: N packets echoed"; exit 0 on success, 1 on a wrong or missing echo, 2 on setup
 * errors. Built by scripts/initramfs.sh with vmbus_bufring.c of the test kernel's tools/hv.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmbus_bufring.h"

/*
 * A multiple of 8: the ALIGN() of tools/hv/vmbus_bufring.c (7.2) rounds down, so for other
 * lengths rte_vmbus_chan_send() computes a negative padding and copies far past its buffer
 * (hv_fcopy_uio_daemon only sends 8-byte multiples).
 */
#define PAYLOAD 104

static void pattern(unsigned char *p, unsigned int seq)
{
	for (int i = 0; i < PAYLOAD; i++)
		p[i] = (unsigned char)(seq * 7 + i);
}

int main(int argc, char **argv)
{
	unsigned char payload[PAYLOAD], buf[4096];
	struct vmbus_br txbr, rxbr;
	struct stat st;
	int fd, one = 1, count, echoed = 0;
	uint32_t ring_size;
	void *ring;

	if (argc != 4) {
		fprintf(stderr, "usage: uio_echo /dev/uioN RING_FILE COUNT\n");
		return 2;
	}
	count = atoi(argv[3]);
	if (stat(argv[2], &st) < 0) {
		printf("uio_echo: stat %s: %s\n", argv[2], strerror(errno));
		return 2;
	}
	ring_size = st.st_size / 2;
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		printf("uio_echo: open %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	ring = vmbus_uio_map(&fd, ring_size);
	if (!ring) {
		printf("uio_echo: mmap: %s\n", strerror(errno));
		return 2;
	}
	vmbus_br_setup(&txbr, ring, ring_size);
	vmbus_br_setup(&rxbr, (char *)ring + ring_size, ring_size);
	rxbr.vbr->imask = 0;

	for (int seq = 1; seq <= count; seq++) {
		const struct vmbus_chanpkt_hdr *hdr = (const void *)buf;
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		uint32_t len = sizeof(buf);
		int ret, interrupts;

		pattern(payload, seq);
		ret = rte_vmbus_chan_send(&txbr, VMBUS_CHANPKT_TYPE_INBAND, payload, PAYLOAD,
					  VMBUS_CHANPKT_FLAG_RC);
		if (ret) {
			printf("uio_echo: send %d: %d\n", seq, ret);
			return 1;
		}
		/* Unmask our interrupt and signal the host. */
		if (write(fd, &one, sizeof(one)) != sizeof(one)) {
			printf("uio_echo: signal: %s\n", strerror(errno));
			return 1;
		}
		/* Wait for the echo; a packet may already be there (bounded wait). */
		while (vmbus_br_availread(&rxbr) == 0) {
			ret = poll(&pfd, 1, 10000);
			if (ret == 0) {
				printf("uio_echo: no echo of packet %d within 10 s\n", seq);
				return 1;
			}
			if (ret < 0 && errno != EINTR) {
				printf("uio_echo: poll: %s\n", strerror(errno));
				return 1;
			}
			if (ret > 0 && read(fd, &interrupts, sizeof(interrupts)) != sizeof(interrupts)) {
				printf("uio_echo: read: %s\n", strerror(errno));
				return 1;
			}
		}
		if (getenv("UIO_ECHO_DEBUG"))
			fprintf(stderr, "seq %d: tx w=%u r=%u rx w=%u r=%u dsize=%u avail=%u\n", seq,
				txbr.vbr->windex, txbr.vbr->rindex, rxbr.vbr->windex,
				rxbr.vbr->rindex, rxbr.dsize, vmbus_br_availread(&rxbr));
		ret = rte_vmbus_chan_recv_raw(&rxbr, buf, &len);
		if (ret <= 0) {
			printf("uio_echo: receive %d: %d\n", seq, ret);
			return 1;
		}
		if (hdr->type != VMBUS_CHANPKT_TYPE_COMP ||
		    len < (uint32_t)(hdr->hlen << VMBUS_CHANPKT_SIZE_SHIFT) + PAYLOAD ||
		    memcmp(buf + (hdr->hlen << VMBUS_CHANPKT_SIZE_SHIFT), payload, PAYLOAD)) {
			printf("uio_echo: packet %d came back wrong (type %u, %u bytes)\n", seq,
			       hdr->type, len);
			return 1;
		}
		echoed++;
	}
	printf("uio_echo: %d packets echoed\n", echoed);
	close(fd);
	return 0;
}
