#include "datapath/loader.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <fmt/format.h>
#include <linux/if_link.h>
#include <linux/magic.h>
#include <net/if.h>
#include <sys/mount.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include "common/fd.hpp"
#include "datapath/map_io.hpp"

namespace aigw {
namespace {

using maps::errstr;

// The TC filter aigw owns on a clsact hook: one handle and priority, so
// that our filter is found (and replaced) without touching others.
constexpr uint32_t kTcHandle = 0xa16;
constexpr uint32_t kTcPriority = 0xa16;

bool is_aigw_map(const char* name) { return std::string_view(name).rfind("aigw_", 0) == 0; }

// The kernel forces BPF_F_RDONLY_PROG on devmaps, so libbpf never finds such
// a pin compatible with its spec: those are pinned and reused by hand.
bool pinned_by_hand(const bpf_map* m) {
  auto t = bpf_map__type(m);
  return t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH;
}

// The program with this id, and its name (the kernel keeps 15 characters).
std::optional<std::string> prog_name_of(const Fd& fd) {
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  if (fd.get() < 0 || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return std::nullopt;
  return std::string(info.name);
}

std::optional<std::string> prog_name_of_id(uint32_t id) {
  return prog_name_of(Fd(bpf_prog_get_fd_by_id(id)));
}

// `ip netns exec` gives a process a fresh /sys without the bpffs mount. Mount
// one where the pin path expects it; its pins then live only as long as that
// mount namespace (run aigwd with `nsenter --net=...` to keep the host's).
void ensure_bpffs(const std::string& pin_path, const Logger* log) {
  const std::string root = "/sys/fs/bpf";
  if (pin_path.rfind(root + "/", 0) != 0) return;
  struct statfs st {};
  if (::statfs(root.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC) return;
  if (::mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0)
    throw DatapathError(
        fmt::format("{} is not a bpf filesystem and mounting one failed: {}", root, errstr(errno)));
  if (log)
    log->warn(
        "mounted a bpf filesystem on {} (none was visible): pinned maps will not outlive "
        "this mount namespace",
        root);
}

}  // namespace

std::string ifname_of(int ifindex) {
  char buf[IF_NAMESIZE] = {};
  return if_indextoname(ifindex, buf) ? std::string(buf) : fmt::format("if{}", ifindex);
}

const char* to_string(Hook h) {
  switch (h) {
    case Hook::Xdp:
      return "xdp";
    case Hook::TcIngress:
      return "tc ingress";
    case Hook::TcEgress:
      return "tc egress";
  }
  return "?";
}

Loader::Loader(Options opts, const std::vector<ObjectSpec>& objects) : opts_(std::move(opts)) {
  ensure_bpffs(opts_.pin_path, opts_.log);
  std::error_code ec;
  std::filesystem::create_directories(opts_.pin_path, ec);
  if (ec)
    throw DatapathError(
        fmt::format("cannot create pin directory {}: {}", opts_.pin_path, ec.message()));
  pin_lock_.emplace(opts_.pin_path, fmt::format("the datapath pinned at {}", opts_.pin_path));
  ncpus_ = libbpf_num_possible_cpus();
  if (ncpus_ <= 0) throw DatapathError("cannot count possible CPUs");
  open_all(objects);
  size_maps();
  for (auto& o : objects_) load_one(*o);
}

Loader::~Loader() = default;

void Loader::warn(const std::string& m) const {
  if (opts_.log) opts_.log->warn("{}", m);
}

// Where libbpf looks for the kernel's configuration (its __kconfig externs).
std::string fallback_kconfig() {
  utsname u{};
  if (::uname(&u) == 0 && ::access(fmt::format("/boot/config-{}", u.release).c_str(), R_OK) == 0)
    return {};
  return ::access("/proc/config.gz", R_OK) == 0 ? std::string() : std::string("CONFIG_HZ=0\n");
}

void Loader::open_all(const std::vector<ObjectSpec>& objects) {
  std::string kconfig = opts_.kconfig.empty() ? fallback_kconfig() : opts_.kconfig;
  if (opts_.kconfig.empty() && !kconfig.empty())
    warn(
        "no kernel configuration (/boot/config-RELEASE, /proc/config.gz): the next-hop caches "
        "use the coarse clock instead of jiffies");
  LIBBPF_OPTS(bpf_object_open_opts, oo, .pin_root_path = opts_.pin_path.c_str(),
              .kconfig = kconfig.empty() ? nullptr : kconfig.c_str());
  for (const auto& spec : objects) {
    auto o = spec.open(&oo);
    if (!o) throw DatapathError(fmt::format("open {} program: {}", spec.name, errstr(errno)));
    objects_.push_back(std::move(o));
  }
}

// Every object that has a map gets the same size; a sized map no object
// defines is a build mismatch, said clearly.
void Loader::size_maps() {
  for (const auto& [name, n] : opts_.sizes) {
    bool found = false;
    for (auto& o : objects_) {
      bpf_map* m = bpf_object__find_map_by_name(o->obj(), name.c_str());
      if (!m) continue;
      found = true;
      if (bpf_map__set_max_entries(m, n) != 0)
        throw DatapathError(fmt::format("cannot size map {} to {}", name, n));
    }
    if (!found) throw DatapathError(fmt::format("map {} is not in the BPF objects", name));
  }
}

// A pinned map from an earlier run is reused (counters and entries survive a
// restart) unless its shape differs from what this build and config want;
// then the stale pin is removed and a fresh map is created.
void Loader::check_pins(bpf_object* obj) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    if (!is_aigw_map(bpf_map__name(m)) || maps_.count(bpf_map__name(m))) continue;
    std::string path = fmt::format("{}/{}", opts_.pin_path, bpf_map__name(m));
    Fd fd(bpf_obj_get(path.c_str()));
    if (fd.get() < 0) continue;
    bpf_map_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) continue;
    if (info.type != bpf_map__type(m) || info.key_size != bpf_map__key_size(m) ||
        info.value_size != bpf_map__value_size(m) || info.max_entries != bpf_map__max_entries(m) ||
        (info.map_flags & ~BPF_F_RDONLY_PROG) != bpf_map__map_flags(m)) {
      warn(
          fmt::format("pinned map {} does not match this build/config (max_entries {} -> {}); "
                      "replacing it, its contents are lost",
                      path, info.max_entries, bpf_map__max_entries(m)));
      ::unlink(path.c_str());
    }
  }
}

