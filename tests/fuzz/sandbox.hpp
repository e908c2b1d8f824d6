// The packet fuzzer's sandbox: a network namespace aigwt-fuzz-<pid> with the
// datapath tests' topology (veth pairs only), and a child process that runs
// inside it on a private bpffs. The parent removes the namespace however
// the child ends (exit, crash, signal).
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace aigw::fuzz {

// Runs argv (no shell); returns the exit status (-1 when it did not run).
int run_command(const std::vector<std::string>& argv);

struct SandboxSpec {
  std::string topology_file;         // `ip -batch` lines
  std::vector<std::string> sysctls;  // "key=value"
};

// Creates the namespace, runs `body` in a child inside it (its network
// namespace, a private mount namespace with a fresh bpffs on /sys/fs/bpf),
// waits, deletes the namespace. Returns body's exit code (128 + signal when
// it was killed), or 2 when the sandbox could not be set up.
int run_in_sandbox(const SandboxSpec& spec, const std::function<int()>& body);

}  // namespace aigw::fuzz
