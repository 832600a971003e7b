// SPDX-License-Identifier: GPL-2.0
/*
 * The util daemons' character-device semantics (PROTOCOL-FACTS 2.5, hv_utils_transport.c) on
 * /dev/vmbus/hv_test of hv_chardev_test.ko. Prints "PASS <check>" or "FAIL <check>: ..." per
 * check and exits 1 if one failed.
 *   hvt_chardev           open, EBUSY, write/read/poll, one message outstanding, big and bad
 *                         buffers, blocking and interrupted reads, reset on release
 *   hvt_chardev revoke    the transport dropped while the device is open; then holds the file
 *                         open until stdin reaches EOF
 * Built static by scripts/initramfs.sh.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sys/epoll.h>
#include <unistd.h>

static int failures;
#define CHECK(name, cond, ...)							\
	do {									\
		if (cond) {							\
			printf("PASS %s\n", name);				\
		} else {							\
			int e_ = errno;						\
			failures++;						\
			printf("FAIL %s: ", name);				\
			printf(__VA_ARGS__);					\
			printf(" (errno %d %s)\n", e_, strerror(e_));		\
		}								\
	} while (0)

static const char *dev = "/dev/vmbus/hv_test", *ctl = "/dev/vmbus/hv_test_ctl";

static short revents(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN | POLLRDNORM };
	int r = poll(&p, 1, ms);
	return r < 0 ? -1 : p.revents;
}

static void on_alarm(int sig) { (void)sig; }

/* An unmapped user address, hidden from gcc's buffer-size checks. */
static void *volatile bad_ptr = (void *)8;

