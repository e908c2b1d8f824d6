// libFuzzer entry point for the configuration parser (AIGW_LIBFUZZER=ON,
// clang: -fsanitize=fuzzer,address). An exception escaping parse_config, a
// sanitizer report or an error naming another file or a line outside the
// text is a crash libFuzzer keeps.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto r = aigw::parse_config(text, "fuzz.yaml");
  if (const auto* errs = std::get_if<std::vector<aigw::ConfigError>>(&r)) {
    const auto lines = static_cast<int>(std::count(text.begin(), text.end(), '\n')) + 1;
    for (const auto& e : *errs)
      if (e.file != "fuzz.yaml" || e.line < 0 || e.line > lines) std::abort();
  }
  return 0;
}
