#include "userspace/tables/device_table.h"

#include "userspace/tables/process_table.h"

#include <fmt/format.h>

namespace gputrace {

const char* iommu_mode_name(uint8_t mode) {
  switch (mode) {
    case GT_IOMMU_NONE: return "none";
    case GT_IOMMU_STRICT: return "strict";
    case GT_IOMMU_LAZY: return "lazy";
    case GT_IOMMU_IDENTITY: return "identity";
    case GT_IOMMU_BLOCKED: return "blocked";
    case GT_IOMMU_UNMANAGED: return "unmanaged";
    default: return "unknown";
  }
}

const char* dma_direction_name(uint8_t dir) {
  switch (dir) {  // enum dma_data_direction
    case 0: return "bidirectional";
    case 1: return "to_device";
    case 2: return "from_device";
    case 3: return "none";
    default: return "invalid";
  }
}

const char* dma_api_name(uint8_t api) {
  switch (api) {
    case GT_DMA_PAGE: return "page";
    case GT_DMA_SG: return "sg";
    case GT_DMA_COHERENT: return "coherent";
    default: return "unknown";
  }
}

uint32_t DeviceTable::add(DeviceInfo info) {
  const auto index = static_cast<uint32_t>(devices_.size());
  if (info.key != 0) by_key_[info.key] = index;
  by_name_[info.name] = index;
  devices_.push_back(std::move(info));
  return index;
}

uint32_t DeviceTable::intern_key(uint64_t key) {
  // kernel pointers share their high bits and differ in the low ones: mix them all in
  const uint64_t h = (key ^ (key >> 17) ^ (key >> 31)) * 0x9E3779B97F4A7C15ULL;
  CachedKey& cached = key_cache_[h >> 60];
  if (key == cached.key && cached.index != UINT32_MAX) return cached.index;
  auto it = by_key_.find(key);
  const uint32_t index =
      it != by_key_.end() ? it->second : add(DeviceInfo{.key = key, .name = fmt::format("unknown-device-{:#x}", key)});
  cached = CachedKey{key, index};
  return index;
}

uint32_t DeviceTable::intern_name(std::string_view name) {
  auto it = by_name_.find(std::string(name));
  return it != by_name_.end() ? it->second : add(DeviceInfo{.name = std::string(name)});
}

std::optional<uint32_t> DeviceTable::find_name(std::string_view name) const {
  auto it = by_name_.find(std::string(name));
  return it == by_name_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
}

std::optional<uint32_t> DeviceTable::find_key(uint64_t key) const {
  auto it = by_key_.find(key);
  return it == by_key_.end() ? std::nullopt : std::optional<uint32_t>(it->second);
}

void DeviceTable::on_device(const gt_device_event& e) {
  const std::string name = fixed_string(e.name, sizeof(e.name));
  auto key_it = by_key_.find(e.dev);
  auto name_it = by_name_.find(name);
  uint32_t index;
  if (key_it != by_key_.end()) {
    index = key_it->second;  // a placeholder from events before the description (or a repeat)
    if (devices_[index].name != name) {
      by_name_.erase(devices_[index].name);
      // The name may already stand for an entry of its own (sysfs facts arrive first): the
      // described device takes over its facts, and the name now means this entry.
      if (name_it != by_name_.end() && !devices_[index].facts.known) devices_[index].facts = devices_[name_it->second].facts;
      by_name_[name] = index;
    }
  } else if (name_it != by_name_.end()) {
    index = name_it->second;  // known by name from sysfs facts or a fault: adopt the key
    by_key_[e.dev] = index;
  } else {
    index = add(DeviceInfo{.key = e.dev, .name = name});
  }
  DeviceInfo& d = devices_[index];
  d.key = e.dev;
  d.name = name;
  d.described = true;
  d.traced = e.traced != 0;
  d.driver = fixed_string(e.driver, sizeof(e.driver));
  d.bus = fixed_string(e.bus, sizeof(e.bus));
  d.pci_class = e.pci_class;
  d.vendor = e.vendor;
  d.device = e.device;
}

void DeviceTable::on_facts(const gt_device_facts_event& e) {
  DeviceInfo& d = devices_[intern_name(fixed_string(e.name, sizeof(e.name)))];
  // Captures recorded before sysfs's "255 lanes" was read as unknown still carry it.
  auto lanes = [](uint8_t width) -> uint8_t { return width > 32 ? 0 : width; };
  d.facts = DeviceFacts{true,          e.iommu_group,    e.iommu_mode,         lanes(e.link_width),
                        lanes(e.max_link_width), e.link_speed_mts, e.max_link_speed_mts};
  // sysfs knows the driver and ids even for a device whose GT_EV_DEVICE has not arrived.
  if (!d.described) {
    d.driver = fixed_string(e.driver, sizeof(e.driver));
    d.pci_class = e.pci_class;
    d.vendor = e.vendor;
    d.device = e.device;
  }
}

const char* DeviceTable::iommu_mode(uint32_t index) const {
  const DeviceFacts& f = devices_[index].facts;
  return f.known ? iommu_mode_name(f.iommu_mode) : "unknown";
}

}  // namespace gputrace
