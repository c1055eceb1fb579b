// GcTracer: the GC concern as the daemon drives it — loads the probes, attaches to the
// matching processes running now, follows new ones (exec records, or a periodic /proc
// rescan), and feeds the pause analyzer. Records travel through the shared rings like every
// other concern's; the consumer hands them back through on_record().
#pragma once

#include "userspace/decode/record.h"
#include "userspace/gc/attach_manager.h"
#include "userspace/gc/gc_probes.h"

#include <cstdint>
#include <memory>

namespace gputrace {
class SharedMaps;
}

namespace gputrace::gc {

struct GcOptions {
  GcFilter filter;
  // How often tick() rescans /proc for new processes. Exec records make new processes show
  // up at once; the rescan catches a runtime loaded after exec (libjvm.so) and runs without
  // the process collector.
  uint64_t rescan_period_ns = 1'000'000'000;
};

class GcTracer {
 public:
  static Result<std::unique_ptr<GcTracer>> start(const SharedMaps& maps, GcOptions options);

  // GT_EV_PROC_EXEC attaches to the new program; GT_EV_PROC_EXIT drops per-pid probes.
  void on_record(const Record& r);
  // Call on the consumer's timer (CLOCK_MONOTONIC ns); rescans when the period has passed.
  void tick(uint64_t now_ns);

  AttachManager& attachments() { return manager_; }

 private:
  GcTracer(std::unique_ptr<GcProbes> probes, GcOptions options)
      : probes_(std::move(probes)), manager_(*probes_, options.filter), options_(std::move(options)) {}

  std::unique_ptr<GcProbes> probes_;
  AttachManager manager_;
  GcOptions options_;
  uint64_t last_scan_ns_ = 0;
};

}  // namespace gputrace::gc
