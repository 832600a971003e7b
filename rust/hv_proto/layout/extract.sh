#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Prints the C layouts the wire-format tests of ic, kvp, vss, fcopy, vstor, nvsp, rndis and dm
# compare against. The struct definitions are taken verbatim from a Linux 7.2 source tree
# (line ranges of 7.2.13), compiled with gcc, and printed as the Rust assertions that the
# `c_layout` tests contain.
#
# Usage: extract.sh [KSRC]   (default /tmp/L/linux-source-7.2)
set -eu
KSRC=${1:-/tmp/L/linux-source-7.2}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

mkdir -p "$OUT/uapi/linux"
cp "$KSRC/include/uapi/linux/hyperv.h" "$OUT/uapi/linux/hyperv.h"
cp "$KSRC/include/linux/rndis.h" "$OUT/rndis.h"
{
	echo '/* include/linux/hyperv.h: IC framework */'
	sed -n 1534,1605p "$KSRC/include/linux/hyperv.h"
	echo '/* drivers/hv/hv_balloon.c: dynamic memory */'
	sed -n 56,406p "$KSRC/drivers/hv/hv_balloon.c"
	echo '/* drivers/scsi/storvsc_drv.c: vstor */'
	sed -n 44,144p "$KSRC/drivers/scsi/storvsc_drv.c"
	sed -n 180,335p "$KSRC/drivers/scsi/storvsc_drv.c"
	echo '/* drivers/net/hyperv/hyperv_net.h: NDIS objects */'
	sed -n 21,147p "$KSRC/drivers/net/hyperv/hyperv_net.h"
	echo '/* drivers/net/hyperv/hyperv_net.h: NVSP */'
	sed -n 280,848p "$KSRC/drivers/net/hyperv/hyperv_net.h"
	echo '/* drivers/net/hyperv/hyperv_net.h: RNDIS */'
	sed -n 1198,1815p "$KSRC/drivers/net/hyperv/hyperv_net.h"
} > "$OUT/extracted.h"

gcc -std=gnu11 -Wall -I"$OUT/uapi" -I"$OUT" -o "$OUT/layout" "$HERE/layout.c"
"$OUT/layout"
