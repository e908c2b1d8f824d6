#include "common/version.hpp"

namespace aigw {
const char* version() { return AIGW_VERSION; }
}  // namespace aigw
