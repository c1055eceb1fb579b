// Not every loss counter counts something lost: late_records and late_gpu_records count
// records that arrived after their reorder window and were still processed (a finding may
// be judged a little late; no count is low). The views show them apart from what was
// dropped, so a reader does not take a late batch for lost data.
#pragma once

#include <string_view>

namespace gputrace {

// True for a counter of records processed late, false for one of records or facts dropped.
inline bool counts_late_records(std::string_view loss_name) {
  return loss_name == "late_records" || loss_name == "late_gpu_records";
}

}  // namespace gputrace
