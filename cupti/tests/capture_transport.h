// CaptureTransport: a Transport that keeps every batch, for tests of the library's send path.
#pragma once

#include "cupti/transport.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace gputrace::cupti::testing {

class CaptureTransport final : public Transport {
 public:
  bool active() override { return active_; }
  bool send(std::span<const std::byte> batch) override {
    const size_t index = sends_++;
    if (refuse_ || index == refuse_only_) return false;
    batches.emplace_back(batch.begin(), batch.end());
    return true;
  }
  uint64_t epoch() const override { return epoch_; }

  void set_active(bool a) { active_ = a; }
  void set_refuse(bool r) { refuse_ = r; }
  // Refuses the send with this index (0: the first send) and no other.
  void refuse_only(size_t index) { refuse_only_ = index; }
  void new_receiver() { ++epoch_; }

  std::vector<std::vector<std::byte>> batches;

 private:
  bool active_ = true;
  bool refuse_ = false;
  size_t sends_ = 0;
  size_t refuse_only_ = SIZE_MAX;
  uint64_t epoch_ = 1;
};

}  // namespace gputrace::cupti::testing
