// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* A trivial XDP program: the baseline of the benchmarks, and what the lab's
 * host-side veth ends run so that XDP_REDIRECT into their peers delivers. */
#include "lib/ctx/xdp.h"

SEC("xdp")
int xdp_pass(struct xdp_md *ctx)
{
	return CTX_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
