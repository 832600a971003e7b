# SPDX-License-Identifier: GPL-2.0
# (Not executable: sourced by the guest test and by host.sh.) The storage benchmark
# (scripts/bench-storage.sh): what the runs are and what the disks hold.
# LUN 0 of the engine's storvsp is a RAM disk of DISK_MB (engine.args); the virtio-blk disk
# (qemu.args) is a file of the same size in the host's page cache. Both are filled before
# the reads, so that every read returns data the host has to copy.
DISK_MB=256
# Seconds of each fio run (after one second of ramp-up).
BENCH_SECS=10
# name rw bs iodepth numjobs
BENCH_RUNS="randread4k randread 4k 32 2
seqread1m read 1m 8 1"