// Maps an earlier object defined are shared by fd; the others are pinned by
// libbpf at load, except the ones pinned by hand (reused here when pinned).
void Loader::share_or_pin(bpf_object* obj, std::vector<bpf_map*>& to_pin) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    const char* name = bpf_map__name(m);
    if (!is_aigw_map(name)) continue;  // .rodata, .bss ...
    if (auto it = maps_.find(name); it != maps_.end()) {
      bpf_map__set_pin_path(m, nullptr);
      if (int err = bpf_map__reuse_fd(m, it->second.fd))
        throw DatapathError(fmt::format("share map {}: {}", name, errstr(err)));
      continue;
    }
    if (!pinned_by_hand(m)) continue;
    const std::string pin = fmt::format("{}/{}", opts_.pin_path, name);
    bpf_map__set_pin_path(m, nullptr);
    Fd old(bpf_obj_get(pin.c_str()));
    if (old.get() < 0) {
      to_pin.push_back(m);
      continue;
    }
    if (int err = bpf_map__reuse_fd(m, old.get()))
      throw DatapathError(fmt::format("reuse {}: {}", pin, errstr(err)));
  }
}

void Loader::load_one(BpfObject& o) {
  check_pins(o.obj());
  std::vector<bpf_map*> to_pin;
  share_or_pin(o.obj(), to_pin);
  if (int err = o.load())
    throw DatapathError(
        fmt::format("load {} program: {} (see libbpf log above)", o.name(), errstr(err)));
  for (bpf_map* m : to_pin) {
    const std::string pin = fmt::format("{}/{}", opts_.pin_path, bpf_map__name(m));
    if (int err = bpf_map__pin(m, pin.c_str()))
      throw DatapathError(fmt::format("pin {}: {}", pin, errstr(err)));
  }
  collect_maps_and_progs(o.obj());
}

