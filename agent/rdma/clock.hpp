// The proxy's clock: monotonic.
#pragma once

#include <chrono>

namespace aigw::rdma {

using Clock = std::chrono::steady_clock;

}  // namespace aigw::rdma
