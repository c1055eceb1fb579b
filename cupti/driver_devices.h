// The CUDA driver's answer to "which PCI device is CUDA device N of this process?".
//
// The library does not link libcuda: it borrows the three functions it needs from the libcuda
// the process has already loaded (the driver is what loaded this library). query_device takes
// them as plain function pointers, so tests can stand in for the driver.
#pragma once

#include <cuda.h>

extern "C" {
#include "bpf/gpu.h"
}

#include <cstdint>
#include <optional>
#include <string>

namespace gputrace::cupti {

struct DriverDeviceApi {
  decltype(&cuDeviceGet) device_get = nullptr;
  decltype(&cuDeviceGetAttribute) get_attribute = nullptr;
  decltype(&cuDeviceGetName) get_name = nullptr;  // optional: without it the name is empty
  decltype(&cuDeviceGetCount) get_count = nullptr;  // optional: only `gputrace attach` needs it

  // From the libcuda.so.1 already in the process (dlopen RTLD_NOLOAD, then the global scope).
  // Never loads a driver; members stay null where the driver or a symbol is missing.
  static DriverDeviceApi from_loaded_driver();
};

struct DeviceQuery {
  std::optional<gt_gpu_device_event> record;
  std::string error;  // why there is no record, for the one line on stderr
};

// CUDA device `device_id` (the ordinal CUPTI puts in activity records) as a GT_EV_GPU_DEVICE
// record: PCI domain, bus and device from cuDeviceGetAttribute, the name from cuDeviceGetName.
// No record where a function is missing, a call fails or a value is out of PCI's range.
DeviceQuery query_device(const DriverDeviceApi& api, uint32_t device_id);

}  // namespace gputrace::cupti