int main(int argc, char **argv)
{
	char buf[256];
	ssize_t n;
	int fd, fd2, status;
	pid_t pid;

	if (argc > 1 && !strcmp(argv[1], "revoke"))
		goto revoke;

	fd = open(dev, O_RDWR);
	CHECK("open", fd >= 0, "open %s", dev);
	errno = 0;
	fd2 = open(dev, O_RDWR);
	CHECK("second-open-ebusy", fd2 < 0 && errno == EBUSY, "got %d", fd2);
	CHECK("poll-idle", revents(fd, 0) == 0, "revents %#x", revents(fd, 0));
	errno = 0;
	CHECK("lseek-espipe", lseek(fd, 0, SEEK_SET) < 0 && errno == ESPIPE, "lseek");

	n = write(fd, "hello", 5);
	CHECK("write", n == 5, "write returned %zd", n);
	CHECK("poll-in", revents(fd, 0) == (POLLIN | POLLRDNORM), "revents %#x", revents(fd, 0));
	errno = 0;
	n = read(fd, buf, 2);
	CHECK("read-short-einval", n < 0 && errno == EINVAL, "read returned %zd", n);
	n = read(fd, buf, sizeof(buf));
	CHECK("read", n == 5 && !memcmp(buf, "hello", 5), "read returned %zd", n);
	CHECK("poll-after-read", revents(fd, 0) == 0, "revents %#x", revents(fd, 0));

	/* One message outstanding: the second send fails with EFAULT, returned by write. */
	n = write(fd, "a", 1);
	errno = 0;
	ssize_t n2 = write(fd, "b", 1);
	CHECK("one-outstanding-efault", n == 1 && n2 < 0 && errno == EFAULT, "writes %zd %zd", n, n2);
	n = read(fd, buf, sizeof(buf));
	CHECK("read-first", n == 1 && buf[0] == 'a', "read returned %zd", n);

	errno = 0;
	n = write(fd, "!bad", 4);
	CHECK("service-error", n < 0 && errno == EIO, "write returned %zd", n);
	errno = 0;
	n = write(fd, "", 0);
	CHECK("write-empty", n < 0 && errno == EINVAL, "write returned %zd", n);
	errno = 0;
	n = write(fd, bad_ptr, 16);
	CHECK("write-efault", n < 0 && errno == EFAULT, "write returned %zd", n);

	/* Big messages: 1 MiB echoes; 8 MiB is more than kmalloc gives (ENOMEM as memdup_user). */
	{
		size_t big = 1 << 20;
		char *b = malloc(8 << 20), *r = malloc(big);
		memset(b, 0x5a, 8 << 20);
		n = write(fd, b, big);
		ssize_t m = read(fd, r, big);
		CHECK("big-1MiB", n == (ssize_t)big && m == (ssize_t)big && !memcmp(b, r, big), "%zd %zd", n, m);
		errno = 0;
		n = write(fd, b, 8 << 20);
		CHECK("big-8MiB-enomem", n < 0 && errno == ENOMEM, "write returned %zd", n);
		free(b);
		free(r);
	}

	/* A read into a bad buffer faults and still consumes the message (as C). */
	n = write(fd, "gone", 4);
	CHECK("write-gone", n == 4, "write returned %zd", n);
	errno = 0;
	n = read(fd, bad_ptr, 100);
	CHECK("read-efault-consumes", n < 0 && errno == EFAULT && revents(fd, 0) == 0, "read returned %zd", n);

	/* Blocking read, woken by a message sent from another process sharing the file. */
	pid = fork();
	if (pid == 0) {
		n = read(fd, buf, sizeof(buf));
		_exit(n == 4 && !memcmp(buf, "late", 4) ? 0 : 1);
	}
	usleep(300000);
	CHECK("reader-blocked", waitpid(pid, &status, WNOHANG) == 0, "reader did not block");
	n = write(fd, "late", 4);
	CHECK("write-late", n == 4, "write returned %zd", n);
	waitpid(pid, &status, 0);
	CHECK("blocking-read-woken", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);

	/* poll() blocks until a message arrives. */
	pid = fork();
	if (pid == 0) {
		usleep(300000);
		_exit(write(fd, "wake", 4) == 4 ? 0 : 1);
	}
	CHECK("poll-blocking", revents(fd, 5000) == (POLLIN | POLLRDNORM), "no POLLIN");
	waitpid(pid, &status, 0);
	n = read(fd, buf, sizeof(buf));
	CHECK("read-after-poll", n == 4, "read returned %zd", n);

	/* A kernel-originated message through a kept Sender (what a work item does). */
	fd2 = open(ctl, O_RDWR);
	n = write(fd2, "ping", 4);
	n2 = read(fd, buf, sizeof(buf));
	CHECK("sender-ping", n == 4 && n2 == 20 && !memcmp(buf, "ping from the kernel", 20), "%zd %zd", n, n2);
	close(fd2);

	/* A signal interrupts a blocked read. */
	{
		struct sigaction sa = { .sa_handler = on_alarm };
		sigaction(SIGALRM, &sa, NULL);
		alarm(1);
		errno = 0;
		n = read(fd, buf, sizeof(buf));
		CHECK("read-eintr", n < 0 && errno == EINTR, "read returned %zd", n);
	}

	/* Close with a message queued: the reopened device has none (reset on release). */
	n = write(fd, "stale", 5);
	CHECK("write-stale", n == 5, "write returned %zd", n);
	close(fd);
	fd = open(dev, O_RDWR);
	CHECK("reopen", fd >= 0, "reopen");
	CHECK("reopen-no-stale", revents(fd, 0) == 0, "revents %#x", revents(fd, 0));
	close(fd);
	printf("DONE %d failures\n", failures);
	return failures != 0;

revoke:
	/* The transport is dropped (as on device removal) while the daemon has it open. */
	fd = open(dev, O_RDWR);
	CHECK("d-open", fd >= 0, "open");
	pid = fork();
	if (pid == 0) {
		errno = 0;
		n = read(fd, buf, sizeof(buf));
		_exit(n < 0 && errno == EBADF ? 0 : 1);
	}
	/* And an epoll waiter, woken by the drop with EPOLLERR | EPOLLHUP. */
	pid_t epid = fork();
	if (epid == 0) {
		struct epoll_event ev = { .events = EPOLLIN }, out;
		int ep = epoll_create1(0);
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		int r = epoll_wait(ep, &out, 1, 5000);
		_exit(r == 1 && out.events == (EPOLLERR | EPOLLHUP) ? 0 : 1);
	}
	usleep(300000);
	fd2 = open(ctl, O_RDWR);
	n = write(fd2, "drop", 4);
	CHECK("d-drop", n == 4, "write drop returned %zd", n);
	close(fd2);
	waitpid(pid, &status, 0);
	CHECK("d-blocked-reader-ebadf", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	waitpid(epid, &status, 0);
	CHECK("d-epoll-errhup", WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
	CHECK("d-poll-errhup", revents(fd, 0) == (POLLERR | POLLHUP), "revents %#x", revents(fd, 0));
	errno = 0;
	n = read(fd, buf, sizeof(buf));
	CHECK("d-read-ebadf", n < 0 && errno == EBADF, "read returned %zd", n);
	errno = 0;
	n = write(fd, "x", 1);
	CHECK("d-write-ebadf", n < 0 && errno == EBADF, "write returned %zd", n);
	errno = 0;
	CHECK("d-node-gone", open(dev, O_RDWR) < 0 && errno == ENOENT, "open after drop");
	/* Keep it open for the shell to try rmmod; close on stdin EOF. */
	printf("HOLDING\n");
	fflush(stdout);
	while (read(0, buf, 1) > 0)
		;
	close(fd);
	printf("DONE %d failures\n", failures);
	return failures != 0;
}