void Loader::collect_maps_and_progs(bpf_object* obj) {
  bpf_map* m;
  bpf_object__for_each_map(m, obj) {
    const char* name = bpf_map__name(m);
    if (!is_aigw_map(name) || maps_.count(name)) continue;
    maps_[name] = MapInfo{name,
                          bpf_map__fd(m),
                          static_cast<uint32_t>(bpf_map__type(m)),
                          bpf_map__key_size(m),
                          bpf_map__value_size(m),
                          bpf_map__max_entries(m)};
  }
  bpf_program* p;
  bpf_object__for_each_program(p, obj) progs_[bpf_program__name(p)] = bpf_program__fd(p);
}

const MapInfo& Loader::map(std::string_view name) const {
  auto it = maps_.find(name);
  if (it == maps_.end()) throw DatapathError(fmt::format("map {} is not in the BPF objects", name));
  return it->second;
}

bool Loader::has_map(std::string_view name) const { return maps_.find(name) != maps_.end(); }

int Loader::prog_fd(std::string_view prog) const {
  auto it = progs_.find(prog);
  if (it == progs_.end())
    throw DatapathError(fmt::format("program {} is not in the BPF objects", prog));
  return it->second;
}

void Loader::attach_tracing(std::string_view prog) {
  for (const auto& o : objects_) {
    bpf_program* p = bpf_object__find_program_by_name(o->obj(), std::string(prog).c_str());
    if (!p) continue;
    bpf_link* l = bpf_program__attach(p);
    if (!l)
      throw DatapathError(
          fmt::format("attach {} ({}): {}", prog, bpf_program__section_name(p), errstr(errno)));
    links_.emplace_back(l);
    return;
  }
  throw DatapathError(fmt::format("program {} is not in the BPF objects", prog));
}

bool Loader::is_ours(const std::string& kernel_name) const {
  for (const auto& [name, fd] : progs_)
    if (name.substr(0, BPF_OBJ_NAME_LEN - 1) == kernel_name) return true;
  return false;
}

void Loader::attach(int ifindex, Hook hook, std::string_view prog, XdpMode mode) {
  const int fd = prog_fd(prog);
  bool replaced;
  if (hook == Hook::Xdp) {
    // Native and generic XDP cannot be attached at once: a taken-over
    // program in the other mode goes first.
    auto a = attached_.find({ifindex, hook});
    if (adopted(ifindex) && a != attached_.end() && a->second.mode != mode) detach(ifindex, hook);
    replaced = attach_xdp(ifindex, fd, mode);
    adopted_.erase(ifindex);
  } else {
    replaced = attach_tc(ifindex, hook, fd);
  }
  if (!replaced && !attached_.count({ifindex, hook})) fresh_.insert({ifindex, hook});
  attached_[{ifindex, hook}] = Attached{std::string(prog), mode};
}

namespace {

constexpr uint32_t kXdpModes[] = {XDP_FLAGS_DRV_MODE, XDP_FLAGS_SKB_MODE};

XdpMode mode_of_flag(uint32_t flag) {
  return flag == XDP_FLAGS_DRV_MODE ? XdpMode::Native : XdpMode::Generic;
}

// The XDP program attached to ifindex in the mode `flag`, if any.
Fd xdp_prog_fd(int ifindex, uint32_t flag) {
  uint32_t id = 0;
  if (bpf_xdp_query_id(ifindex, flag, &id) != 0 || !id) return Fd();
  return Fd(bpf_prog_get_fd_by_id(id));
}

}  // namespace

std::vector<int> Loader::adopt_xdp(const std::vector<int>& ifindexes) {
  std::vector<int> taken;
  for (int ifindex : ifindexes) {
    if (attached_.count({ifindex, Hook::Xdp})) continue;
    for (uint32_t flag : kXdpModes) {
      Fd fd = xdp_prog_fd(ifindex, flag);
      auto name = prog_name_of(fd);
      if (!name || !is_ours(*name)) continue;
      attached_[{ifindex, Hook::Xdp}] = Attached{*name, mode_of_flag(flag)};
      adopted_[ifindex] = std::move(fd);
      taken.push_back(ifindex);
      break;
    }
  }
  return taken;
}

