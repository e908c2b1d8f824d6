// Mutations of YAML configuration files for the config fuzzer: YAML-aware
// ones on the parsed tree (hostile scalars, wrong types, deleted and
// duplicated keys and list items, deep nesting) and text-level ones
// (duplicate keys, anchors and aliases, merge keys, tags, documents, byte
// flips, truncation).
#pragma once

#include <string>

#include "fuzz_util.hpp"

namespace aigw::fuzz {

// 1-3 stacked mutations of `text`; `what` gets their names.
std::string mutate_yaml(const std::string& text, Rng& rng, std::string& what);

}  // namespace aigw::fuzz
