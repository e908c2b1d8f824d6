// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Transmit failures after XDP_REDIRECT. The XDP programs count a redirected
 * frame as forwarded when they return; the kernel may still lose it:
 *
 *   xdp:xdp_redirect_err  at enqueue: the egress port takes no XDP frames
 *                         (no ndo_xdp_xmit now: a veth whose peer has neither
 *                         an XDP program nor GRO), is down, or the frame is
 *                         too big. One event per frame.
 *   xdp:xdp_devmap_xmit   at the bulk send: the driver sent `sent` of the
 *                         frames and dropped `drops` (a veth peer gone down,
 *                         a full ring).
 *
 * Both tracepoints fire for every XDP program on the host. Only frames whose
 * devices are in the agent's network namespace (netns_ino, set before load)
 * and are ports of this datapath (an entry in aigw_xmit_drops, which the
 * agent creates for each port it may redirect into) are counted: per egress
 * port and in the named drop reasons.
 */
#include "lib/ctx/xdp.h"
#include "lib/maps.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#define AIGW_EOPNOTSUPP 95
#define AIGW_ENXIO 6
#define AIGW_ENETDOWN 100

/* The few kernel fields read here, as CO-RE flavours ("___aigw": libbpf
 * relocates them against the running kernel's struct net_device and struct
 * net). Declared rather than taken from vmlinux.h, whose net_device would
 * bring half the kernel's types into the object's BTF. */
struct ns_common___aigw {
	unsigned int inum;
} __attribute__((preserve_access_index));

struct net___aigw {
	struct ns_common___aigw ns;
} __attribute__((preserve_access_index));

struct net_device___aigw {
	int ifindex;
	struct {
		struct net___aigw *net;
	} nd_net;
} __attribute__((preserve_access_index));

/* Inode number of the agent's network namespace (/proc/self/ns/net). */
const volatile __u32 netns_ino = 0;

static __always_inline int in_our_netns(const struct net_device___aigw *dev)
{
	return BPF_CORE_READ(dev, nd_net.net, ns.inum) == netns_ino;
}

/* Whether ifindex is a port of this datapath. */
static __always_inline int is_port(__u32 ifindex)
{
	return bpf_map_lookup_elem(&aigw_xmit_drops, &ifindex) != 0;
}

static __always_inline __u32 reason_of(int err)
{
	if (err == -AIGW_EOPNOTSUPP)
		return AIGW_DROP_XMIT_NO_XDP;
	if (err == -AIGW_ENETDOWN || err == -AIGW_ENXIO)
		return AIGW_DROP_XMIT_DOWN;
	return AIGW_DROP_XMIT_FAILED;
}

/* Count n frames lost on the way out of egress port ifindex. */
static __always_inline void count_lost(__u32 ifindex, __u32 reason, __u64 n)
{
	struct aigw_xmit_drops *x = bpf_map_lookup_elem(&aigw_xmit_drops, &ifindex);
	struct aigw_ctr *d;

	if (!x)
		return; /* not a port of this datapath */
	if (reason == AIGW_DROP_XMIT_NO_XDP)
		x->no_xdp += n;
	else if (reason == AIGW_DROP_XMIT_DOWN)
		x->down += n;
	else
		x->failed += n;
	d = bpf_map_lookup_elem(&aigw_drops, &reason);
	if (d)
		d->packets += n;
}

/* Our programs redirect only through aigw_tx (a DEVMAP_HASH keyed by the
 * egress ifindex): `index` is the egress port. */
SEC("tp_btf/xdp_redirect_err")
int BPF_PROG(aigw_redirect_err, const struct net_device___aigw *dev, const void *xdp,
	     const void *tgt, int err, enum bpf_map_type map_type, __u32 map_id, __u32 index)
{
	if (map_type != BPF_MAP_TYPE_DEVMAP_HASH || !in_our_netns(dev))
		return 0;
	if (!is_port(dev->ifindex))
		return 0; /* redirected by a program on a port that is not ours */
	count_lost(index, reason_of(err), 1);
	return 0;
}

SEC("tp_btf/xdp_devmap_xmit")
int BPF_PROG(aigw_devmap_xmit, const struct net_device___aigw *from_dev,
	     const struct net_device___aigw *to_dev, int sent, int drops, int err)
{
	if (drops <= 0 || !in_our_netns(to_dev))
		return 0;
	if (!is_port(from_dev->ifindex))
		return 0;
	count_lost(to_dev->ifindex, reason_of(err), (__u64)drops);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
