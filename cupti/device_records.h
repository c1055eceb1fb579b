// GT_EV_GPU_DEVICE: tells the daemon which PCI device a CUDA device id of this process is.
//
// CUDA numbers devices per process (CUDA_VISIBLE_DEVICES selects and reorders them,
// CUDA_DEVICE_ORDER defaults to "fastest first"), so the device_id in activity records means
// nothing to the daemon on its own. The library learns each device's PCI address from the
// driver when CUPTI reports a context on it (injection.cc, driver_devices.h), and sends the
// record ahead of that device's first activity, in the same batch.
//
// make_device_record builds the record; DeviceAnnouncer remembers what the driver said and
// which ids the current receiver has been told. Neither needs CUDA or a GPU.
#pragma once

extern "C" {
#include "bpf/gpu.h"
}

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <unordered_map>

namespace gputrace::cupti {

// What PCI allows, and what the daemon's validator accepts: a record outside these would
// make it reject the whole batch, activity included.
inline constexpr uint32_t kMaxPciDomain = 0xffff, kMaxPciBus = 0xff, kMaxPciDevice = 0x1f;

// The record for CUDA device `device_id` at PCI domain:bus:device.0. The name is cut at its
// first NUL and at sizeof(name) - 1 bytes, then NUL-terminated and zero-padded. The header's
// kind, size and cpu are set; ts_ns, pid and tid are 0 (the converter stamps the pid).
// nullopt when the address is out of range.
std::optional<gt_gpu_device_event> make_device_record(uint32_t device_id, uint32_t pci_domain, uint32_t pci_bus,
                                                      uint32_t pci_device, std::string_view name);

// Which devices the library can describe, and which the current receiver has heard about.
// Like NameTable: a record is sent again when the transport's epoch changes (a tracer that
// attached later never saw it) and after a batch was lost (it may have carried it). Only ids
// the driver described are kept, so garbage device ids in activity records never grow it.
// Not thread-safe: ActivityProcessor serialises access.
class DeviceAnnouncer {
 public:
  // What the driver said about record.device_id. True when it is new; a device already
  // described keeps its first record (a CUDA id names one device for the process's life).
  bool learn(const gt_gpu_device_event& record);
  // The driver could not describe device_id: nothing is sent for it and the daemon falls back
  // to PCI order. True the first time (say so once); false if it is already known either way.
  bool unresolved(uint32_t device_id);
  // Whether learn() or unresolved() has been told about device_id.
  bool known(uint32_t device_id) const { return devices_.count(device_id) != 0; }

  // The record to put in the batch now, ahead of activity on device_id; nullptr when the
  // device is not described or this receiver already has it.
  const gt_gpu_device_event* announce(uint32_t device_id, uint64_t epoch);
  // Every record must be sent again (a batch that may have carried one was lost).
  void resend_all() { ++generation_; }

  size_t described() const;
  uint64_t unresolved_count() const { return unresolved_; }

 private:
  struct Entry {
    std::optional<gt_gpu_device_event> record;  // nullopt: the driver could not describe it
    bool sent = false;
    uint64_t sent_epoch = 0;
    uint64_t sent_generation = 0;
  };
  std::unordered_map<uint32_t, Entry> devices_;
  uint64_t generation_ = 0;
  uint64_t unresolved_ = 0;
};

}  // namespace gputrace::cupti
