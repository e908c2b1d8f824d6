// Parsing entry points: the document, the file, single objects (aigwctl
// requests) and validation. Each section is parsed and validated by the file
// beside the module that owns it (parse_<section>.cpp, see parse_util.hpp).
#include "config/parse.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "config/parse_util.hpp"

namespace aigw {

using namespace parse_detail;

namespace {

// Counts the documents of a YAML stream, stopping at the second. yaml-cpp
// 0.7's LoadAll never returns on some malformed input (",--" then a
// mapping): it keeps reporting empty documents without consuming any, and
// allocates a node for each until memory runs out.
struct DocumentCounter : YAML::EventHandler {
  int documents = 0;
  YAML::Mark second{};  // where the second document starts
  void OnDocumentStart(const YAML::Mark& m) override {
    if (++documents == 2) second = m;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

DocumentCounter count_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  DocumentCounter c;
  while (c.documents < 2 && parser.HandleNextDocument(c)) {
  }
  return c;
}

constexpr size_t kMaxFileSize = 16 << 20;

// Cross-object checks, section by section (the order of the errors of
// validate()).
void validate_impl(Sink& s, const Config& c, const Origin& o) {
  validate_interfaces(s, c, o);
  validate_policies(s, c, o);
  validate_sids(s, c, o);
  validate_tenants_classes(s, c, o);
  validate_classification(s, c, o);
  validate_rdma_proxy(s, c);
}

// The sections of a document, in the order their errors are found.
void parse_sections(Sink& s, const YAML::Node& root, Config& c, Origin& o) {
  MapReader top(s, root, "",
                {"agent", "datapath", "interfaces", "policies", "sids", "apn", "tenants", "classes",
                 "classification", "flows", "elephants", "accounting", "ipfix", "rdma_proxy",
                 "backpressure"});
  if (auto e = top.get("agent")) parse_agent(s, *e, c.agent);
  if (auto e = top.get("datapath")) o.check_capacity = parse_datapath(s, *e, c.datapath);
  auto ifs = top.get("interfaces");
  parse_list(s, ifs, "interfaces", c.interfaces, o.interfaces, interface_impl);
  if (ifs && ifs->value.IsSequence()) {
    for (const auto& n : ifs->value) {
      // A missing key is an invalid node in yaml-cpp: only IsDefined() may
      // be asked of it (anything else throws).
      if (!n.IsMap()) continue;
      const YAML::Node name = n["name"];
      if (name.IsDefined() && name.IsScalar()) o.file_interfaces.insert(name.Scalar());
    }
  }
  parse_list(s, top.get("policies"), "policies", c.policies, o.policies, policy_impl);
  parse_list(s, top.get("sids"), "SIDs", c.sids, o.sids, sid_impl);
  // apn before classification: APP:USER IDs follow its template.
  if (auto e = top.get("apn")) parse_apn(s, *e, c.apn);
  parse_list(s, top.get("tenants"), "tenants", c.tenants, o.tenants, tenant_impl);
  parse_list(s, top.get("classes"), "classes", c.classes, o.classes, class_impl);
  if (auto e = top.get("classification"))
    parse_classification(s, *e, c.classification, o.rules, c.apn, o.default_line);
  if (auto e = top.get("flows")) parse_flows(s, *e, c.flows);
  if (auto e = top.get("elephants")) parse_elephants(s, *e, c.elephants);
  if (auto e = top.get("accounting")) parse_accounting(s, *e, c.accounting);
  if (auto e = top.get("ipfix")) parse_ipfix(s, *e, c.ipfix);
  if (auto e = top.get("rdma_proxy")) parse_rdma_proxy(s, *e, c.rdma_proxy);
  if (auto e = top.get("backpressure")) parse_backpressure(s, *e, c.backpressure);
}

}  // namespace

// ------------------------------------------------------------ public API

std::string ConfigError::str() const {
  if (field.empty()) return fmt::format("{}:{}: {}", file, line, message);
  return fmt::format("{}:{}: {}: {}", file, line, field, message);
}

std::string format_errors(const std::vector<ConfigError>& errors, std::string_view sep) {
  std::string out;
  for (const auto& e : errors) {
    if (!out.empty()) out += sep;
    out += e.str();
  }
  return out;
}

std::variant<Interface, std::vector<ConfigError>> parse_interface(const YAML::Node& n,
                                                                  const std::string& filename,
                                                                  const std::string& path) {
  return one_object<Interface>(interface_impl, n, filename, path);
}

std::variant<Policy, std::vector<ConfigError>> parse_policy(const YAML::Node& n,
                                                            const std::string& filename,
                                                            const std::string& path) {
  return one_object<Policy>(policy_impl, n, filename, path);
}

std::variant<Sid, std::vector<ConfigError>> parse_sid(const YAML::Node& n,
                                                      const std::string& filename,
                                                      const std::string& path) {
  return one_object<Sid>(sid_impl, n, filename, path);
}

std::vector<ConfigError> validate(const Config& c, const std::string& filename) {
  Sink s(filename);
  validate_impl(s, c, Origin{});
  return std::move(s.errors());
}

ParseResult parse_config(std::string_view yaml_text, const std::string& filename) {
  Sink s(filename);
  const std::string text(yaml_text);
  YAML::Node root;
  try {
    DocumentCounter docs = count_documents(text);
    if (docs.documents > 1) {
      s.error(docs.second.line < 0 ? 1 : docs.second.line + 1, "",
              "more than one YAML document ('---'); expected exactly one");
      return std::move(s.errors());
    }
    if (docs.documents == 1) root = YAML::Load(text);
  } catch (const YAML::ParserException& ex) {
    s.error(ex.mark.line < 0 ? 0 : ex.mark.line + 1, "",
            fmt::format("YAML syntax error: {}", ex.msg));
    return std::move(s.errors());
  } catch (const YAML::Exception& ex) {
    s.error(0, "", fmt::format("YAML error: {}", ex.what()));
    return std::move(s.errors());
  }
  if (!root.IsDefined() || root.IsNull()) {
    s.error(1, "", "empty configuration (write {} to configure nothing)");
    return std::move(s.errors());
  }
  if (!root.IsMap()) {
    s.error(line_of(root), "",
            fmt::format("expected a mapping (agent, datapath, interfaces, policies, sids) at "
                        "the top level, got {}",
                        describe(root)));
    return std::move(s.errors());
  }

  Config c;
  Origin o;
  try {
    parse_sections(s, root, c, o);
    validate_impl(s, c, o);
  } catch (const YAML::Exception& e) {
    // A reader that asked an invalid node: an error of the file, never an
    // abort of the agent.
    s.error(e.mark.line < 0 ? 0 : e.mark.line + 1, "", fmt::format("malformed: {}", e.msg));
  }

  if (s.count() == 0) return c;
  auto& errs = s.errors();
  std::stable_sort(errs.begin(), errs.end(),
                   [](const ConfigError& a, const ConfigError& b) { return a.line < b.line; });
  return std::move(errs);
}

ParseResult load_config_file(const std::string& path) {
  auto fail = [&](std::string msg) -> ParseResult {
    return std::vector<ConfigError>{{path, 0, "", std::move(msg)}};
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open: {}", std::strerror(errno)));
  struct FdGuard {
    int fd;
    ~FdGuard() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) return fail(fmt::format("cannot stat: {}", std::strerror(errno)));
  if (S_ISDIR(st.st_mode)) return fail("is a directory");
  std::string text;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return fail(fmt::format("cannot read: {}", std::strerror(errno)));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxFileSize) {
      return fail(fmt::format("file larger than {} bytes", kMaxFileSize));
    }
  }
  return parse_config(text, path);
}

}  // namespace aigw
