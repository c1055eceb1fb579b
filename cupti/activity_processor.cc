#include "cupti/activity_processor.h"

#include <cupti.h>

#include <cstring>

namespace gputrace::cupti {

ActivityProcessor::ActivityProcessor(Transport& transport, const ClockAlignment& clock, uint32_t pid)
    : transport_(transport),
      clock_(clock),
      pid_(pid),
      writer_(transport, pid,
              [this] {
                // The refused batch may have carried names and device records that later
                // batches, even of this buffer, refer to.
                names_.resend_all();
                devices_.resend_all();
              }),
      converter_(names_, devices_, pid, &guard_) {
  status_.state = GT_GPU_STATE_ACTIVE;
}

void ActivityProcessor::add_buffer_refused() {
  std::lock_guard lock(mu_);
  ++stats_.buffers_refused;
}

void ActivityProcessor::set_guards(const GuardSettings& settings) {
  std::lock_guard lock(mu_);
  guard_settings_ = settings;
  guard_.set_limits(settings.limits);
}

void ActivityProcessor::set_cupti_version(uint32_t version) {
  std::lock_guard lock(mu_);
  // Overhead3 (correlation id, overheadData to free) is what a CUDA 13 libcupti emits.
  converter_.set_overhead_v3(version >= 130000);
}

void ActivityProcessor::process_buffer(uint8_t* buffer, size_t valid) {
  std::lock_guard lock(mu_);
  if (!transport_.active()) {
    // No tracer, no work: the records are released unread.
    ++stats_.unobserved;
    return;
  }
  const uint64_t epoch = transport_.epoch();
  // One offset for the whole buffer: a recalibration on the flush thread meanwhile cannot
  // convert a record's start and end with different offsets.
  const int64_t clock_offset = clock_.offset_ns();
  CUpti_Activity* record = nullptr;
  CUptiResult walked;
  while ((walked = cuptiActivityGetNextRecord(buffer, valid, &record)) == CUPTI_SUCCESS) {
    const auto* first = reinterpret_cast<const std::byte*>(record);
    const auto* end = reinterpret_cast<const std::byte*>(buffer) + valid;
    switch (converter_.convert({first, end}, epoch, clock_offset, writer_)) {
      case RecordConverter::Outcome::Converted: ++stats_.records; break;
      case RecordConverter::Outcome::Skipped: ++stats_.skipped; break;
      case RecordConverter::Outcome::Truncated: ++stats_.truncated; break;
      case RecordConverter::Outcome::Incomplete: ++stats_.incomplete; break;
      case RecordConverter::Outcome::Guarded: break;  // counted by the guard
    }
  }
  // MAX_LIMIT_REACHED is the normal end. Anything else (INVALID_KIND: a record kind this
  // libcupti does not know) stops the walk with records left unread.
  if (walked != CUPTI_ERROR_MAX_LIMIT_REACHED) ++stats_.buffers_cut_short;
  writer_.flush();
  send_status_locked(false);
}

void ActivityProcessor::announce_again() {
  std::lock_guard lock(mu_);
  names_.resend_all();
  devices_.resend_all();
}

void ActivityProcessor::add_cupti_dropped(uint64_t n) {
  std::lock_guard lock(mu_);
  stats_.dropped_cupti += n;
}

bool ActivityProcessor::add_device(const gt_gpu_device_event& record) {
  std::lock_guard lock(mu_);
  return devices_.learn(record);
}

bool ActivityProcessor::add_unresolved_device(uint32_t device_id) {
  std::lock_guard lock(mu_);
  return devices_.unresolved(device_id);
}

bool ActivityProcessor::device_known(uint32_t device_id) {
  std::lock_guard lock(mu_);
  return devices_.known(device_id);
}

void ActivityProcessor::set_state(gt_gpu_state state, int cupti_result, uint32_t cupti_version,
                                  const std::string& holder) {
  std::lock_guard lock(mu_);
  status_.state = state;
  status_.cupti_result = cupti_result;
  status_.cupti_version = cupti_version;
  std::memset(status_.holder, 0, sizeof(status_.holder));
  std::memcpy(status_.holder, holder.data(), std::min(holder.size(), sizeof(status_.holder) - 1));
}

void ActivityProcessor::send_status(bool force) {
  std::lock_guard lock(mu_);
  send_status_locked(force);
}

void ActivityProcessor::send_status_locked(bool force) {
  if (!transport_.active()) return;
  status_.clock_mode = clock_.mode();
  status_.clock_offset_ns = clock_.offset_ns();
  status_.clock_error_ns = clock_.error_ns(ClockAlignment::monotonic_now());
  status_.records = stats_.records;
  status_.dropped_cupti = stats_.dropped_cupti;
  status_.dropped_local = writer_.records_dropped();
  losses_.untimed = stats_.incomplete;
  losses_.truncated = stats_.truncated;
  losses_.buffers_cut_short = stats_.buffers_cut_short;
  losses_.names_overflowed = names_.overflowed();
  losses_.headers_version = CUPTI_API_VERSION;
#ifdef GPUTRACE_CUPTI_LAYOUT_UNVERIFIED
  losses_.flags = GT_GPU_LAYOUT_UNVERIFIED;
#endif
  // The header (timestamp) differs every time: compare the payloads only.
  const auto payload_differs = [](const auto& a, const auto& b) {
    return std::memcmp(reinterpret_cast<const char*>(&a) + sizeof(gt_event_header),
                       reinterpret_cast<const char*>(&b) + sizeof(gt_event_header), sizeof(a) - sizeof(gt_event_header)) != 0;
  };
  const GuardCounts& g = guard_.counts();
  guards_.process_rate_limited = g.process_rate_limited;
  guards_.thread_rate_limited = g.thread_rate_limited;
  guards_.invalid_timestamp = g.invalid_timestamp;
  guards_.non_monotonic = g.non_monotonic;
  guards_.buffers_refused = stats_.buffers_refused;
  guards_.process_limit = guard_settings_.limits.process_per_s;
  guards_.thread_limit = guard_settings_.limits.thread_per_s;
  guards_.device_buffers = guard_settings_.device_buffers;
  guards_.max_buffers = guard_settings_.max_buffers;
  const bool changed = payload_differs(status_, last_sent_) || payload_differs(losses_, last_sent_losses_) ||
                       payload_differs(guards_, last_sent_guards_);
  if (!force && !changed && status_epoch_ == transport_.epoch()) return;
  const uint64_t now = ClockAlignment::monotonic_now();
  for (gt_event_header* h : {&status_.hdr, &losses_.hdr, &guards_.hdr}) {
    h->cpu = GT_GPU_NO_CPU;
    h->ts_ns = now;
    h->pid = pid_;
  }
  status_.hdr.kind = GT_EV_GPU_STATUS;
  status_.hdr.size = sizeof(status_);
  losses_.hdr.kind = GT_EV_GPU_LIB_LOSSES;
  losses_.hdr.size = sizeof(losses_);
  guards_.hdr.kind = GT_EV_GPU_GUARDS;
  guards_.hdr.size = sizeof(guards_);
  writer_.make_room(sizeof(status_) + sizeof(losses_) + sizeof(guards_));  // all three in one batch
  writer_.append(&status_, sizeof(status_));
  writer_.append(&losses_, sizeof(losses_));
  writer_.append(&guards_, sizeof(guards_));
  if (!writer_.flush()) return;  // not heard: the next call sends them again
  last_sent_ = status_;
  last_sent_losses_ = losses_;
  last_sent_guards_ = guards_;
  status_epoch_ = transport_.epoch();
}

bool ActivityProcessor::send_raw(std::span<const std::byte> bytes) {
  std::lock_guard lock(mu_);
  return transport_.send(bytes);
}

gt_gpu_status_event ActivityProcessor::status_snapshot() {
  std::lock_guard lock(mu_);
  gt_gpu_status_event st = status_;
  st.records = stats_.records;
  return st;
}

ProcessorStats ActivityProcessor::stats() {
  std::lock_guard lock(mu_);
  ProcessorStats s = stats_;
  s.dropped_local = writer_.records_dropped();
  s.batches = writer_.batches_sent();
  s.devices_described = devices_.described();
  s.devices_unresolved = devices_.unresolved_count();
  s.names_overflowed = names_.overflowed();
  s.guarded = guard_.counts();
  return s;
}

}  // namespace gputrace::cupti
