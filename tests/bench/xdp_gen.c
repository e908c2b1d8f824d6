// Minimal XDP live-frames packet generator for tests/bench/run.sh (b).
//
// The same mechanism as xdp-trafficgen (BPF_PROG_TEST_RUN with
// BPF_F_TEST_XDP_LIVE_FRAMES, frames sent out of a device), which Debian's
// xdp-tools 1.3 cannot do here: its UDP mode is IPv6-only, and on Linux 6.18
// its BPF object fails to load (tp_btf/xdp_redirect_map{,_err} are gone) and
// its live-mode probe uses a 4-byte frame, which the kernel now rejects.
//
// A small XDP program (re)writes the frame and returns XDP_TX; in live-frames mode the
// kernel turns XDP_TX into a redirect out of the ingress device (--dev), so
// each frame leaves through ndo_xdp_xmit (for a veth: into the peer's NAPI
// queue, which needs XDP attached or GRO on the peer). One thread, pinned
// to --cpu; bounded by --count and --seconds. Prints "sent N" on exit, and
// keeps the running total in --counter FILE (decimal, rewritten per chunk).
//
//   aigw-xdp-gen --dev g0 --dst-mac MAC --src-mac MAC --src 192.0.2.2
//                --dst 198.51.100.10 [--count N] [--seconds S] [--cpu C]
//                [--counter FILE] [--frame HEX] [--batch N] [--psn-off N]
//                [--rate PPS]
// Frame: Ethernet + IPv4 (ttl 64, DF) + UDP 9 -> 9 + 18 zero bytes = 60 bytes,
// the frame trafgen sends in run.sh. --frame HEX sends that frame instead
// (hex digits, 14..256 bytes, e.g. an SRv6 frame for the endpoint benchmark
// of tests/bench/iso.sh); its first 12 bytes are replaced by --dst-mac and
// --src-mac, --src/--dst are then not needed. --batch: frames per
// live-frames batch (default 64, the kernel's maximum is 256).
// --rate PPS: at most that many frames a second (batches of --batch, a
// sleep between them when ahead); default: as fast as it can.
// --psn-off N: a RoCEv2 frame's BTH PSN sits at byte N (24 bits, network
// order): each frame sent carries the next PSN (from 1), so that an RDMA
// proxy sees one stream in order (the ICRC is not rewritten: the proxy
// does not check it).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <bpf/bpf.h>

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) == 6 ? 0 : -1;
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	const char *dev = NULL, *counter = NULL, *frame_hex = NULL;
	uint8_t dmac[6], smac[6];
	int have_d = 0, have_s = 0, cpu = 0, batch = 64, psn_off = -1;
	struct in_addr src = {0}, dst = {0};
	unsigned long long count = 100000000ULL, sent = 0;
	double seconds = 60, rate = 0;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--dev")) dev = v;
		else if (!strcmp(k, "--dst-mac")) have_d = !parse_mac(v, dmac);
		else if (!strcmp(k, "--src-mac")) have_s = !parse_mac(v, smac);
		else if (!strcmp(k, "--src")) inet_pton(AF_INET, v, &src);
		else if (!strcmp(k, "--dst")) inet_pton(AF_INET, v, &dst);
		else if (!strcmp(k, "--count")) count = strtoull(v, NULL, 10);
		else if (!strcmp(k, "--seconds")) seconds = atof(v);
		else if (!strcmp(k, "--cpu")) cpu = atoi(v);
		else if (!strcmp(k, "--counter")) counter = v;
		else if (!strcmp(k, "--frame")) frame_hex = v;
		else if (!strcmp(k, "--batch")) batch = atoi(v);
		else if (!strcmp(k, "--psn-off")) psn_off = atoi(v);
		else if (!strcmp(k, "--rate")) rate = atof(v);
		else { fprintf(stderr, "aigw-xdp-gen: unknown option %s\n", k); return 2; }
	}
	if (!dev || !have_d || !have_s || (!frame_hex && (!src.s_addr || !dst.s_addr))) {
		fprintf(stderr, "usage: aigw-xdp-gen --dev DEV --dst-mac MAC --src-mac MAC --src IP --dst IP"
				" [--count N] [--seconds S] [--cpu C] [--counter FILE] [--frame HEX] [--batch N]\n");
		return 2;
	}
	int ifindex = if_nametoindex(dev);
	if (!ifindex) { fprintf(stderr, "aigw-xdp-gen: no device %s\n", dev); return 1; }

	uint8_t pkt[256] = {0};
	unsigned plen = 60;
	memcpy(pkt, dmac, 6);
	memcpy(pkt + 6, smac, 6);
	pkt[12] = 0x08; pkt[13] = 0x00;
	uint8_t *ip = pkt + 14;
	ip[0] = 0x45; ip[2] = 0; ip[3] = 46;         /* total length 20 + 8 + 18 */
	ip[6] = 0x40;                                  /* DF */
	ip[8] = 64; ip[9] = 17;                        /* ttl, UDP */
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	uint32_t sum = 0;
	for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
	while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
	sum = ~sum & 0xffff;
	ip[10] = sum >> 8; ip[11] = sum & 0xff;
	uint8_t *udp = ip + 20;
	udp[1] = 9; udp[3] = 9; udp[5] = 26;           /* ports 9, length 8 + 18, no checksum */
	if (frame_hex) {
		size_t hl = strlen(frame_hex);
		if (hl % 2 || hl / 2 < 14 || hl / 2 > sizeof(pkt)) {
			fprintf(stderr, "aigw-xdp-gen: --frame needs 14..%zu bytes of hex\n", sizeof(pkt));
			return 2;
		}
		plen = hl / 2;
		for (unsigned i = 0; i < plen; i++)
			if (sscanf(frame_hex + 2 * i, "%2hhx", &pkt[i]) != 1) {
				fprintf(stderr, "aigw-xdp-gen: bad hex in --frame\n");
				return 2;
			}
		memcpy(pkt, dmac, 6);
		memcpy(pkt + 6, smac, 6);
	}

	/* The program writes the whole frame into every frame before XDP_TX: in
	 * live-frames mode a recycled page keeps whatever the gw wrote into it
	 * (an encapsulation overwrites the original Ethernet header), and only a
	 * freshly allocated page gets the test frame copied in. */
	if (psn_off >= 0 && (unsigned)psn_off + 3 > plen) {
		fprintf(stderr, "aigw-xdp-gen: --psn-off past the frame\n");
		return 2;
	}
	/* --psn-off: the PSN counter, one u32 in an array map */
	int psn_map = -1;
	if (psn_off >= 0) {
		psn_map = bpf_map_create(BPF_MAP_TYPE_ARRAY, "aigw_gen_psn", 4, 4, 1, NULL);
		if (psn_map < 0) { fprintf(stderr, "aigw-xdp-gen: map: %s\n", strerror(-psn_map)); return 1; }
	}
	struct bpf_insn insns[sizeof(pkt) / 4 + 48];
	int n = 0;
