// HandmadeBuffer: lays out CUPTI activity records the way libcupti does (back to back,
// 8-byte aligned, in the record versions the linked libcupti walks: latest_records.h), so
// tests without a GPU can drive the real buffer-processing path.
#pragma once

#include "latest_records.h"

#include <cupti.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

namespace gputrace::cupti::testing {

class HandmadeBuffer {
 public:
  template <class T>
  T& add() {
    const size_t at = used_;
    used_ += (sizeof(T) + 7) & ~size_t{7};
    if (used_ > bytes_.size()) bytes_.resize(used_ * 2);
    std::memset(bytes_.data() + at, 0, sizeof(T));
    return *reinterpret_cast<T*>(bytes_.data() + at);
  }
  uint8_t* data() { return reinterpret_cast<uint8_t*>(bytes_.data()); }
  size_t size() const { return used_; }

 private:
  // operator new aligns to 16, and every record is padded to 8: records stay 8-aligned.
  std::vector<std::byte> bytes_ = std::vector<std::byte>(4096);
  size_t used_ = 0;
};

// The device gpu_batch_emitter registers as CUDA device 0: PCI 0000:41:00.0.
inline constexpr uint32_t kEmitterDeviceBus = 0x41;
inline constexpr const char* kEmitterDeviceName = "NVIDIA Emitter GPU";

// The records every bridge test sends: 3 kernels of one name, one 4 MiB HtoD copy, one memset.
inline constexpr const char* kKernelName = "_Z6vecaddPKfS0_Pfi";
inline void fill_reference_activity(HandmadeBuffer& buf) {
  for (uint32_t i = 0; i < 3; ++i) {
    auto& k = buf.add<LatestKernel>();
    k.kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
    k.start = 1000 + i * 100;
    k.end = 1050 + i * 100;
    k.deviceId = 0;
    k.streamId = 7;
    k.correlationId = 40 + i;
    k.gridX = 4096;
    k.gridY = k.gridZ = 1;
    k.blockX = 256;
    k.blockY = k.blockZ = 1;
    k.name = kKernelName;
  }
  auto& m = buf.add<LatestMemcpy>();
  m.kind = CUPTI_ACTIVITY_KIND_MEMCPY;
  m.copyKind = CUPTI_ACTIVITY_MEMCPY_KIND_HTOD;
  m.srcKind = CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE;
  m.dstKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
  m.bytes = 4u << 20;
  m.start = 500;
  m.end = 900;
  m.streamId = 7;
  m.correlationId = 30;
  auto& s = buf.add<LatestMemset>();
  s.kind = CUPTI_ACTIVITY_KIND_MEMSET;
  s.bytes = 4096;
  s.value = 0;
  s.start = 950;
  s.end = 960;
  s.streamId = 7;
  s.correlationId = 31;
  s.memoryKind = CUPTI_ACTIVITY_MEMORY_KIND_DEVICE;
}

}  // namespace gputrace::cupti::testing
