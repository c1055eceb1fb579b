#include "cupti/driver_devices.h"

#include "cupti/device_records.h"

#include <dlfcn.h>

#include <climits>
#include <string_view>

namespace gputrace::cupti {
namespace {

template <class F>
void resolve(void* handle, const char* symbol, F& out) {
  void* f = handle ? ::dlsym(handle, symbol) : nullptr;
  if (f == nullptr) f = ::dlsym(RTLD_DEFAULT, symbol);
  out = reinterpret_cast<F>(f);
}

std::string failed(const char* call, CUresult r) {
  return std::string(call) + " returned CUresult " + std::to_string(static_cast<int>(r));
}

}  // namespace

DriverDeviceApi DriverDeviceApi::from_loaded_driver() {
  // RTLD_NOLOAD: only a driver that is already there. The handle is never closed: the driver
  // stays loaded for the process's life anyway.
  void* handle = ::dlopen("libcuda.so.1", RTLD_NOW | RTLD_NOLOAD);
  DriverDeviceApi api;
  resolve(handle, "cuDeviceGet", api.device_get);
  resolve(handle, "cuDeviceGetAttribute", api.get_attribute);
  resolve(handle, "cuDeviceGetName", api.get_name);
  resolve(handle, "cuDeviceGetCount", api.get_count);
  return api;
}

DeviceQuery query_device(const DriverDeviceApi& api, uint32_t device_id) {
  if (api.device_get == nullptr || api.get_attribute == nullptr)
    return {std::nullopt, "cuDeviceGet/cuDeviceGetAttribute not found in the loaded CUDA driver"};
  if (device_id > INT_MAX) return {std::nullopt, "device id out of range"};
  CUdevice dev = 0;
  if (const CUresult r = api.device_get(&dev, static_cast<int>(device_id)); r != CUDA_SUCCESS)
    return {std::nullopt, failed("cuDeviceGet", r)};
  const struct {
    CUdevice_attribute attribute;
    const char* what;
  } wanted[] = {
      {CU_DEVICE_ATTRIBUTE_PCI_DOMAIN_ID, "cuDeviceGetAttribute(PCI_DOMAIN_ID)"},
      {CU_DEVICE_ATTRIBUTE_PCI_BUS_ID, "cuDeviceGetAttribute(PCI_BUS_ID)"},
      {CU_DEVICE_ATTRIBUTE_PCI_DEVICE_ID, "cuDeviceGetAttribute(PCI_DEVICE_ID)"},
  };
  int values[3] = {};
  for (int i = 0; i < 3; ++i) {
    if (const CUresult r = api.get_attribute(&values[i], wanted[i].attribute, dev); r != CUDA_SUCCESS)
      return {std::nullopt, failed(wanted[i].what, r)};
    if (values[i] < 0) return {std::nullopt, std::string(wanted[i].what) + " returned a negative value"};
  }
  // The name is only for people: a device without one is still bound by its address.
  char name[sizeof(gt_gpu_device_event::name)] = {};
  if (api.get_name == nullptr || api.get_name(name, sizeof(name), dev) != CUDA_SUCCESS) name[0] = '\0';
  name[sizeof(name) - 1] = '\0';
  auto record = make_device_record(device_id, static_cast<uint32_t>(values[0]), static_cast<uint32_t>(values[1]),
                                   static_cast<uint32_t>(values[2]), std::string_view(name));
  if (!record)
    return {std::nullopt, "the driver reported PCI address " + std::to_string(values[0]) + ":" +
                              std::to_string(values[1]) + ":" + std::to_string(values[2]) + ", out of range"};
  return {record, {}};
}

}  // namespace gputrace::cupti
