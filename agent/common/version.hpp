#pragma once
#include <optional>
#include <string>

namespace aigw {
// Version of this build (CMake project version).
const char* version();

// The oldest Linux aigw runs on: 6.5 added the table id to bpf_fib_lookup
// (BPF_FIB_LOOKUP_TBID), which End.DT4/DT6/DT46 route with.
inline constexpr int kMinKernelMajor = 6;
inline constexpr int kMinKernelMinor = 5;

// Why the kernel `release` (uname -r, e.g. "6.1.0-13-amd64") is too old,
// or nullopt when it is recent enough (or unreadable: not refused).
std::optional<std::string> kernel_too_old(const std::string& release);
// The running kernel's release (uname -r).
std::string kernel_release();
}  // namespace aigw
