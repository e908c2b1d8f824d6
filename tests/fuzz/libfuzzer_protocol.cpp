// libFuzzer entry point for the control protocol's request parser
// (AIGW_LIBFUZZER=ON). Anything but ProtocolError escaping parse_request,
// or to_line() throwing on what the server would send back, is a crash.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "control/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    const aigw::Request r = aigw::parse_request(line);
    (void)aigw::to_line(aigw::make_request(r.cmd, r.args));
  } catch (const aigw::ProtocolError& e) {
    (void)aigw::to_line(aigw::make_error(e.what()));
  }
  return 0;
}