#define INS(...) (insns[n++] = (struct bpf_insn){ __VA_ARGS__ })
	/* r6 = ctx; with --psn-off, r7 = ++counter (else the jump to the
	 * abort exit below is never taken) */
	INS(.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1);
	int psn_abort = -1;
	if (psn_off >= 0) {
		INS(.code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_10, .off = -4, .imm = 0);
		INS(.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_10);
		INS(.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_2, .imm = -4);
		INS(.code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1, .src_reg = BPF_PSEUDO_MAP_FD, .imm = psn_map);
		INS(.code = 0);
		INS(.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_map_lookup_elem);
		psn_abort = n;
		INS(.code = BPF_JMP | BPF_JEQ | BPF_K, .dst_reg = BPF_REG_0, .imm = 0); /* .off set below */
		INS(.code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_7, .src_reg = BPF_REG_0, .off = 0);
		INS(.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_7, .imm = 1);
		INS(.code = BPF_STX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_0, .src_reg = BPF_REG_7, .off = 0);
	}
	INS(.code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_6, .off = 0);
	INS(.code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_3, .src_reg = BPF_REG_6, .off = 4);
	INS(.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_4, .src_reg = BPF_REG_2);
	INS(.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = BPF_REG_4, .imm = (int)plen);
	/* the jump skips the stores (one per 4 bytes, one per tail byte, six
	 * for the PSN) and the XDP_TX exit */
	INS(.code = BPF_JMP | BPF_JGT | BPF_X, .dst_reg = BPF_REG_4, .src_reg = BPF_REG_3,
	    .off = (short)(plen / 4 + plen % 4 + (psn_off >= 0 ? 9 : 0) + 2));
	unsigned off = 0;
	for (; off + 4 <= plen; off += 4) {
		int32_t v;
		memcpy(&v, pkt + off, 4);
		INS(.code = BPF_ST | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2, .off = (short)off, .imm = v);
	}
	for (; off < plen; off++)
		INS(.code = BPF_ST | BPF_MEM | BPF_B, .dst_reg = BPF_REG_2, .off = (short)off, .imm = pkt[off]);
	if (psn_off >= 0)
		for (int b = 0; b < 3; b++) { /* PSN byte b = r7 >> (16 - 8b) */
			INS(.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_5, .src_reg = BPF_REG_7);
			INS(.code = BPF_ALU64 | BPF_RSH | BPF_K, .dst_reg = BPF_REG_5, .imm = 16 - 8 * b);
			INS(.code = BPF_STX | BPF_MEM | BPF_B, .dst_reg = BPF_REG_2, .src_reg = BPF_REG_5,
			    .off = (short)(psn_off + b));
		}
	INS(.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_TX);
	INS(.code = BPF_JMP | BPF_EXIT);
	if (psn_abort >= 0)
		insns[psn_abort].off = (short)(n - psn_abort - 1);
	INS(.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_ABORTED);
	INS(.code = BPF_JMP | BPF_EXIT);
