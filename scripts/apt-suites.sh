#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Make extra Debian suites reachable without letting them install anything by accident.
#
# The entries are derived from the machine's own deb822 sources file (its first stanza, with only
# the Suites line changed), so no package host is written into the repository.
#   bookworm-backports  deb + deb-src, default backports priority (installs only with -t)
#   bookworm            deb-src only (the machine's file has deb only): sources of test tools
#                       that the guest needs statically linked (fio, see scripts/fio.sh)
#   trixie, trixie-backports, sid
#                       deb only, pinned to -1: never installed, only `apt-get download`ed
#                       (arch-independent packages: linux-source-7.2, rust-src)
set -euo pipefail

src=/etc/apt/sources.list.d/debian.sources
[ -r "$src" ] || { echo "apt-suites: $src not found (expected a Debian bookworm machine)" >&2; exit 1; }

# The first stanza (up to the first blank line), without its Suites and Types lines.
stanza=$(awk 'BEGIN{RS=""} NR==1{print; exit}' "$src" | grep -v -E '^(Suites|Types):')

changed=0
write() { # file content
	if [ ! -f "$1" ] || [ "$(cat "$1")" != "$2" ]; then
		printf '%s\n' "$2" >"$1"
		changed=1
	fi
}

write /etc/apt/sources.list.d/hvrs-bookworm-backports.sources "Types: deb deb-src
Suites: bookworm-backports
$stanza"
write /etc/apt/sources.list.d/hvrs-bookworm-src.sources "Types: deb-src
Suites: bookworm
$stanza"
write /etc/apt/sources.list.d/hvrs-newer.sources "Types: deb
Suites: trixie trixie-backports sid
$stanza"
write /etc/apt/preferences.d/hvrs-newer "Explanation: hv-rs: newer suites are for apt-get download of arch:all packages only
Package: *
Pin: release n=trixie
Pin-Priority: -1

Package: *
Pin: release n=trixie-backports
Pin-Priority: -1

Package: *
Pin: release n=sid
Pin-Priority: -1"

stamp=/var/lib/apt/hvrs-updated
if [ "$changed" = 1 ] || [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +720)" ]; then
	apt-get update -qq
	touch "$stamp"
fi
