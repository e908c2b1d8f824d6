// ClassifierTable (tables.hpp): compiles the rules against the slots an
// apply assigns, and installs them into the inactive bank of the
// double-banked classification maps, then flips.
#include <bpf/bpf.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "datapath/cls_encode.hpp"
#include "datapath/grace.hpp"
#include "datapath/tables.hpp"

namespace aigw::dp {
namespace {

// The hash and LPM classification maps, with the keys each bank holds
// (arrays have fixed per-bank ranges; these must be emptied by key).
enum ClsHash { kPortbv, kMisc, kSrc4, kDst4, kSrc6, kDst6, kApn, kClsHashCount };

struct HashMap {
  const char* name;
  size_t ksz;
  bool lpm;  // the bank is in the key's second u32 (big-endian), else in the first
  int fd = -1;
  uint32_t max_entries = 0;
  std::array<std::vector<Bytes>, AIGW_CLS_BANKS> keys{};
};

void append(std::vector<uint8_t>& out, const auto& key) {
  const auto* p = reinterpret_cast<const uint8_t*>(&key);
  out.insert(out.end(), p, p + sizeof key);
}

}  // namespace

struct ClassifierTable::Banks {
  int fd_meta, fd_active, fd_rules, fd_iface, fd_proto, fd_dscp, fd_sport, fd_dport;
  std::array<HashMap, kClsHashCount> hashed{{
      {"aigw_cls_portbv", sizeof(aigw_cls_id_key), false, -1, 0, {}},
      {"aigw_cls_misc", sizeof(aigw_cls_id_key), false, -1, 0, {}},
      {"aigw_cls_src4", sizeof(aigw_cls_pfx4_key), true, -1, 0, {}},
      {"aigw_cls_dst4", sizeof(aigw_cls_pfx4_key), true, -1, 0, {}},
      {"aigw_cls_src6", sizeof(aigw_cls_pfx6_key), true, -1, 0, {}},
      {"aigw_cls_dst6", sizeof(aigw_cls_pfx6_key), true, -1, 0, {}},
      {"aigw_cls_apn", sizeof(aigw_cls_apn_key), false, -1, 0, {}},
  }};
  uint32_t active = 0;  // bank packets use now

