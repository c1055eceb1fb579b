// CaptureTransport: a Transport that keeps every batch, for tests of the library's send path.
#pragma once

#include "transport.h"

#include <cstddef>
#include <vector>

namespace gputrace::cupti::testing {

class CaptureTransport final : public Transport {
 public:
  bool active() override { return active_; }
  bool send(std::span<const std::byte> batch) override {
    if (refuse_) return false;
    batches.emplace_back(batch.begin(), batch.end());
    return true;
  }
  uint64_t epoch() const override { return epoch_; }

  void set_active(bool a) { active_ = a; }
  void set_refuse(bool r) { refuse_ = r; }
  void new_receiver() { ++epoch_; }

  std::vector<std::vector<std::byte>> batches;

 private:
  bool active_ = true;
  bool refuse_ = false;
  uint64_t epoch_ = 1;
};

}  // namespace gputrace::cupti::testing
