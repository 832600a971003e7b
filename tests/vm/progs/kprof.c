// SPDX-License-Identifier: GPL-2.0
/*
 * kprof SECONDS [TOP]: where the guest's kernel spends its CPU time, for the storage benchmark.
 *
 * Samples every online CPU with the software cpu-clock event (perf_event_open(), 1 kHz, kernel
 * mode only), for SECONDS, then resolves the sampled instruction pointers against
 * /proc/kallsyms (modules included) and prints the TOP symbols (default 40) as
 * "KPROF <percent> <samples> <symbol> [module]", then "KPROF total <samples>". A sample lands
 * where interrupts were enabled again, so time with interrupts off shows at its end. Needs
 * root (or perf_event_paranoid <= -1) and kptr_restrict 0 for real addresses.
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64
#define DATA_PAGES 64

struct sym {
	uint64_t addr;
	char name[96];
	char mod[32];
	unsigned long hits;
};

static struct sym *syms;
static size_t nsyms;
static unsigned long unknown, total;

static int by_addr(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int by_hits(const void *a, const void *b)
{
	const struct sym *x = a, *y = b;

	return x->hits < y->hits ? 1 : x->hits > y->hits ? -1 : 0;
}

static void load_kallsyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	size_t cap = 1 << 16;
	char line[256];

	if (!f) {
		perror("kprof: /proc/kallsyms");
		exit(1);
	}
	syms = malloc(cap * sizeof(*syms));
	while (syms && fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[96], mod[40] = "";

		if (sscanf(line, "%llx %c %95s %39s", &addr, &type, name, mod) < 3)
			continue;
		if (type != 't' && type != 'T')
			continue;
		if (nsyms == cap) {
			cap *= 2;
			syms = realloc(syms, cap * sizeof(*syms));
			if (!syms)
				break;
		}
		syms[nsyms].addr = addr;
		snprintf(syms[nsyms].name, sizeof(syms[nsyms].name), "%s", name);
		snprintf(syms[nsyms].mod, sizeof(syms[nsyms].mod), "%s", mod);
		syms[nsyms].hits = 0;
		nsyms++;
	}
	fclose(f);
	if (!syms || !nsyms) {
		fprintf(stderr, "kprof: no text symbols in /proc/kallsyms\n");
		exit(1);
	}
	qsort(syms, nsyms, sizeof(*syms), by_addr);
}

static void account(uint64_t ip)
{
	size_t lo = 0, hi = nsyms;

	total++;
	if (ip < syms[0].addr) {
		unknown++;
		return;
	}
	while (hi - lo > 1) {
		size_t mid = (lo + hi) / 2;

		if (syms[mid].addr <= ip)
			lo = mid;
		else
			hi = mid;
	}
	syms[lo].hits++;
}

/* Reads the samples (PERF_SAMPLE_IP) out of one CPU's ring. */
static void drain(struct perf_event_mmap_page *meta, size_t data_size)
{
	unsigned char *data = (unsigned char *)meta + meta->data_offset;
	uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = meta->data_tail;

	while (tail < head) {
		struct perf_event_header hdr;
		size_t at = tail % data_size;
		unsigned char rec[64];
		size_t i;

		for (i = 0; i < sizeof(hdr); i++)
			((unsigned char *)&hdr)[i] = data[(at + i) % data_size];
		if (hdr.size < sizeof(hdr))
			break;
		if (hdr.type == PERF_RECORD_SAMPLE && hdr.size <= sizeof(rec)) {
			uint64_t ip;

			for (i = 0; i < hdr.size; i++)
				rec[i] = data[(at + i) % data_size];
			memcpy(&ip, rec + sizeof(hdr), sizeof(ip));
			account(ip);
		}
		tail += hdr.size;
	}
	__atomic_store_n(&meta->data_tail, tail, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	struct perf_event_mmap_page *meta[MAX_CPUS];
	long page = sysconf(_SC_PAGESIZE);
	size_t data_size = DATA_PAGES * page;
	int fd[MAX_CPUS], ncpu = 0, top = argc > 2 ? atoi(argv[2]) : 40;
	double secs = argc > 1 ? atof(argv[1]) : 0;
	struct timespec end, now;
	size_t i;

	if (secs <= 0) {
		fprintf(stderr, "usage: kprof SECONDS [TOP]\n");
		return 2;
	}
	load_kallsyms();
	for (int cpu = 0; cpu < MAX_CPUS; cpu++) {
		struct perf_event_attr attr = {
			.type = PERF_TYPE_SOFTWARE,
			.size = sizeof(attr),
			.config = PERF_COUNT_SW_CPU_CLOCK,
			.sample_freq = 1000,
			.freq = 1,
			.sample_type = PERF_SAMPLE_IP,
			.exclude_user = 1,
			.disabled = 1,
		};
		int f = syscall(SYS_perf_event_open, &attr, -1, cpu, -1, 0);

		if (f < 0) {
			if (errno == ENODEV || errno == EINVAL)
				break;
			perror("kprof: perf_event_open");
			return 1;
		}
		meta[ncpu] = mmap(NULL, page + data_size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
		if (meta[ncpu] == MAP_FAILED) {
			perror("kprof: mmap");
			return 1;
		}
		fd[ncpu++] = f;
	}
	for (int c = 0; c < ncpu; c++)
		ioctl(fd[c], PERF_EVENT_IOC_ENABLE, 0);
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += (time_t)secs;
	do {
		usleep(50000);
		for (int c = 0; c < ncpu; c++)
			drain(meta[c], data_size);
		clock_gettime(CLOCK_MONOTONIC, &now);
	} while (now.tv_sec < end.tv_sec ||
		 (now.tv_sec == end.tv_sec && now.tv_nsec < end.tv_nsec));
	for (int c = 0; c < ncpu; c++) {
		ioctl(fd[c], PERF_EVENT_IOC_DISABLE, 0);
		drain(meta[c], data_size);
	}
	qsort(syms, nsyms, sizeof(*syms), by_hits);
	for (i = 0; i < nsyms && (int)i < top && syms[i].hits; i++)
		printf("KPROF %5.1f %7lu %s %s\n", 100.0 * syms[i].hits / (total ? total : 1),
		       syms[i].hits, syms[i].name, syms[i].mod);
	printf("KPROF total %lu samples on %d CPUs (%lu outside the symbols)\n", total, ncpu,
	       unknown);
	return 0;
}
