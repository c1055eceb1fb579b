#include "userspace/gpu/uid_budget.h"

#include <algorithm>

namespace gputrace {

bool UidByteBudget::take(uid_t uid, uint64_t bytes, Clock::time_point now) {
  if (rate_ <= 0) return true;
  auto [it, fresh] = buckets_.try_emplace(uid, Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh && now > b.refilled) {
    const double elapsed = std::chrono::duration<double>(now - b.refilled).count();
    b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    b.refilled = now;
  }
  const double want = static_cast<double>(bytes);
  if (b.tokens < want) return false;
  b.tokens -= want;
  return true;
}

}  // namespace gputrace
