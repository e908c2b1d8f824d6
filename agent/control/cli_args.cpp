// aigwctl: keyword arguments and value checks shared by the object files.
#include <fmt/format.h>

#include <charconv>
#include <variant>

#include "common/net.hpp"
#include "control/cli_internal.hpp"

namespace aigw::cli {

const std::string& Keywords::value(const std::string& kw) {
  if (done()) throw UsageError(fmt::format("'{}' needs a value", kw));
  return w_[i_++];
}

void Keywords::once(const std::string& canonical) {
  if (!seen_.insert(canonical).second)
    throw UsageError(fmt::format("'{}' given more than once", canonical));
}

uint64_t parse_uint(const std::string& text, std::string_view what, uint64_t min, uint64_t max) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < min || v > max)
    throw UsageError(fmt::format("bad {} '{}' (expected {}..{})", what, text, min, max));
  return v;
}

// auto|off|536..65534, as YAML spells it.
json parse_mss(const std::string& text) {
  if (text == "auto" || text == "off") return text;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || v < 536 || v > 65534)
    throw UsageError(fmt::format("bad tcp-mss '{}' (expected auto, off or 536..65534)", text));
  return v;
}

void check_prefix(const std::string& text, std::string_view what) {
  auto r = Prefix::parse(text);
  if (auto* e = std::get_if<std::string>(&r))
    throw UsageError(fmt::format("bad {} '{}': {}", what, text, *e));
}

void check_ip6(const std::string& text, std::string_view what) {
  if (!Ip6::parse(text))
    throw UsageError(fmt::format("bad {} '{}': not an IPv6 address", what, text));
}

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    auto c = text.find(',', start);
    out.push_back(text.substr(start, c == std::string::npos ? std::string::npos : c - start));
    if (c == std::string::npos) break;
    start = c + 1;
  }
  return out;
}

void expect_words(const std::vector<std::string>& w, std::size_t min, std::size_t max,
                  std::string_view what) {
  if (w.size() < min) throw UsageError(fmt::format("missing {}", what));
  if (w.size() > max) throw UsageError(fmt::format("unexpected argument '{}'", w[max]));
}

// Keyword NAME of accounting commands: "tenant", "--tenant", "--tenant=X"
// all mean the same (iproute2 style and option style both work).
std::string accounting_keyword(const std::string& w) {
  std::string k = w;
  if (k.starts_with("--"))
    k = k.substr(2);
  else if (k.starts_with("-"))
    k = k.substr(1);
  return k;
}

// "--by=rate" -> ("--by", "rate"); anything else unchanged.
std::vector<std::string> split_equals(const std::vector<std::string>& w) {
  std::vector<std::string> out;
  for (const auto& t : w) {
    auto eq = t.find('=');
    if (t.starts_with("-") && eq != std::string::npos) {
      out.push_back(t.substr(0, eq));
      out.push_back(t.substr(eq + 1));
    } else {
      out.push_back(t);
    }
  }
  return out;
}

}  // namespace aigw::cli
