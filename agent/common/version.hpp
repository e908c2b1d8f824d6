#pragma once
namespace aigw {
// Version of this build (CMake project version).
const char* version();
}  // namespace aigw
