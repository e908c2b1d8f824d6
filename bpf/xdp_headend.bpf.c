// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* placeholder: being written */
#include "lib/fwd.h"
#include "lib/parse.h"
#include "lib/csum.h"

SEC("xdp")
int xdp_headend(struct xdp_md *ctx)
{
	struct aigw_ctx c;
	struct aigw_pkt p;
	struct aigw_iface_key k = { .ifindex = ctx->ingress_ifindex };
	struct aigw_iface_cfg *cfg = bpf_map_lookup_elem(&aigw_ifaces, &k);
	int r;

	aigw_stats_rx(&c, ctx, cfg);
	r = aigw_parse(ctx, &p);
	if (r)
		return aigw_ret_drop(&c, r);
	return aigw_ret_pass(&c);
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
