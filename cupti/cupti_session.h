// Starting and stopping GPU activity tracing with CUPTI, for both ways the library gets into
// a process: CUDA_INJECTION64_PATH at cuInit (injection.cc) and `gputrace attach` into a
// process already running (attach_entry.cc). Also CUPTI's callbacks (buffers, context
// creation) and the periodic flush work.
#pragma once

#include "cupti/library_state.h"

#include <cupti.h>

#include <cstdint>
#include <string>

namespace gputrace::cupti {

struct StartOutcome {
  gt_gpu_state state = GT_GPU_STATE_ACTIVE;
  CUptiResult result = CUPTI_SUCCESS;
  std::string holder;   // GT_GPU_STATE_OTHER_SUBSCRIBER: who holds CUPTI
  std::string message;  // said on stderr already; for the tracer that attached
};

// Claims CUPTI's subscriber slot, aligns its clock, registers the buffer callbacks, sets the
// guards, enables the activity kinds and the context-created callback, and sends the status.
// attaching: CUDA contexts may exist already, so every device the driver knows is described
// now (their creation callbacks are past). Any failure leaves CUPTI as it was.
// Caller holds s.lifecycle_mu.
StartOutcome start_tracing(LibraryState& s, bool attaching);
// Undoes start_tracing: disables the kinds, hands over the last buffers, sends the status
// (GT_GPU_STATE_DETACHED) and gives the subscriber slot back. Caller holds s.lifecycle_mu.
void stop_tracing(LibraryState& s);
// One flush period: recalibrate the clock, collect finished buffers, re-announce names and
// devices every few seconds, send the status if it changed.
void flush_period(LibraryState& s, uint64_t& last_announce_ns);
// At exit: the last, partly filled buffers, then the status GT_GPU_STATE_EXITING.
void final_flush(LibraryState& s);
// What the context-created callback does for one device (also the test hook's).
void describe_device(LibraryState& s, uint32_t device_id);
const char* result_name(CUptiResult r);

}  // namespace gputrace::cupti
