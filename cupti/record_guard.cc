#include "cupti/record_guard.h"

#include "cupti/clock_alignment.h"

#include <algorithm>

namespace gputrace::cupti {
namespace {
constexpr size_t kMaxThreads = 1024;
constexpr size_t kMaxStreams = 4096;
}  // namespace

RecordGuard::RecordGuard(GuardLimits limits, Clock now)
    : limits_(limits), now_(now ? std::move(now) : Clock(&ClockAlignment::monotonic_now)) {}

void RecordGuard::set_limits(const GuardLimits& limits) { limits_ = limits; }

bool RecordGuard::take(Bucket& b, uint32_t rate, uint64_t now) {
  if (rate == 0) return true;
  const double capacity = rate;  // one second's worth
  if (b.tokens < 0) {
    b.tokens = capacity;
  } else if (now > b.refilled_ns) {
    b.tokens = std::min(capacity, b.tokens + static_cast<double>(now - b.refilled_ns) * rate / 1e9);
  }
  b.refilled_ns = std::max(b.refilled_ns, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

RecordGuard::Bucket& RecordGuard::thread_bucket(uint32_t tid) {
  if (auto it = threads_.find(tid); it != threads_.end()) return it->second;
  if (threads_.size() >= kMaxThreads) return other_threads_;
  return threads_[tid];
}

// Kernels of one CUDA graph may run side by side on one stream and complete out of order,
// and CUPTI hands buffers over in bulk: only a start far before the stream's latest counts.
bool RecordGuard::out_of_order(uint64_t stream, uint64_t start_ns) {
  if (stream == 0) return false;
  auto it = latest_start_.find(stream);
  if (it == latest_start_.end()) {
    if (latest_start_.size() >= kMaxStreams) latest_start_.clear();  // a fresh start, not a false drop
    latest_start_.emplace(stream, start_ns);
    return false;
  }
  if (start_ns + limits_.max_skew_ns < it->second) return true;
  it->second = std::max(it->second, start_ns);
  return false;
}

RecordGuard::Verdict RecordGuard::admit(uint64_t start_ns, uint64_t end_ns, uint32_t tid, uint64_t stream) {
  const uint64_t now = now_();
  const bool future = end_ns > now && end_ns - now > limits_.max_future_ns;
  if (start_ns == 0 || end_ns < start_ns || end_ns - start_ns > limits_.max_duration_ns || future) {
    ++counts_.invalid_timestamp;
    return Verdict::InvalidTimestamp;
  }
  if (out_of_order(stream, start_ns)) {
    ++counts_.non_monotonic;
    return Verdict::NonMonotonic;
  }
  if (tid != 0 && !take(thread_bucket(tid), limits_.thread_per_s, now)) {
    ++counts_.thread_rate_limited;
    return Verdict::ThreadRateLimited;
  }
  if (!take(process_, limits_.process_per_s, now)) {
    ++counts_.process_rate_limited;
    return Verdict::ProcessRateLimited;
  }
  return Verdict::Admit;
}

}  // namespace gputrace::cupti
