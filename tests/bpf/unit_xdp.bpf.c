// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The BPF unit tests (unit_tests.h) compiled for XDP. */
#include "lib/ctx/xdp.h"
#define UT_SEC "xdp"
#include "unit_tests.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
