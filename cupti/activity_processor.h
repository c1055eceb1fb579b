// ActivityProcessor: walks each completed CUPTI activity buffer with libcupti's own iterator,
// converts its records and sends them to the daemon in batches, followed by a status record
// whenever the library's state or counters changed since the receiver last heard them.
//
// CUPTI may complete buffers on several of its threads at once, and the flush thread and the
// exit handler send status too: one mutex serialises them all.
#pragma once

#include "cupti/batch_writer.h"
#include "cupti/clock_alignment.h"
#include "cupti/device_records.h"
#include "cupti/name_table.h"
#include "cupti/record_converter.h"
#include "cupti/record_guard.h"
#include "cupti/transport.h"

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>

namespace gputrace::cupti {

struct ProcessorStats {
  uint64_t records = 0;          // converted and handed to the batch writer
  uint64_t skipped = 0;          // kinds gputrace does not ship
  uint64_t truncated = 0;        // records cut short by the end of their buffer
  uint64_t incomplete = 0;       // records without a valid start/end (CUPTI could not time them)
  uint64_t buffers_cut_short = 0;// buffers whose walk libcupti ended early (an unknown record kind)
  uint64_t unobserved = 0;       // buffers released unread: nobody was tracing
  uint64_t dropped_cupti = 0;    // CUPTI's own count of records it could not store
  uint64_t dropped_local = 0;    // records in batches the transport refused
  uint64_t batches = 0;
  uint64_t devices_described = 0;  // CUDA devices whose PCI address the driver gave
  uint64_t devices_unresolved = 0; // CUDA devices it could not describe: the daemon assumes PCI order
  uint64_t names_overflowed = 0;   // kernels shipped with name id 0: the name table was full
  GuardCounts guarded;             // dropped by the guards (rate limits, impossible timestamps)
  uint64_t buffers_refused = 0;    // buffers not handed to CUPTI: the buffer cap was reached
};

// The guards' settings, as the status's GT_EV_GPU_GUARDS record reports them.
struct GuardSettings {
  GuardLimits limits;
  uint32_t device_buffers = 0;  // CUPTI's device buffer pool limit as set, 0: CUPTI's own
  uint32_t max_buffers = 0;     // activity buffers handed to CUPTI at once
};

class ActivityProcessor {
 public:
  ActivityProcessor(Transport& transport, const ClockAlignment& clock, uint32_t pid);

  // buffer/valid as CUPTI hands them to the buffer-completed callback.
  void process_buffer(uint8_t* buffer, size_t valid);
  void add_cupti_dropped(uint64_t n);
  // A buffer request refused because GPUTRACE_CUPTI_MAX_BUFFERS were out with CUPTI.
  void add_buffer_refused();
  void set_guards(const GuardSettings& settings);
  // CUPTI's runtime version: decides how OVERHEAD records are laid out.
  void set_cupti_version(uint32_t version);

  // What the driver said about a CUDA device (from CUPTI's context-created callback): the
  // record goes out ahead of the device's first activity, and again to every new receiver.
  // False when the device was already described.
  bool add_device(const gt_gpu_device_event& record);
  // The driver could not describe device_id. True the first time: the caller says so, once.
  bool add_unresolved_device(uint32_t device_id);
  // Whether add_device or add_unresolved_device has seen device_id (no need to ask again).
  bool device_known(uint32_t device_id);

  // Every kernel name and device record goes out again with its next use. For losses the
  // library cannot see: a batch fired into a full BPF ring (the USDT route reports no
  // failure) or dropped by the daemon's rate limit. The flush thread calls it every few
  // seconds; it costs one record per name and device in use.
  void announce_again();

  // What the status record reports about CUPTI itself.
  void set_state(gt_gpu_state state, int cupti_result, uint32_t cupti_version, const std::string& holder);
  // Sends the status record, and with it the library's own losses, if the receiver has not
  // seen the current ones (force: always).
  void send_status(bool force);
  // Sends raw bytes through the transport (test interface: malformed input).
  bool send_raw(std::span<const std::byte> bytes);

  ProcessorStats stats();
  // The status as it would be sent now (for the attach control socket's answers).
  gt_gpu_status_event status_snapshot();

 private:
  void send_status_locked(bool force);

  std::mutex mu_;
  Transport& transport_;
  const ClockAlignment& clock_;
  uint32_t pid_;
  NameTable names_;
  DeviceAnnouncer devices_;
  BatchWriter writer_;  // a refused batch calls announce_again's work at once: see batch_writer.h
  ProcessorStats stats_;
  RecordGuard guard_;
  RecordConverter converter_;  // after guard_: it holds a pointer to it
  GuardSettings guard_settings_;
  gt_gpu_guards_event guards_{};  // sent with every status record
  gt_gpu_guards_event last_sent_guards_{};
  gt_gpu_status_event status_{};
  gt_gpu_status_event last_sent_{};
  gt_gpu_lib_losses_event losses_{};  // sent with every status record
  gt_gpu_lib_losses_event last_sent_losses_{};
  uint64_t status_epoch_ = 0;
};

}  // namespace gputrace::cupti
