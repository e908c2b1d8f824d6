// The control commands a module serves: name -> handler, with whether the
// command changes state (a read-only client may run only the others).
#pragma once

#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>

namespace aigw::core {

enum class Access { Read, Write };

class CommandTable {
 public:
  using Handler = std::function<nlohmann::json(const nlohmann::json& args)>;
  struct Entry {
    Handler handler;
    Access access = Access::Read;
  };

  // A second registration of one name is a programming error.
  void add(const std::string& name, Access access, Handler h) {
    if (!table_.emplace(name, Entry{std::move(h), access}).second)
      throw std::logic_error("command registered twice: " + name);
  }
  const Entry* find(const std::string& name) const {
    auto it = table_.find(name);
    return it == table_.end() ? nullptr : &it->second;
  }
  size_t size() const { return table_.size(); }

 private:
  std::map<std::string, Entry> table_;
};

}  // namespace aigw::core
