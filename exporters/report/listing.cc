#include "exporters/report/listing.h"

#include <fmt/format.h>

#include <utility>

namespace gputrace {

bool worse_owner(const OwnerRow& a, const OwnerRow& b) {
  return std::pair(a.leaks_reported, a.outstanding) > std::pair(b.leaks_reported, b.outstanding);
}

bool worse_gc_process(const GcPauseRow& a, const GcPauseRow& b) { return a.wall_share > b.wall_share; }

std::string not_listed_note(size_t more, const char* what) {
  if (more == 0) return {};
  return fmt::format("{} more {} not shown here: report.json lists every one.", more, what);
}

}  // namespace gputrace
