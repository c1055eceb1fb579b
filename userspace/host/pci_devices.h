// Reads sysfs facts of PCI devices: driver, class, IOMMU group and its mode, PCIe link
// speed and width (current and maximum). A downtrained link or a strict-mode IOMMU is
// something a person acts on, so these travel in captures as GT_EV_DEVICE_FACTS.
#pragma once

#include "userspace/host/synthesized.h"

extern "C" {
#include "bpf/host.h"
}

#include <string>
#include <vector>

namespace gputrace {

// Display controllers (VGA, 3D: every NVIDIA/AMD data-centre GPU) by PCI base class.
inline bool is_gpu_pci_class(uint32_t pci_class) { return (pci_class >> 16) == 0x03; }

// A PCIe link runs below what it can: both speeds known, and a lower speed, or fewer lanes
// where both widths are known (1 to 32 lanes; sysfs says 255 for a width it cannot read, and
// captures made before the parser knew this still carry it). The one place gputrace decides
// it: doctor, the correlation's causes and the read model (so top, the report and the
// Prometheus gauge) all ask here.
inline bool pcie_link_downtrained(uint32_t speed_mts, uint8_t width, uint32_t max_speed_mts, uint8_t max_width) {
  const auto known = [](uint8_t lanes) { return lanes > 0 && lanes <= 32; };
  const bool narrower = known(width) && known(max_width) && width < max_width;
  return speed_mts && max_speed_mts && (speed_mts < max_speed_mts || narrower);
}

struct PciDeviceFacts {
  std::string name;  // 0000:01:00.0
  std::string driver;
  uint32_t pci_class = 0;
  uint16_t vendor = 0, device = 0;
  int iommu_group = -1;
  gt_iommu_mode iommu_mode = GT_IOMMU_NONE;
  std::string iommu_type;  // sysfs wording: DMA, DMA-FQ, identity, ...
  uint32_t link_speed_mts = 0, max_link_speed_mts = 0;
  uint8_t link_width = 0, max_link_width = 0;

  bool is_gpu() const { return is_gpu_pci_class(pci_class); }
  bool link_downtrained() const {
    return pcie_link_downtrained(link_speed_mts, link_width, max_link_speed_mts, max_link_width);
  }
};

// All PCI devices under sysfs_root (default /sys), sorted by name.
std::vector<PciDeviceFacts> read_pci_devices(const std::string& sysfs_root = "/sys");

gt_iommu_mode parse_iommu_type(std::string_view sysfs_type);
const char* to_string(gt_iommu_mode mode);
// "16.0 GT/s PCIe" -> 16000; 0 when unknown
uint32_t parse_link_speed_mts(std::string_view text);
// "16" -> 16; 0 when unknown: sysfs prints 255 for a link whose width it cannot read (a link
// that is down, a virtual function), and a width is 1 to 32 lanes
uint8_t parse_link_width(std::string_view text);

OwnedRecord facts_record(const PciDeviceFacts& d, uint64_t ts);

}  // namespace gputrace
