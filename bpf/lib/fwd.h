/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Forwarding: FIB lookup results and redirects through aigw_tx. */
#ifndef AIGW_BPF_FWD_H
#define AIGW_BPF_FWD_H

#include "lib/stats.h"

/* The packet at data starts with an untagged Ethernet header whose
 * addresses are still those it arrived with (so that a pass to the kernel
 * is accepted as PACKET_HOST). Rewrite the MACs from the FIB result and
 * redirect to the egress port, or hand the packet to the kernel unchanged
 * when the egress port is not one of ours. */
static __always_inline int aigw_redirect(struct __ctx_buff *ctx, struct aigw_ctx *c,
					 const struct bpf_fib_lookup *fib)
{
	void *data = ctx_data(ctx);
	void *data_end = ctx_data_end(ctx);
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return aigw_ret_drop(c, AIGW_DROP_TRUNC_ETH);
	/* A port that is not in aigw_tx gets nothing redirected (see
	 * ctx_redirect_map). The MACs can change after the call: the redirect
	 * happens when the program returns. */
	if (ctx_redirect_map(ctx, &aigw_tx, fib->ifindex) != CTX_ACT_REDIRECT)
		return aigw_ret_pass_ev(c, AIGW_EV_NO_TX_PORT);
	__builtin_memcpy(eth->h_dest, fib->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, fib->smac, ETH_ALEN);
	if (c->st)
		aigw_ctr_add(&c->st->fwd, data_end - data);
	return CTX_ACT_REDIRECT;
}

/* Verdict for a FIB result other than SUCCESS (and FRAG_NEEDED, which the
 * caller handles): the kernel gets everything it can resolve or answer. */
static __always_inline int aigw_fib_exception(struct aigw_ctx *c, int rc)
{
	switch (rc) {
	case BPF_FIB_LKUP_RET_NO_NEIGH:
		return aigw_ret_pass_ev(c, AIGW_EV_NO_NEIGH_TO_KERNEL);
	case BPF_FIB_LKUP_RET_BLACKHOLE:
		return aigw_ret_drop(c, AIGW_DROP_FIB_BLACKHOLE);
	default: /* unreachable/prohibit (kernel sends ICMP), local, not forwarded */
		return aigw_ret_pass_ev(c, AIGW_EV_FIB_TO_KERNEL);
	}
}

#endif
