// Waiting for the datapath's readers: a map entry that no program can reach
// any more may still be read by a program run that looked it up just before.
#pragma once

namespace aigw::dp {

// Returns once every BPF program run that began before the call has
// finished. XDP and TC programs run inside RCU read-side sections, and
// membarrier(MEMBARRIER_CMD_GLOBAL) is synchronize_rcu() in the kernel (a
// few milliseconds). Returns false, having waited for nothing, when the
// kernel refuses it (nohz_full CPUs, no CONFIG_MEMBARRIER): the caller must
// then keep the entry intact some other way.
bool wait_for_program_runs();

}  // namespace aigw::dp
