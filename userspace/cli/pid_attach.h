// GpuAttachments: the GPU tracing `record --pid` and `top --pid` attach to running processes
// (docs/cupti.md, "Attaching to a running process"): a lease on the injection library in each
// process named, taken once the live source's probes are in place and given back before they
// go, so that the library's last flush still reaches the recording or the screen.
#pragma once

#include "userspace/attach/attach_service.h"
#include "userspace/cli/options.h"
#include "userspace/session/live_source.h"

#include <chrono>
#include <string>
#include <vector>

namespace gputrace {

class GpuAttachments {
 public:
  // A process without a CUDA driver is left alone (--pid also picks GC pauses); one that
  // refuses gets a warning with the reason; the run goes on either way.
  void attach(const std::vector<pid_t>& pids, LiveSource& source, const std::string& socket_path, bool api,
              bool memory);
  // Lets go of the leases. Where gputrace held the last one, reads the source until that
  // library has detached (its last buffers and status arrive), at most `limit`.
  void release(LiveSource& source, std::chrono::milliseconds limit);
  size_t attached() const { return leases_.size(); }

 private:
  std::string library_;
  std::vector<attach::AttachLease> leases_;
};

// The pids --pid names (already checked by gc_options).
std::vector<pid_t> pids_option(const Options& o);

}  // namespace gputrace
