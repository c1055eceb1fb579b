#include "userspace/host/pci_devices.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <fstream>

namespace gputrace {
namespace fs = std::filesystem;
namespace {

std::string read_line(const fs::path& p) {
  std::ifstream in(p);
  std::string s;
  std::getline(in, s);
  return s;
}

uint32_t read_hex(const fs::path& p) { return static_cast<uint32_t>(std::strtoul(read_line(p).c_str(), nullptr, 16)); }

std::string link_target_name(const fs::path& p) {
  std::error_code ec;
  auto t = fs::read_symlink(p, ec);
  return ec ? std::string() : t.filename().string();
}

}  // namespace

gt_iommu_mode parse_iommu_type(std::string_view t) {
  if (t == "DMA") return GT_IOMMU_STRICT;
  if (t == "DMA-FQ") return GT_IOMMU_LAZY;
  if (t == "identity") return GT_IOMMU_IDENTITY;
  if (t == "blocked") return GT_IOMMU_BLOCKED;
  if (t == "unmanaged") return GT_IOMMU_UNMANAGED;
  return t.empty() ? GT_IOMMU_NONE : GT_IOMMU_UNKNOWN;
}

const char* to_string(gt_iommu_mode mode) {
  switch (mode) {
    case GT_IOMMU_NONE: return "none";
    case GT_IOMMU_STRICT: return "strict";
    case GT_IOMMU_LAZY: return "lazy";
    case GT_IOMMU_IDENTITY: return "identity";
    case GT_IOMMU_BLOCKED: return "blocked";
    case GT_IOMMU_UNMANAGED: return "unmanaged";
    case GT_IOMMU_UNKNOWN: return "unknown";
  }
  return "unknown";
}

uint32_t parse_link_speed_mts(std::string_view text) {
  // "2.5 GT/s PCIe", "16.0 GT/s PCIe", "Unknown"
  double gts = 0;
  auto space = text.find(' ');
  if (space == std::string_view::npos || text.substr(space + 1, 4) != "GT/s") return 0;
  auto r = std::from_chars(text.data(), text.data() + space, gts);
  if (r.ec != std::errc()) return 0;
  return static_cast<uint32_t>(gts * 1000 + 0.5);
}

uint8_t parse_link_width(std::string_view text) {
  unsigned lanes = 0;
  auto r = std::from_chars(text.data(), text.data() + text.size(), lanes);
  if (r.ec != std::errc() || lanes == 0 || lanes > 32) return 0;
  return static_cast<uint8_t>(lanes);
}

std::vector<PciDeviceFacts> read_pci_devices(const std::string& sysfs_root) {
  std::vector<PciDeviceFacts> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(fs::path(sysfs_root) / "bus/pci/devices", ec)) {
    const fs::path d = entry.path();
    PciDeviceFacts f;
    f.name = d.filename().string();
    f.driver = link_target_name(d / "driver");
    f.pci_class = read_hex(d / "class");
    f.vendor = static_cast<uint16_t>(read_hex(d / "vendor"));
    f.device = static_cast<uint16_t>(read_hex(d / "device"));
    std::string group = link_target_name(d / "iommu_group");
    if (!group.empty()) {
      f.iommu_group = std::atoi(group.c_str());
      f.iommu_type = read_line(d / "iommu_group/type");
      f.iommu_mode = parse_iommu_type(f.iommu_type);
    }
    f.link_speed_mts = parse_link_speed_mts(read_line(d / "current_link_speed"));
    f.max_link_speed_mts = parse_link_speed_mts(read_line(d / "max_link_speed"));
    f.link_width = parse_link_width(read_line(d / "current_link_width"));
    f.max_link_width = parse_link_width(read_line(d / "max_link_width"));
    out.push_back(std::move(f));
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

OwnedRecord facts_record(const PciDeviceFacts& d, uint64_t ts) {
  gt_device_facts_event e{};
  fill_user_header(e.hdr, GT_EV_DEVICE_FACTS, ts);
  copy_cstr(e.name, d.name);
  copy_cstr(e.driver, d.driver);
  e.pci_class = d.pci_class;
  e.vendor = d.vendor;
  e.device = d.device;
  e.iommu_group = d.iommu_group;
  e.iommu_mode = static_cast<uint8_t>(d.iommu_mode);
  e.link_width = d.link_width;
  e.max_link_width = d.max_link_width;
  e.link_speed_mts = d.link_speed_mts;
  e.max_link_speed_mts = d.max_link_speed_mts;
  return OwnedRecord::of(e);
}

}  // namespace gputrace
