// SPDX-License-Identifier: GPL-2.0
/*
 * phc_read [DEVICE]: print "realtime SEC.NSEC" (CLOCK_REALTIME), then read a PTP hardware
 * clock the way chrony's PHC refclock does, with clock_gettime() on the clock id of an open
 * /dev/ptpN (FD_TO_CLOCKID): "phc SEC.NSEC" and "settime ERRNO-NAME" (the result of setting the
 * clock to the value read: the Hyper-V clock is read-only). Exit 0 if the PHC could be read (or
 * none was asked for), else 1 after "phc ERRNO-NAME" (e.g. ESTALE for a stale host sample).
 * Built statically on the host by scripts/initramfs.sh into the test initramfs (/usr/bin).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define FD_TO_CLOCKID(fd) ((~(clockid_t)(fd) << 3) | 3)

static const char *errname(int e)
{
	switch (e) {
	case 0: return "OK";
	case ESTALE: return "ESTALE";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case EACCES: return "EACCES";
	case EINVAL: return "EINVAL";
	case ENODEV: return "ENODEV";
	case EPERM: return "EPERM";
	default: return strerror(e);
	}
}

int main(int argc, char **argv)
{
	struct timespec phc, rt;
	int fd, err;

	if (argc > 2) {
		fprintf(stderr, "usage: phc_read [/dev/ptpN]\n");
		return 2;
	}
	fd = argc == 2 ? open(argv[1], O_RDWR) : -1;
	clock_gettime(CLOCK_REALTIME, &rt);
	printf("realtime %lld.%09ld\n", (long long)rt.tv_sec, rt.tv_nsec);
	if (argc == 1)
		return 0;
	if (fd < 0) {
		printf("open %s: %s\n", argv[1], errname(errno));
		return 1;
	}
	err = clock_gettime(FD_TO_CLOCKID(fd), &phc) ? errno : 0;
	if (err) {
		printf("phc %s\n", errname(err));
		return 1;
	}
	printf("phc %lld.%09ld\n", (long long)phc.tv_sec, phc.tv_nsec);
	err = clock_settime(FD_TO_CLOCKID(fd), &phc) ? errno : 0;
	printf("settime %s\n", errname(err));
	close(fd);
	return 0;
}
