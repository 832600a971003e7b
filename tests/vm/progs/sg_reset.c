// SPDX-License-Identifier: GPL-2.0
/*
 * sg_reset DEVICE: asks the SCSI midlayer for a host reset of DEVICE's host (ioctl
 * SG_SCSI_RESET with SG_SCSI_RESET_HOST, what sg_reset -H of sg3_utils does), which calls the
 * driver's eh_host_reset_handler; prints "sg_reset: host reset done" on success.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <scsi/sg.h>

int main(int argc, char **argv)
{
	int fd, arg = SG_SCSI_RESET_HOST;

	if (argc != 2) {
		fprintf(stderr, "usage: sg_reset DEVICE\n");
		return 2;
	}
	fd = open(argv[1], O_RDWR);
	if (fd < 0) {
		fprintf(stderr, "sg_reset: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	if (ioctl(fd, SG_SCSI_RESET, &arg) < 0) {
		fprintf(stderr, "sg_reset: SG_SCSI_RESET: %s\n", strerror(errno));
		return 1;
	}
	printf("sg_reset: host reset done\n");
	close(fd);
	return 0;
}
