#include "features/key_file.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "backpressure/message.hpp"
#include "datapath/types.hpp"

namespace aigw::features {

std::vector<uint8_t> load_key_file(const std::string& path, const std::string& who) {
  std::ifstream f(path);
  if (!f) throw ApplyError(fmt::format("{}: {}", who, strerror(errno)));
  std::stringstream text;
  text << f.rdbuf();
  auto key = bp::parse_key_hex(text.str());
  if (!key)
    throw ApplyError(fmt::format("{}: expected {}..{} hex digits", who, 2 * bp::kMinKeyBytes,
                                 2 * bp::kMaxKeyBytes));
  return *key;
}

}  // namespace aigw::features