void Loader::detach_fresh() {
  for (auto where : std::set(fresh_)) detach(where.first, where.second);
}

std::optional<std::string> Loader::xdp_prog_name(int ifindex) {
  for (uint32_t flag : kXdpModes)
    if (auto name = prog_name_of(xdp_prog_fd(ifindex, flag))) return name;
  return std::nullopt;
}

bool Loader::detach_xdp_named(int ifindex, const std::vector<std::string>& names) {
  for (uint32_t flag : kXdpModes) {
    Fd fd = xdp_prog_fd(ifindex, flag);
    auto name = prog_name_of(fd);
    if (!name) continue;
    for (const auto& n : names) {
      if (n.substr(0, BPF_OBJ_NAME_LEN - 1) != *name) continue;
      LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
      opts.old_prog_fd = fd.get();  // only this program, not one attached meanwhile
      return bpf_xdp_detach(ifindex, flag, &opts) == 0;
    }
  }
  return false;
}

bool Loader::detach_tc_named(int ifindex, Hook hook, const std::vector<std::string>& names) {
  LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
              .attach_point = hook == Hook::TcIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, q, .handle = kTcHandle, .priority = kTcPriority);
  if (bpf_tc_query(&h, &q) != 0) return false;
  auto pname = prog_name_of_id(q.prog_id);
  if (!pname) return false;
  for (const auto& n : names) {
    if (n.substr(0, BPF_OBJ_NAME_LEN - 1) != *pname) continue;
    LIBBPF_OPTS(bpf_tc_opts, d, .handle = kTcHandle, .priority = kTcPriority);
    return bpf_tc_detach(&h, &d) == 0;
  }
  return false;
}

// Returns whether a program of ours was replaced.
bool Loader::attach_xdp(int ifindex, int fd, XdpMode mode) {
  const uint32_t mode_flag = mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
  const std::string name = ifname_of(ifindex);
  uint32_t cur_id = 0;
  bpf_xdp_query_id(ifindex, mode_flag, &cur_id);
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
  uint32_t flags = mode_flag;
  Fd old;
  if (cur_id) {
    // Replace atomically only a program of ours (an earlier aigwd); never a
    // foreign one.
    // The fd inspected is the one the kernel checks as the expected program.
    old = Fd(bpf_prog_get_fd_by_id(cur_id));
    auto pname = prog_name_of(old);
    if (!pname)
      throw DatapathError(
          fmt::format("{}: cannot inspect attached XDP program id {}", name, cur_id));
    if (!is_ours(*pname))
      throw DatapathError(
          fmt::format("{}: a foreign XDP program ({}, id {}) is attached; refusing to replace it",
                      name, pname->empty() ? "unnamed" : *pname, cur_id));
    opts.old_prog_fd = old.get();
  } else {
    flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  }
  if (int err = bpf_xdp_attach(ifindex, fd, flags, &opts))
    throw DatapathError(fmt::format("{}: attach {} XDP program: {}", name,
                                    mode == XdpMode::Native ? "native" : "generic", errstr(err)));
  return cur_id != 0;
}

