// GpuDeviceBinding: which PCI device (DeviceTable index) the CUDA device id in a process's
// activity records is. CUDA numbers devices per process (CUDA_VISIBLE_DEVICES, and
// CUDA_DEVICE_ORDER, whose default is "fastest first"), so the injection library sends a
// GT_EV_GPU_DEVICE record with the PCI address of every device it uses. Without one, the
// binding falls back to the GPUs gputrace knows sorted by PCI address — CUDA's order under
// CUDA_DEVICE_ORDER=PCI_BUS_ID, and the only order on hosts of identical GPUs — and says
// that it assumed so.
#pragma once

#include "userspace/tables/device_table.h"

extern "C" {
#include "bpf/gpu.h"
}

#include <cstdint>
#include <map>
#include <optional>
#include <utility>

namespace gputrace {

struct GpuBinding {
  std::optional<uint32_t> device;  // DeviceTable index; nullopt when no GPU is known
  bool assumed = false;            // from PCI order, not from the process's own record
};

class GpuDeviceBinding {
 public:
  explicit GpuDeviceBinding(DeviceTable& devices) : devices_(devices) {}

  void on_device_record(uint32_t pid, const gt_gpu_device_event& e);
  GpuBinding resolve(uint32_t pid, uint32_t device_id) const;
  // Device records naming a PCI function the host does not have.
  uint64_t ignored() const { return ignored_; }
  // Times the table was full and started over.
  uint64_t cleared() const { return cleared_; }

  static constexpr size_t kMaxBindings = 65536;

 private:
  DeviceTable& devices_;
  uint64_t ignored_ = 0;
  uint64_t cleared_ = 0;
  std::map<std::pair<uint32_t, uint32_t>, uint32_t> bound_;  // (pid, CUDA id) -> device
};

}  // namespace gputrace
