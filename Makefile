# SPDX-License-Identifier: GPL-2.0
#
# The user's commands. Kbuild reads ./Kbuild, not this file, when the kernel builds our modules
# (make -C $KDIR M=$PWD), so this Makefile only drives scripts.
#
#   make run            build everything, boot a test guest with our modules, show what is bound
#   make check          every test; ends with "N passed, N failed"
#   make modules        build the modules against KDIR (default: the cached test kernel)
#   make modules_install INSTALL_MOD_PATH=...   install them into updates/
#   make clippy | fmt | fmt-check | rust-analyzer
#   make deps | kernel | qemu | initramfs        the pieces, each cached
#   make fuzz-smoke     every fuzz target of the protocol core for 20 s (FUZZ_SECONDS=...)
#   make fuzz FUZZ_SECONDS=600   every fuzz target for that long
#   make bench          ring buffer throughput and instructions per packet
#   make bench-storage  fio on the synthetic disk: the C and our hv_storvsc, and virtio-blk, on a
#                       production configuration of the kernel (BENCH_KERNEL=test: the test kernel)
#
# KDIR may point at any built CONFIG_RUST=y Linux 7.2 tree; the default is the tree that
# scripts/kernel.sh builds and caches under ${XDG_CACHE_HOME:-~/.cache}/hv-rs.

SHELL := /bin/bash
TOP := $(abspath $(dir $(lastword $(MAKEFILE_LIST))))
S := $(TOP)/scripts

# Arguments for the kernel's make when building our modules: warnings are errors (W=e gives
# -Dwarnings for Rust and -Werror for C).
KMAKE_ARGS = W=e

.PHONY: all deps kernel qemu modules modules_install clippy fmt fmt-check rust-analyzer \
	initramfs run check cargo-test clean fuzz-smoke fuzz bench bench-storage

all: modules

deps:
	@$(S)/install-deps.sh

kernel: deps
	@$(S)/kernel.sh

qemu: deps
	@$(S)/qemu.sh

modules: deps
	@$(S)/modules.sh modules

modules_install: deps
	@$(S)/modules.sh modules_install INSTALL_MOD_PATH=$(INSTALL_MOD_PATH)

clippy: deps
	@$(S)/modules.sh modules CLIPPY=1

# rustfmt with the kernel's .rustfmt.toml (copied to the top of this tree), over every Rust
# file we own: the kernel's `make rustfmt` skips M= code.
RUST_SOURCES = $(shell cd $(TOP) && git ls-files -co --exclude-standard '*.rs')
fmt:
	@cd $(TOP) && rustfmt --edition 2021 --config-path .rustfmt.toml $(RUST_SOURCES)
fmt-check:
	@cd $(TOP) && rustfmt --check --edition 2021 --config-path .rustfmt.toml $(RUST_SOURCES)

rust-analyzer: deps
	@$(S)/modules.sh rust-analyzer

initramfs: modules
	@$(S)/initramfs.sh

cargo-test:
	@cd $(TOP) && cargo test --workspace

run:
	@$(S)/run.sh

check:
	@$(S)/check.sh

# Fuzzing the protocol core (cargo-fuzz, stable toolchain, no sanitizer): see scripts/fuzz.sh.
FUZZ_SECONDS ?=
fuzz-smoke:
	@$(S)/fuzz.sh --smoke $(or $(FUZZ_SECONDS),20)
fuzz:
	@$(S)/fuzz.sh --long $(or $(FUZZ_SECONDS),600)

# Ring buffer benchmark (not a timed test): throughput beside memcpy, callgrind instructions.
bench:
	@$(S)/bench.sh

# Storage benchmark (not a timed test): IOPS, throughput and signals per I/O, C vs ours.
bench-storage:
	@$(S)/bench-storage.sh --kernel $(or $(BENCH_KERNEL),production)

clean:
	-$(S)/modules.sh clean
	@cd $(TOP) && cargo clean
	rm -rf $(TOP)/out
