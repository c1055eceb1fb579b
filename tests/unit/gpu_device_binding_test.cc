#include "userspace/correlate/gpu_devices.h"

#include <gtest/gtest.h>

namespace gputrace {
namespace {

gt_gpu_device_event device_record(uint32_t cuda_id, uint32_t bus) {
  gt_gpu_device_event e{};
  e.device_id = cuda_id;
  e.pci_bus = bus;
  return e;
}

// A served process names the PCI function of its CUDA device; it must not make one up (each
// device is a table entry and a metric series).
TEST(GpuDeviceBinding, BindsOnlyToDevicesTheHostHas) {
  DeviceTable devices;
  const uint32_t gpu = devices.intern_name("0000:17:00.0");
  GpuDeviceBinding binding(devices);
  binding.on_device_record(10, device_record(0, 0x17));
  binding.on_device_record(10, device_record(1, 0x99));  // no such device here
  EXPECT_EQ(binding.resolve(10, 0).device, gpu);
  EXPECT_FALSE(binding.resolve(10, 0).assumed);
  EXPECT_EQ(binding.ignored(), 1u);
  EXPECT_EQ(devices.size(), 1u);
}

TEST(GpuDeviceBinding, StartsOverWhenFull) {
  DeviceTable devices;
  const uint32_t gpu = devices.intern_name("0000:17:00.0");
  GpuDeviceBinding binding(devices);
  for (uint32_t pid = 1; pid <= GpuDeviceBinding::kMaxBindings; ++pid) binding.on_device_record(pid, device_record(0, 0x17));
  EXPECT_EQ(binding.cleared(), 0u);
  binding.on_device_record(1, device_record(0, 0x17));  // already bound: no growth
  EXPECT_EQ(binding.cleared(), 0u);
  binding.on_device_record(999'999, device_record(0, 0x17));
  EXPECT_EQ(binding.cleared(), 1u);
  EXPECT_EQ(binding.resolve(999'999, 0).device, gpu);
  EXPECT_FALSE(binding.resolve(999'999, 0).assumed);
  EXPECT_FALSE(binding.resolve(1, 0).device);  // forgotten until its library sends it again (no GPU to assume)
}

}  // namespace
}  // namespace gputrace
