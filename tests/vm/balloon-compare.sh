#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Compares the numbers of the balloon suite between the C stack and ours, from the same
# scripts/check.sh run:
#   tests/vm/balloon-compare.sh C-CONSOLE-LOG RUST-CONSOLE-LOG
# Each console log has the guest's "HVRS-BALLOON-NUMBERS" line (MemTotal/MemAvailable in kB at
# load, ballooned to the host's 512M target, and given back at 1G); each log's ".host" file has
# the host's "HOST-NUMBERS" line (status reports, the committed and available memory the guest
# reported, in MiB), and the "HVRS-HOTADD-NUMBERS" line of the hot-add of 1 GiB (MemTotal in kB
# before and after, pages added and onlined, new memory blocks). Both stacks must balloon the
# same amount, give everything back, hot-add the same memory, and report about the same
# committed memory (the C formula: vm_memory_committed() + ballooned pages + hot-added pages not
# online + the balloon floor).
set -uo pipefail
[ $# = 2 ] || { echo "usage: $0 C-CONSOLE-LOG RUST-CONSOLE-LOG" >&2; exit 2; }
c_log=$1 rust_log=$2
bad=0

numbers() { # log -> "m0 a0 m1 a1 m2 a2"
	tr -d '\r' <"$1" | sed -n 's/.*HVRS-BALLOON-NUMBERS stack=[a-z]* load=\([0-9]*\)\/\([0-9]*\) ballooned=\([0-9]*\)\/\([0-9]*\) unballooned=\([0-9]*\)\/\([0-9]*\).*/\1 \2 \3 \4 \5 \6/p' | head -n 1
}
hotadd() { # log -> "before after added onlined blocks"
	tr -d '\r' <"$1" | sed -n 's/.*HVRS-HOTADD-NUMBERS stack=[a-z]* before=\([0-9]*\) after=\([0-9]*\) added=\([0-9]*\) onlined=\([0-9]*\) blocks=\([0-9]*\).*/\1 \2 \3 \4 \5/p' | head -n 1
}
host() { # log key -> value (digits)
	sed -n "s/.*HOST-NUMBERS.* $2=\([0-9.]*\).*/\1/p" "$1.host" 2>/dev/null | head -n 1
}
near() { # name c rust tolerance
	local d=$(($2 - $3))
	d=${d#-}
	if [ "$d" -le "$4" ]; then
		printf '  %-32s C %10s  Rust %10s  (|diff| %s <= %s)\n' "$1" "$2" "$3" "$d" "$4"
	else
		printf '  %-32s C %10s  Rust %10s  DIFFER by %s (> %s)\n' "$1" "$2" "$3" "$d" "$4"
		bad=1
	fi
}

read -r cm0 ca0 cm1 ca1 cm2 ca2 <<<"$(numbers "$c_log")"
read -r rm0 ra0 rm1 ra1 rm2 ra2 <<<"$(numbers "$rust_log")"
[ -n "${cm2:-}" ] || { echo "no HVRS-BALLOON-NUMBERS line in $c_log"; exit 1; }
[ -n "${rm2:-}" ] || { echo "no HVRS-BALLOON-NUMBERS line in $rust_log"; exit 1; }
echo "guest /proc/meminfo (kB):"
near "MemTotal at load" "$cm0" "$rm0" 4096
near "MemTotal ballooned (512M)" "$cm1" "$rm1" 8192
near "MemTotal given back (1G)" "$cm2" "$rm2" 4096
near "MemAvailable at load" "$ca0" "$ra0" 32768
near "MemAvailable ballooned" "$ca1" "$ra1" 32768
near "ballooned out (load - ballooned)" "$((cm0 - cm1))" "$((rm0 - rm1))" 8192
[ "$cm2" = "$cm0" ] || { echo "  C: MemTotal not all back ($cm2 of $cm0)"; bad=1; }
[ "$rm2" = "$rm0" ] || { echo "  Rust: MemTotal not all back ($rm2 of $rm0)"; bad=1; }
read -r chb cha chp cho chn <<<"$(hotadd "$c_log")"
read -r rhb rha rhp rho rhn <<<"$(hotadd "$rust_log")"
if [ -n "${chn:-}" ] && [ -n "${rhn:-}" ]; then
	echo "hot-add of 1 GiB:"
	near "MemTotal before hot-add" "$chb" "$rhb" 4096
	near "MemTotal after hot-add" "$cha" "$rha" 4096
	near "MemTotal growth" "$((cha - chb))" "$((rha - rhb))" 0
	near "pages added (debugfs)" "$chp" "$rhp" 0
	near "pages onlined (debugfs)" "$cho" "$rho" 0
	near "new memory blocks" "$chn" "$rhn" 0
else
	echo "  no HVRS-HOTADD-NUMBERS line in $([ -n "${chn:-}" ] && echo "$rust_log" || echo "$c_log")"
	bad=1
fi
echo "host view (QEMU's HV_BALLOON_STATUS_REPORT events, MiB):"
for k in load_committed ballooned_committed hotadd_committed; do
	c=$(host "$c_log" "$k") r=$(host "$rust_log" "$k")
	[ -n "$c" ] && [ -n "$r" ] || { echo "  no $k in the host outputs"; bad=1; continue; }
	near "$k" "$c" "$r" 48
done
for k in first_delay reports_in_10s; do
	printf '  %-32s C %10s  Rust %10s\n' "$k" "$(host "$c_log" "$k")" "$(host "$rust_log" "$k")"
done
[ $bad = 0 ] && echo "balloon: the stacks agree" || echo "balloon: the stacks differ"
exit $bad