  explicit Banks(const Loader& l);
  void read_back();
  void purge(uint32_t bank);
  void check_room(const CompiledClassifier& c) const;
  void write(const CompiledClassifier& c, uint32_t bank);
  void write_arrays(const CompiledClassifier& c, uint32_t bank);
  void write_hashed(ClsHash which, uint32_t bank, std::vector<uint8_t>& keys,
                    const std::vector<aigw_cls_bitmap>& vals);
  void write_hashes(const CompiledClassifier& c, uint32_t bank);
};

ClassifierTable::Banks::Banks(const Loader& l)
    : fd_meta(l.map_fd("aigw_cls_meta")),
      fd_active(l.map_fd("aigw_cls_active")),
      fd_rules(l.map_fd("aigw_cls_rules")),
      fd_iface(l.map_fd("aigw_cls_iface")),
      fd_proto(l.map_fd("aigw_cls_proto")),
      fd_dscp(l.map_fd("aigw_cls_dscp")),
      fd_sport(l.map_fd("aigw_cls_sport")),
      fd_dport(l.map_fd("aigw_cls_dport")) {
  for (auto& hm : hashed) {
    const MapInfo& m = l.map(hm.name);
    if (m.key_size != hm.ksz)
      throw DatapathError(
          fmt::format("map {}: key size {} where abi.h says {}", hm.name, m.key_size, hm.ksz));
    hm.fd = m.fd;
    hm.max_entries = m.max_entries;
  }
}

// The bank in use stays, and the keys each bank holds are known so that a
// bank can be emptied before it is refilled.
void ClassifierTable::Banks::read_back() {
  uint32_t zero = 0, bank = 0;
  if (bpf_map_lookup_elem(fd_active, &zero, &bank) == 0 && bank < AIGW_CLS_BANKS) active = bank;
  for (auto& hm : hashed) {
    maps::for_each_key(hm.fd, hm.ksz, [&](const uint8_t* k) {
      uint32_t b = hm.lpm ? cls::bank_of_pfx_key(k) : cls::bank_of_id_key(k);
      // A key of no bank (corrupt) is filed under bank 0 so it is removed sometime.
      hm.keys[b < AIGW_CLS_BANKS ? b : 0].emplace_back(k, k + hm.ksz);
    });
  }
}

void ClassifierTable::Banks::purge(uint32_t bank) {
  for (auto& hm : hashed) {
    for (const Bytes& k : hm.keys[bank])
      if (bpf_map_delete_elem(hm.fd, k.data()) != 0 && errno != ENOENT)
        throw ApplyError(fmt::format("delete from {}: {}", hm.name, maps::errstr(errno)));
    hm.keys[bank].clear();
  }
}

// Both banks live in the hash/LPM maps while the new one is written: the
// new entries must fit beside the ones in force.
void ClassifierTable::Banks::check_room(const CompiledClassifier& c) const {
  const size_t want[kClsHashCount] = {c.port_bitmaps.size(), cls::kMiscCount, c.src4.size(),
                                      c.dst4.size(),         c.src6.size(),   c.dst6.size(),
                                      c.apn.size()};
  for (size_t i = 0; i < kClsHashCount; ++i) {
    const auto& hm = hashed[i];
    size_t in_force = hm.keys[active].size();
    if (want[i] + in_force > hm.max_entries)
      throw ApplyError(
          fmt::format("classification needs {} entries in {} beside the {} in force; it holds {} "
                      "(datapath.map_sizes)",
                      want[i], hm.name, in_force, hm.max_entries));
  }
}

// Every entry of the bank's array ranges is written: a field value no rule
// names gets the empty bitmap.
void ClassifierTable::Banks::write_arrays(const CompiledClassifier& c, uint32_t bank) {
  auto index_range = [&](uint32_t per_bank, uint32_t n) {
    std::vector<uint32_t> keys(n);
    for (uint32_t i = 0; i < n; ++i) keys[i] = cls::array_index(bank, per_bank, i);
    return keys;
  };
  {
    uint32_t n = std::min<uint32_t>(c.nrules, cls::kRulesPerBank);
    n = std::min<uint32_t>(n, static_cast<uint32_t>(c.actions.size()));
    auto keys = index_range(cls::kRulesPerBank, n);
    maps::update_many(fd_rules, keys.data(), c.actions.data(), n, sizeof(uint32_t),
                      sizeof(aigw_cls_action), "classification rules");
  }
  auto bitmap_array = [&](int fd, uint32_t per_bank, const std::vector<ClsBitmap>& v,
                          const char* what) {
    auto keys = index_range(per_bank, per_bank);
    std::vector<aigw_cls_bitmap> vals(per_bank);
    for (uint32_t i = 0; i < per_bank && i < v.size(); ++i) vals[i] = v[i].to_abi();
    maps::update_many(fd, keys.data(), vals.data(), per_bank, sizeof(uint32_t),
                      sizeof(aigw_cls_bitmap), what);
  };
  bitmap_array(fd_iface, cls::kIfacesPerBank, c.iface, "classification interfaces");
  bitmap_array(fd_proto, cls::kProtosPerBank, c.proto, "classification protocols");
  bitmap_array(fd_dscp, cls::kDscpsPerBank, c.dscp, "classification DSCPs");
  auto port_array = [&](int fd, const std::vector<uint32_t>& v, const char* what) {
    auto keys = index_range(cls::kPortsPerBank, cls::kPortsPerBank);
    std::vector<uint32_t> vals(cls::kPortsPerBank, 0);
    std::copy_n(v.begin(), std::min<size_t>(v.size(), vals.size()), vals.begin());
    maps::update_many(fd, keys.data(), vals.data(), cls::kPortsPerBank, sizeof(uint32_t),
                      sizeof(uint32_t), what);
  };
  port_array(fd_sport, c.sport, "classification source ports");
  port_array(fd_dport, c.dport, "classification destination ports");
}

// Keys are recorded before the write, so a failed write is still removed by
// the next purge of this bank.
void ClassifierTable::Banks::write_hashed(ClsHash which, uint32_t bank, std::vector<uint8_t>& keys,
                                          const std::vector<aigw_cls_bitmap>& vals) {
  HashMap& hm = hashed[which];
  const uint32_t n = static_cast<uint32_t>(vals.size());
  for (uint32_t i = 0; i < n; ++i)
    hm.keys[bank].emplace_back(keys.begin() + i * hm.ksz, keys.begin() + (i + 1) * hm.ksz);
  maps::update_many(hm.fd, keys.data(), vals.data(), n, hm.ksz, sizeof(aigw_cls_bitmap), hm.name);
}

void ClassifierTable::Banks::write_hashes(const CompiledClassifier& c, uint32_t bank) {
  auto by_id = [&](ClsHash which, const auto& bitmaps, auto value_of) {
    std::vector<uint8_t> keys;
    std::vector<aigw_cls_bitmap> vals;
    for (uint32_t id = 0; id < bitmaps.size(); ++id) {
      append(keys, cls::id_key(bank, id));
      vals.push_back(value_of(bitmaps[id]));
    }
    write_hashed(which, bank, keys, vals);
  };
  by_id(kPortbv, c.port_bitmaps, [](const ClsBitmap& b) { return b.to_abi(); });
  by_id(kMisc, cls::misc_bitmaps(c), [](const ClsBitmap* b) { return b->to_abi(); });
  auto entries = [&](ClsHash which, const auto& v, auto key_of) {
    std::vector<uint8_t> keys;
    std::vector<aigw_cls_bitmap> vals;
    for (const auto& e : v) {
      append(keys, key_of(e));
      vals.push_back(e.bits.to_abi());
    }
    write_hashed(which, bank, keys, vals);
  };
  auto pfx4 = [&](const ClsPrefixEntry& e) { return cls::pfx4_key(bank, e.prefix); };
  auto pfx6 = [&](const ClsPrefixEntry& e) { return cls::pfx6_key(bank, e.prefix); };
  entries(kSrc4, c.src4, pfx4);
  entries(kDst4, c.dst4, pfx4);
  entries(kSrc6, c.src6, pfx6);
  entries(kDst6, c.dst6, pfx6);
  entries(kApn, c.apn, [&](const ClsApnEntry& e) { return cls::apn_key(bank, e); });
}

// Fills `bank` (not the one packets use) with `c`.
void ClassifierTable::Banks::write(const CompiledClassifier& c, uint32_t bank) {
  purge(bank);  // what an interrupted apply or an earlier run left there
  const aigw_cls_meta meta = cls::encode_meta(c);
  if (bpf_map_update_elem(fd_meta, &bank, &meta, BPF_ANY) != 0)
    throw ApplyError(fmt::format("write classification meta: {}", maps::errstr(errno)));
  write_arrays(c, bank);
  write_hashes(c, bank);
}

// ------------------------------------------------------------------ the module

ClassifierTable::ClassifierTable(const Loader& l, GlobalsTable& g, const IfaceTable& ifaces,
                                 const PolicyTable& policies, const Logger* log)
    : globals_(g),
      ifaces_(ifaces),
      policies_(policies),
      log_(log),
      banks_(std::make_unique<Banks>(l)) {}

ClassifierTable::~ClassifierTable() = default;

void ClassifierTable::read_back() { banks_->read_back(); }

// Compiled against the slots this apply assigns.
void ClassifierTable::plan(const core::ApplyContext& ctx) {
  ClsResolver resolver;
  resolver.iface_slot = [&](const std::string& key) { return ifaces_.planned_slot(key); };
  resolver.policy_slot = [&](const std::string& name) { return policies_.planned_slot(name); };
  try {
    planned_ = compile_classifier(ctx.next, resolver);
  } catch (const ClassifyError& e) {
    throw ApplyError(fmt::format("classification: {}", e.what()));
  }
  // A reload that leaves classification alone does not rewrite the banks.
  changed_ = !written_ || !cls::same_classifier(*planned_, cls_);
  if (changed_) banks_->check_room(*planned_);
}

void ClassifierTable::add(const core::ApplyContext&) {
  if (changed_)
    install(std::move(*planned_));
  else
    cls_ = std::move(*planned_);  // same datapath content; display data may differ
  planned_.reset();
}

void ClassifierTable::abort() { planned_.reset(); }

// Write the inactive bank, flip, bump the generation (flow entries recompute
// their cached decision), then empty the old bank's hash/LPM entries once
// every program run that may have read the old bank number before the flip
// has returned (grace.hpp; if the kernel cannot say, such a packet finds no
// rule and gets the default decision).
void ClassifierTable::install(CompiledClassifier c) {
  const uint32_t old = banks_->active, bank = old ^ 1u;
  const auto t0 = Clock::now();
  banks_->write(c, bank);
  uint32_t zero = 0;
  if (bpf_map_update_elem(banks_->fd_active, &zero, &bank, BPF_ANY) != 0)
    throw ApplyError(fmt::format("switch classification bank: {}", maps::errstr(errno)));
  banks_->active = bank;
  written_ = true;
  cls_ = std::move(c);
  globals_.bump();
  wait_for_program_runs();
  banks_->purge(old);
  if (log_)
    log_->info("classification: {} rules in bank {} ({} ms)", cls_.nrules, bank,
               std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t0).count());
}

}  // namespace aigw::dp
