// The packet fuzzer's starting corpus: valid frames for every path of the
// two XDP programs under tests/fuzz/packet_fuzz.yaml (the topology and
// addresses of tests/datapath/dptest.py).
#pragma once

#include <string>
#include <vector>

#include "fuzz_util.hpp"

namespace aigw::fuzz {

enum class Program { Headend, Endpoint };

struct Seed {
  std::string name;
  Program prog;
  std::string iface;  // ingress interface (its ifindex is the test run's ingress)
  Bytes frame;
};

std::vector<Seed> packet_corpus();

}  // namespace aigw::fuzz
