// One loader for every aigw BPF object (XDP and TC): opens the skeletons,
// sizes their maps from one table, pins the maps under the pin path (or
// reuses the pins of an earlier run when their shape matches), shares each
// map among all objects by name, loads, and attaches programs at either
// hook: XDP (native or generic) or TC (clsact ingress/egress, libbpf's
// bpf_tc_* API). Safety rules of every attach: a foreign program is never
// replaced; a program of ours is replaced atomically.
#pragma once

#include <bpf/libbpf.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/fd.hpp"
#include "common/lock.hpp"
#include "common/log.hpp"
#include "config/model.hpp"
#include "datapath/types.hpp"

namespace aigw {

// One opened skeleton, type-erased (the generated open/load/destroy).
class BpfObject {
 public:
  template <class Skel>
  static std::unique_ptr<BpfObject> open(std::string name,
                                         Skel* (*open_fn)(const bpf_object_open_opts*),
                                         int (*load_fn)(Skel*), void (*destroy_fn)(Skel*),
                                         const std::function<void(Skel*)>& configure,
                                         const bpf_object_open_opts* opts) {
    Skel* s = open_fn(opts);
    if (!s) return nullptr;
    if (configure) configure(s);  // read-only data, before load
    auto o = std::unique_ptr<BpfObject>(new BpfObject(std::move(name), s->obj));
    o->skel_ =
        std::shared_ptr<void>(s, [destroy_fn](void* p) { destroy_fn(static_cast<Skel*>(p)); });
    o->load_ = [load_fn, s] { return load_fn(s); };
    return o;
  }
  const std::string& name() const { return name_; }
  bpf_object* obj() const { return obj_; }
  int load() { return load_(); }

 private:
  BpfObject(std::string name, bpf_object* obj) : name_(std::move(name)), obj_(obj) {}
  std::string name_;
  bpf_object* obj_;
  std::shared_ptr<void> skel_;
  std::function<int()> load_;
};

// How to open one object (a skeleton's generated functions).
struct ObjectSpec {
  std::string name;
  std::function<std::unique_ptr<BpfObject>(const bpf_object_open_opts*)> open;
};

// `configure` sets the object's read-only data between open and load.
template <class Skel>
ObjectSpec object_spec(std::string name, Skel* (*open_fn)(const bpf_object_open_opts*),
                       int (*load_fn)(Skel*), void (*destroy_fn)(Skel*),
                       std::function<void(Skel*)> configure = {}) {
  return {name, [=](const bpf_object_open_opts* o) {
            return BpfObject::open<Skel>(name, open_fn, load_fn, destroy_fn, configure, o);
          }};
}

// A map as the agent uses it after load.
struct MapInfo {
  std::string name;
  int fd = -1;
  uint32_t type = 0;
  uint32_t key_size = 0;
  uint32_t value_size = 0;
  uint32_t max_entries = 0;
};

// The Kconfig to give libbpf for the programs' __kconfig externs: empty
// when the kernel's configuration is readable (libbpf reads it), else
// CONFIG_HZ=0 (libbpf refuses to load without; see Loader::Options::kconfig).
std::string fallback_kconfig();

enum class Hook { Xdp, TcIngress, TcEgress };
const char* to_string(Hook h);

class Loader {
 public:
  struct Options {
    std::string pin_path;
    std::map<std::string, uint32_t> sizes;  // map name -> max_entries (before load)
    const Logger* log = nullptr;
    // Kconfig lines for the programs' __kconfig externs (CONFIG_HZ:
    // bpf/lib/nhcache.h). Empty: the running kernel's configuration, which
    // libbpf reads; where the kernel has none, CONFIG_HZ=0 (libbpf refuses
    // to load without it; the programs then use their fallback clock).
    std::string kconfig;
  };
  // Opens, sizes, pins and loads `objects` in order: the first object that
  // has a map defines (and pins) it, later ones reuse it. Throws
  // DatapathError with context.
  Loader(Options opts, const std::vector<ObjectSpec>& objects);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  const MapInfo& map(std::string_view name) const;  // throws DatapathError if absent
  int map_fd(std::string_view name) const { return map(name).fd; }
  bool has_map(std::string_view name) const;
  int prog_fd(std::string_view prog) const;  // throws DatapathError if absent
  int ncpus() const { return ncpus_; }

