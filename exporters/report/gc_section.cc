#include "report/gc_section.h"

namespace gputrace {

void add_gc_section(ReportModel& model, const gc::PauseStats& pauses) {
  ReportModel list = ReportModel::array();
  for (const auto& p : pauses.summary()) {
    ReportModel reasons = ReportModel::object();
    for (const auto& [reason, count] : p.non_gc_reasons) reasons[reason] = count;
    list.push_back({{"pid", p.pid},
                    {"ns_pid", p.ns_pid},
                    {"runtime", gc::runtime_name(p.runtime)},
                    {"pauses", p.count},
                    {"total_ns", p.total_ns},
                    {"max_ns", p.max_ns},
                    {"p50_ns", p.p50_ns},
                    {"p90_ns", p.p90_ns},
                    {"p99_ns", p.p99_ns},
                    {"wall_share", p.wall_share},
                    {"full_collections", p.full_count},
                    {"go_cycles", p.cycles},
                    {"non_gc_pauses", {{"count", p.non_gc_count}, {"total_ns", p.non_gc_total_ns},
                                       {"max_ns", p.non_gc_max_ns}, {"reasons", reasons}}}});
  }
  model["gc_pauses"] = std::move(list);
}

}  // namespace gputrace
