// A shared key as an operator writes it: a file of 32..128 hex digits
// (16..64 bytes), surrounding white space allowed (bp::parse_key_hex).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace aigw::features {

// The key in `path`; ApplyError starting with `who` when the file cannot
// be read or does not hold a key.
std::vector<uint8_t> load_key_file(const std::string& path, const std::string& who);

}  // namespace aigw::features
