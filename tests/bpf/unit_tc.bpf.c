// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The BPF unit tests (unit_tests.h) compiled for TC. The rest of the
 * library is included too, so that the build proves it compiles for TC. */
#include "lib/ctx/skb.h"
#define UT_SEC "tc"
#include "unit_tests.h"
#include "lib/fwd.h"
#include "lib/encap.h"
#include "lib/hash.h"
#include "lib/icmp.h"
#include "lib/mss.h"
#include "lib/decide.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";
