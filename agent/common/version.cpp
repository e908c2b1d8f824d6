#include "common/version.hpp"

#include <fmt/format.h>
#include <sys/utsname.h>

#include <cstdio>

namespace aigw {

const char* version() { return AIGW_VERSION; }

std::optional<std::string> kernel_too_old(const std::string& release) {
  int major = 0, minor = 0;
  if (std::sscanf(release.c_str(), "%d.%d", &major, &minor) != 2) return std::nullopt;
  if (major > kMinKernelMajor || (major == kMinKernelMajor && minor >= kMinKernelMinor))
    return std::nullopt;
  return fmt::format(
      "Linux {} is older than {}.{}, the oldest aigw runs on (bpf_fib_lookup with a table id, "
      "for End.DT4/DT6/DT46)",
      release, kMinKernelMajor, kMinKernelMinor);
}

std::string kernel_release() {
  utsname u{};
  return ::uname(&u) == 0 ? u.release : "";
}

}  // namespace aigw
