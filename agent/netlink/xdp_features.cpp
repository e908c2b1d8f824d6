#include "netlink/xdp_features.hpp"

#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include <memory>

namespace aigw {
namespace {

// The netdev family's numbers (include/uapi/linux/netdev.h, stable ABI).
constexpr const char* kNetdevFamily = "netdev";
constexpr uint8_t kNetdevCmdDevGet = 1;
constexpr int kNetdevAttrIfindex = 1;
constexpr int kNetdevAttrXdpFeatures = 3;
constexpr int kNetdevAttrMax = 4;

struct SockDeleter {
  void operator()(nl_sock* s) const { nl_socket_free(s); }
};
struct MsgDeleter {
  void operator()(nl_msg* m) const { nlmsg_free(m); }
};

int on_reply(nl_msg* msg, void* arg) {
  nlattr* tb[kNetdevAttrMax + 1] = {};
  if (genlmsg_parse(nlmsg_hdr(msg), 0, tb, kNetdevAttrMax, nullptr) < 0) return NL_SKIP;
  if (tb[kNetdevAttrXdpFeatures])
    *static_cast<std::optional<uint64_t>*>(arg) = nla_get_u64(tb[kNetdevAttrXdpFeatures]);
  return NL_OK;
}

}  // namespace

std::optional<uint64_t> xdp_features(int ifindex) {
  std::unique_ptr<nl_sock, SockDeleter> sock(nl_socket_alloc());
  if (!sock || genl_connect(sock.get()) < 0) return std::nullopt;
  const int family = genl_ctrl_resolve(sock.get(), kNetdevFamily);
  if (family < 0) return std::nullopt;
  std::unique_ptr<nl_msg, MsgDeleter> msg(nlmsg_alloc());
  if (!msg ||
      !genlmsg_put(msg.get(), NL_AUTO_PORT, NL_AUTO_SEQ, family, 0, 0, kNetdevCmdDevGet, 1) ||
      nla_put_u32(msg.get(), kNetdevAttrIfindex, static_cast<uint32_t>(ifindex)) < 0)
    return std::nullopt;
  std::optional<uint64_t> out;
  nl_socket_modify_cb(sock.get(), NL_CB_VALID, NL_CB_CUSTOM, on_reply, &out);
  if (nl_send_auto(sock.get(), msg.get()) < 0 || nl_recvmsgs_default(sock.get()) < 0)
    return std::nullopt;
  return out;
}

}  // namespace aigw
