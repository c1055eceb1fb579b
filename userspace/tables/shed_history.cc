#include "userspace/tables/shed_history.h"

namespace gputrace {

void ShedHistory::on_shed(const gt_shed_event& e) {
  const uint64_t ts = e.hdr.ts_ns;
  if (latest_ && latest_->level > 0 && ts > since_ns_) closed_shed_ns_ += ts - since_ns_;
  if (!latest_ || latest_->level != e.level) ++changes_;
  latest_ = e;
  since_ns_ = ts;
}

uint64_t ShedHistory::shed_ns(uint64_t now_ns) const {
  uint64_t total = closed_shed_ns_;
  if (latest_ && latest_->level > 0 && now_ns > since_ns_) total += now_ns - since_ns_;
  return total;
}

}  // namespace gputrace
