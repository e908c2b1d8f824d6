#include "control/protocol.hpp"

#include <fmt/format.h>

#include <set>
#include <string>
#include <vector>

namespace aigw {

using nlohmann::json;

namespace {

// Control characters (a NUL would cut an error text short) shown as \xNN.
std::string printable(std::string_view s) {
  std::string out;
  for (unsigned char ch : s) {
    if (ch < 0x20 || ch == 0x7f)
      out += fmt::format("\\x{:02x}", ch);
    else
      out += static_cast<char>(ch);
  }
  return out;
}

}  // namespace

Request parse_request(std::string_view line) {
  if (line.size() > kMaxLineBytes)
    throw ProtocolError(fmt::format("request line exceeds {} bytes", kMaxLineBytes));
  json j;
  try {
    // No request needs deep nesting; a deep one would only cost stack in
    // every recursive consumer (YAML conversion, serialisation).
    // A key given twice is refused: with "last wins" a request could show
    // one command to a reader and run another.
    std::vector<std::set<std::string>> keys;  // per open object
    j = json::parse(line, [&keys](int depth, json::parse_event_t ev, json& parsed) {
      if (depth > static_cast<int>(kMaxRequestDepth))
        throw ProtocolError(fmt::format("request nested deeper than {} levels", kMaxRequestDepth));
      if (ev == json::parse_event_t::object_start) keys.emplace_back();
      if (ev == json::parse_event_t::object_end && !keys.empty()) keys.pop_back();
      if (ev == json::parse_event_t::key && !keys.empty() &&
          !keys.back().insert(parsed.get<std::string>()).second)
        throw ProtocolError(
            fmt::format("duplicate key \"{}\" in request", printable(parsed.get<std::string>())));
      return true;
    });
  } catch (const json::exception& e) {
    // parse_error, or out_of_range for a number beyond a double
    // ("-1E9779973"). e.what() is "[json.exception.parse_error.101] parse
    // error at line 1, ...".
    std::string what = e.what();
    auto pos = what.find("] ");
    throw ProtocolError(
        fmt::format("invalid JSON: {}", pos == std::string::npos ? what : what.substr(pos + 2)));
  }
  if (!j.is_object()) throw ProtocolError("request must be a JSON object");
  auto c = j.find("cmd");
  if (c == j.end()) throw ProtocolError("request has no \"cmd\"");
  if (!c->is_string()) throw ProtocolError("\"cmd\" must be a string");
  Request r;
  r.cmd = c->get<std::string>();
  if (r.cmd.empty()) throw ProtocolError("\"cmd\" is empty");
  if (printable(r.cmd) != r.cmd)
    throw ProtocolError(fmt::format("\"cmd\" contains control characters: \"{}\"", printable(r.cmd)));
  auto a = j.find("args");
  if (a != j.end() && !a->is_null()) {
    if (!a->is_object()) throw ProtocolError("\"args\" must be an object");
    r.args = std::move(*a);
  }
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "cmd" && it.key() != "args")
      throw ProtocolError(fmt::format("unknown request key \"{}\"", it.key()));
  }
  return r;
}

json make_request(std::string_view cmd, json args) {
  return json{{"cmd", std::string(cmd)}, {"args", std::move(args)}};
}

json make_ok(json data) { return json{{"ok", true}, {"data", std::move(data)}}; }

json make_error(std::string_view message) {
  return json{{"ok", false}, {"error", std::string(message)}};
}

void check_response(const json& r) {
  if (!r.is_object()) throw ProtocolError("response is not a JSON object");
  auto ok = r.find("ok");
  if (ok == r.end() || !ok->is_boolean()) throw ProtocolError("response has no boolean \"ok\"");
  if (!ok->get<bool>()) {
    auto e = r.find("error");
    if (e == r.end() || !e->is_string())
      throw ProtocolError("error response has no string \"error\"");
  }
}

std::string to_line(const json& j) {
  std::string s = j.dump(-1, ' ', false, json::error_handler_t::replace);
  s.push_back('\n');
  return s;
}

}  // namespace aigw