  // Attach program `prog` at (ifindex, hook). XDP takes `mode`; TC ignores it.
  void attach(int ifindex, Hook hook, std::string_view prog, XdpMode mode = XdpMode::Native);
  // Attaches a tracing program (tp_btf, fentry...) where its section names;
  // it stays attached as long as this loader. Throws DatapathError.
  void attach_tracing(std::string_view prog);
  // Removes only our program at (ifindex, hook); nothing if we have none.
  void detach(int ifindex, Hook hook);
  void detach_all();
  // Takes over the XDP programs of ours that an earlier agent left attached
  // (programs stay attached while no agent runs) on these interfaces, so
  // that the configuration decides: attach() replaces them atomically,
  // detach() removes them. Returns the interfaces taken over.
  std::vector<int> adopt_xdp(const std::vector<int>& ifindexes);
  bool adopted(int ifindex) const { return adopted_.count(ifindex) != 0; }
  // Removes what this loader attached where no program of ours was before
  // (a start that failed half way: the ports it took over keep forwarding).
  void detach_fresh();
  // Removes the XDP program on ifindex if its name is one of `names` (an
  // agent's programs, with no agent running). Returns whether it did.
  static bool detach_xdp_named(int ifindex, const std::vector<std::string>& names);
  // The same for our filter at a TC hook.
  static bool detach_tc_named(int ifindex, Hook hook, const std::vector<std::string>& names);
  // The name of the XDP program on ifindex (either mode), if any.
  static std::optional<std::string> xdp_prog_name(int ifindex);
  struct Attached {
    std::string prog;
    XdpMode mode = XdpMode::Native;
  };
  std::optional<Attached> attached(int ifindex, Hook hook) const;
  std::vector<std::pair<int, Hook>> attachments() const;
  // Whether our program for (ifindex, hook) is attached now, asked of the
  // kernel.
  bool in_kernel(int ifindex, Hook hook) const;

  // Removes every aigw map pin under pin_path (and the directory if empty).
  // Throws LockBusy (common/lock.hpp) while an agent holds that datapath.
  // `under_lock` runs first, with the lock held (it may throw to refuse).
  static void unpin_all(const std::string& pin_path, const std::function<void()>& under_lock = {});

 private:
  void open_all(const std::vector<ObjectSpec>& objects);
  void size_maps();
  void check_pins(bpf_object* obj);
  void share_or_pin(bpf_object* obj, std::vector<bpf_map*>& to_pin);
  void load_one(BpfObject& o);
  void collect_maps_and_progs(bpf_object* obj);
  bool is_ours(const std::string& prog_name) const;
  bool attach_xdp(int ifindex, int fd, XdpMode mode);
  bool attach_tc(int ifindex, Hook hook, int fd);
  void warn(const std::string& m) const;

  Options opts_;
  // Held from before the first map is opened until after the last is closed
  // (declared before the objects: destroyed after them): one agent per pin
  // path.
  std::optional<ExclusiveLock> pin_lock_;
  int ncpus_ = 1;
  std::vector<std::unique_ptr<BpfObject>> objects_;
  std::map<std::string, MapInfo, std::less<>> maps_;
  std::map<std::string, int, std::less<>> progs_;
  std::map<std::pair<int, Hook>, Attached> attached_;
  std::map<int, Fd> adopted_;             // ifindex -> an earlier agent's XDP program
  std::set<std::pair<int, Hook>> fresh_;  // attached where none of ours was
  struct LinkDeleter {
    void operator()(bpf_link* l) const { bpf_link__destroy(l); }
  };
  // Tracing attachments (after objects_: detached before they are closed).
  std::vector<std::unique_ptr<bpf_link, LinkDeleter>> links_;
};

}  // namespace aigw