#undef INS
	int prog = bpf_prog_load(BPF_PROG_TYPE_XDP, "aigw_gen_tx", "GPL", insns, n, NULL);
	if (prog < 0) { fprintf(stderr, "aigw-xdp-gen: prog load: %s\n", strerror(-prog)); return 1; }

	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) perror("aigw-xdp-gen: sched_setaffinity");
	signal(SIGTERM, on_sig);
	signal(SIGINT, on_sig);

	struct xdp_md ctx = { .data = 0, .data_end = plen, .ingress_ifindex = ifindex };
	double end = now() + seconds;
	const unsigned chunk = rate > 0 ? (unsigned)batch : 16384;
	const double start = now();
	printf("ready\n");
	fflush(stdout);
	while (!stop && sent < count && now() < end) {
		unsigned n = count - sent < chunk ? (unsigned)(count - sent) : chunk;
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt, .data_size_in = plen,
			    .ctx_in = &ctx, .ctx_size_in = sizeof(ctx), .repeat = n,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES, .batch_size = batch);
		int err = bpf_prog_test_run_opts(prog, &o);
		if (err) { fprintf(stderr, "aigw-xdp-gen: test run: %s\n", strerror(-err)); return 1; }
		sent += n;
		if (rate > 0) {
			double ahead = start + sent / rate - now();
			if (ahead > 0) {
				struct timespec ts = { (time_t)ahead, (long)((ahead - (time_t)ahead) * 1e9) };
				nanosleep(&ts, NULL);
			}
		}
		if (counter) {
			FILE *f = fopen(counter, "w");
			if (f) { fprintf(f, "%llu\n", sent); fclose(f); }
		}
	}
	printf("sent %llu\n", sent);
	return 0;
}
