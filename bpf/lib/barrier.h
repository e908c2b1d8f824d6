/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Compiler barriers that keep code verifiable. */
#ifndef AIGW_BPF_BARRIER_H
#define AIGW_BPF_BARRIER_H

/* Before a bound check on a value used as a packet offset: makes the value
 * opaque to clang, so that it checks and uses the same register instead of
 * checking a transformed copy (the verifier tracks bounds per register).
 * (libbpf's barrier_var() is the same asm.) */
#define AIGW_BARRIER_VAR(v) asm volatile("" : "+r"(v))

#endif
