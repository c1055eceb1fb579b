#include "userspace/host/kmsg_faults.h"

extern "C" {
#include "bpf/iommu.h"
}

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

namespace gputrace {
namespace {

uint64_t hex_after(std::string_view msg, std::string_view marker, bool& found) {
  auto at = msg.find(marker);
  found = at != std::string_view::npos;
  if (!found) return 0;
  std::string rest(msg.substr(at + marker.size(), 24));
  return std::strtoull(rest.c_str(), nullptr, 16);  // accepts an optional 0x
}

// "[00:03.0]" (older kernels omit the PCI segment) or "[0000:00:03.0]" -> "0000:00:03.0"
std::string device_after(std::string_view msg) {
  auto at = msg.find("Request device [");
  if (at == std::string_view::npos) return {};
  auto start = at + 16, end = msg.find(']', start);
  if (end == std::string_view::npos) return {};
  std::string bdf(msg.substr(start, end - start));
  return bdf.size() == 7 ? "0000:" + bdf : bdf;
}

}  // namespace

std::optional<OwnedRecord> parse_dmar_fault(std::string_view rec) {
  auto semi = rec.find(';');
  if (semi == std::string_view::npos) return std::nullopt;
  std::string_view msg = rec.substr(semi + 1);
  if (msg.find("DMAR: [DMA ") == std::string_view::npos) return std::nullopt;
  std::string dev = device_after(msg);
  bool has_addr = false, has_reason = false;
  uint64_t addr = hex_after(msg, "fault addr ", has_addr);
  uint64_t reason = hex_after(msg, "[fault reason ", has_reason);
  if (dev.empty() || !has_addr) return std::nullopt;
  // prefix "pri,seq,usec,flags": the kernel's timestamp of the message
  std::string prefix(rec.substr(0, semi));
  auto c1 = prefix.find(','), c2 = prefix.find(',', c1 + 1);
  uint64_t usec = c2 == std::string::npos ? 0 : std::strtoull(prefix.c_str() + c2 + 1, nullptr, 10);

  gt_iommu_fault_event e{};
  fill_user_header(e.hdr, GT_EV_IOMMU_FAULT, usec ? usec * 1000 : monotonic_ns());
  e.iova = addr;
  e.flags = msg.find("DMA Write") != std::string_view::npos ? 1 : 0;
  e.reason = has_reason ? static_cast<uint32_t>(reason) : 0;
  copy_cstr(e.name, dev);
  e.source = GT_FAULT_DMAR_KMSG;
  return OwnedRecord::of(e);
}

Result<KmsgFaultReader> KmsgFaultReader::open(const char* path) {
  Fd fd(::open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return fail_errno(errno, "cannot read the kernel log {} (VT-d faults are reported there)", path);
  ::lseek(fd.get(), 0, SEEK_END);  // only faults from now on
  return KmsgFaultReader(std::move(fd));
}

std::vector<OwnedRecord> KmsgFaultReader::read_new() {
  std::vector<OwnedRecord> out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd_.get(), buf, sizeof(buf) - 1);
    if (n < 0 && errno == EPIPE) continue;  // overwritten messages: skip to the next
    if (n <= 0) break;
    if (auto r = parse_dmar_fault(std::string_view(buf, static_cast<size_t>(n)))) out.push_back(std::move(*r));
  }
  return out;
}

}  // namespace gputrace