// Our filter sits at (kTcHandle, kTcPriority) on the clsact hook; the hook
// (qdisc) is created when missing and never removed (others may use it).
bool Loader::attach_tc(int ifindex, Hook hook, int fd) {
  const std::string name = ifname_of(ifindex);
  LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
              .attach_point = hook == Hook::TcIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
  int err = bpf_tc_hook_create(&h);
  if (err && err != -EEXIST)
    throw DatapathError(fmt::format("{}: create clsact hook: {}", name, errstr(err)));
  const bool fresh_hook = err == 0;  // a new clsact has no filter to ask about (nor to log)
  LIBBPF_OPTS(bpf_tc_opts, q, .handle = kTcHandle, .priority = kTcPriority);
  uint32_t flags = 0;
  err = fresh_hook ? -ENOENT : bpf_tc_query(&h, &q);
  if (err == 0) {
    auto pname = prog_name_of_id(q.prog_id);
    if (!pname || !is_ours(*pname))
      throw DatapathError(fmt::format(
          "{}: a foreign {} program ({}, id {}) holds aigw's filter handle; refusing to replace it",
          name, to_string(hook), pname.value_or("unknown"), q.prog_id));
    flags = BPF_TC_F_REPLACE;
  } else if (err != -ENOENT && err != -EINVAL) {  // EINVAL: no filter chain yet (no filter at all)
    throw DatapathError(
        fmt::format("{}: query {} filters: {}", name, to_string(hook), errstr(err)));
  }
  LIBBPF_OPTS(bpf_tc_opts, a, .prog_fd = fd, .flags = flags, .handle = kTcHandle,
              .priority = kTcPriority);
  if ((err = bpf_tc_attach(&h, &a)))
    throw DatapathError(
        fmt::format("{}: attach {} program: {}", name, to_string(hook), errstr(err)));
  return flags == BPF_TC_F_REPLACE;
}

void Loader::detach(int ifindex, Hook hook) {
  auto it = attached_.find({ifindex, hook});
  if (it == attached_.end()) return;
  if (hook == Hook::Xdp) {
    LIBBPF_OPTS(bpf_xdp_attach_opts, opts);
    auto ad = adopted_.find(ifindex);
    opts.old_prog_fd = ad != adopted_.end() ? ad->second.get() : prog_fd(it->second.prog);
    uint32_t flags = it->second.mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    bpf_xdp_detach(ifindex, flags, &opts);  // only removes our program
  } else {
    std::vector<std::string> ours;
    for (const auto& [name, fd] : progs_) ours.push_back(name);
    detach_tc_named(ifindex, hook, ours);
  }
  attached_.erase(it);
  fresh_.erase({ifindex, hook});
  if (hook == Hook::Xdp) adopted_.erase(ifindex);
}

void Loader::detach_all() {
  for (const auto& [where, a] : std::map(attached_)) detach(where.first, where.second);
}

std::optional<Loader::Attached> Loader::attached(int ifindex, Hook hook) const {
  auto it = attached_.find({ifindex, hook});
  if (it == attached_.end()) return std::nullopt;
  return it->second;
}

// The kernel's view, not ours: another tool may have detached or replaced
// the program since.
bool Loader::in_kernel(int ifindex, Hook hook) const {
  auto a = attached(ifindex, hook);
  if (!a) return false;
  bpf_prog_info info{};
  uint32_t len = sizeof info;
  auto ad = hook == Hook::Xdp ? adopted_.find(ifindex) : adopted_.end();
  int fd = ad != adopted_.end() ? ad->second.get() : prog_fd(a->prog);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return false;
  uint32_t id = 0;
  if (hook == Hook::Xdp) {
    const uint32_t flag = a->mode == XdpMode::Native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
    if (bpf_xdp_query_id(ifindex, flag, &id) != 0) return false;
  } else {
    LIBBPF_OPTS(bpf_tc_hook, h, .ifindex = ifindex,
                .attach_point = hook == Hook::TcIngress ? BPF_TC_INGRESS : BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, q, .handle = kTcHandle, .priority = kTcPriority);
    if (bpf_tc_query(&h, &q) != 0) return false;
    id = q.prog_id;
  }
  return id == info.id;
}

std::vector<std::pair<int, Hook>> Loader::attachments() const {
  std::vector<std::pair<int, Hook>> v;
  for (const auto& [where, a] : attached_) v.push_back(where);
  return v;
}

void Loader::unpin_all(const std::string& pin_path, const std::function<void()>& under_lock) {
  std::error_code ec;
  if (!std::filesystem::is_directory(pin_path, ec)) return;
  ExclusiveLock lock(pin_path, fmt::format("the datapath pinned at {}", pin_path));
  if (under_lock) under_lock();
  std::filesystem::directory_iterator it(pin_path, ec), end;
  for (; !ec && it != end; it.increment(ec))
    if (is_aigw_map(it->path().filename().c_str())) ::unlink(it->path().c_str());
  ::rmdir(pin_path.c_str());
}

}  // namespace aigw
