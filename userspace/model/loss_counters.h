// Every loss counter gputrace keeps, defined once: its name, who counts it, and what it
// counts. Producers count into a LossCounts by Loss; the report, the exporters and
// docs/metrics.md list counters from this table, so "nothing lost" can be told from "not
// measured" and a new counter cannot be forgotten by any of them.
//
// Three lists make the table, each where its producer needs it as a C header too:
//   GT_BPF_LOSSES        (bpf/common.h)  the BPF programs' per-CPU counters
//   GT_GPU_PROBE_LOSSES  (bpf/gpu.h)     the CUPTI USDT probe's counters
//   GT_DAEMON_LOSSES     (below)         everything counted in userspace
// plus one family whose names are made at run time: "missed:<program>", a BPF program's
// recursion misses (bpf_prog_info.recursion_misses).
#pragma once

extern "C" {
#include "bpf/common.h"
#include "bpf/gpu.h"
}

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gputrace {

// Who counts it. Kernel: BPF programs; Tracer: the live source (both reach the engine as
// GT_EV_LOSS records, so captures keep them: the report calls them "bpf"); Daemon: the
// daemon command's own; Engine: the analysis ("engine"); Library: the CUPTI injection
// libraries, from their status records ("gpu"); Input: the capture reader ("input");
// Exporter: the Prometheus and OTLP exporters.
enum class LossSource : uint8_t { Kernel, Tracer, Daemon, Engine, Library, Input, Exporter };

// The GPU ingest's reasons to refuse a batch: X(Reason, counter_name, "what it means").
// BatchReject (userspace/gpu/batch_validator.h) is generated from this list.
#define GT_GPU_BATCH_REJECTS(X)                                                                       \
  X(TooShort, gpu_batch_too_short, "GPU batch shorter than its header")                              \
  X(TooLong, gpu_batch_too_long, "GPU batch longer than the largest batch allowed")                  \
  X(BadMagic, gpu_batch_bad_magic, "GPU batch with a wrong magic number")                            \
  X(BadVersion, gpu_batch_bad_version, "GPU batch of an unknown version")                            \
  X(LengthMismatch, gpu_batch_length_mismatch, "GPU batch whose byte count disagrees with its header") \
  X(CountMismatch, gpu_batch_count_mismatch, "GPU batch whose record count disagrees with its header") \
  X(BadRecord, gpu_batch_bad_record, "GPU batch with a malformed record")                            \
  X(NotGpuRecord, gpu_batch_not_gpu_record, "GPU batch carrying a non-GPU record kind")              \
  X(BadName, gpu_batch_bad_name, "GPU batch with a malformed kernel name")                           \
  X(BadStatus, gpu_batch_bad_status, "GPU batch with a malformed status record")                     \
  X(BadTimestamps, gpu_batch_bad_timestamps, "GPU batch with activity ending before it starts")      \
  X(RateLimited, gpu_batch_rate_limited, "GPU batch over the sending process's rate limit")          \
  X(NotABatch, gpu_batch_not_a_batch, "ring record is not a GPU batch")

// X(counter_name, LossSource, "what it counts"). The order of the engine's and the
// library's counters is the order the report lists them in.
#define GT_DAEMON_LOSSES(X)                                                                              \
  X(ring_decode_errors, Tracer, "ring records that failed validation")                                  \
  X(gpu_batches_lost, Tracer, "GPU batches missing from a process's sequence (never arrived)")          \
  X(gpu_records_misdated, Tracer,                                                                       \
    "GPU records starting or ending more than 10 s past the daemon's clock (dropped)")                  \
  X(gpu_batches_unwanted, Tracer, "GPU batches of processes outside `record -- CMD`'s tree (dropped)")   \
  X(gpu_api_records_shed, Tracer, "CUDA API records dropped on arrival while shedding load")              \
  X(gpu_socket_refused_peer, Tracer, "socket connections refused: no visible pid, or outside the tree") \
  X(gpu_socket_refused_sender, Tracer,                                                                  \
    "datagrams refused for their own sender (outside `record -- CMD`'s tree, or invisible)")            \
  X(gpu_socket_refused_too_many, Tracer, "socket connections over the limit of 256")                    \
  X(gpu_socket_oversize, Tracer, "datagrams over 16 KiB")                                               \
  X(gpu_socket_refused_uid_limit, Tracer, "socket connections over one user's limit of 32")              \
  X(gpu_socket_closed_silent, Tracer, "socket connections closed: no datagram within 10 s of connecting") \
  X(gpu_socket_over_budget, Tracer, "datagrams dropped: their user sent over 8 MiB/s (32 MiB burst)")   \
  X(gpu_socket_empty, Tracer, "empty datagrams (no batch is empty)")                                   \
  X(spans_not_kept, Daemon, "pause and copy spans beyond --max-spans in one interval (trace export only)") \
  X(finding_spans_not_kept, Daemon, "finding spans beyond their budget of 1024 per interval")           \
  X(late_records, Engine, "records processed after a newer one (out of order, still processed)")        \
  X(invalid_stack_records, Engine, "malformed stack records")                                           \
  X(stacks_not_kept, Engine, "stacks not kept: the stack table was full")                               \
  X(health_events_not_kept, Engine, "faults, AER errors, bounces and latencies not kept: table full")   \
  X(late_gpu_records, Engine, "GPU records processed after a newer one")                                \
  X(correlation_history_dropped, Engine, "kernel history the correlation could not keep")               \
  X(gpu_released_early, Engine, "GPU records that went on before the kernel stream passed them")        \
  X(kernel_released_early, Engine, "kernel records processed before their reorder window passed: too many held") \
  X(correlation_pending_dropped, Engine, "GPU activity judged early: too much was waiting")              \
  X(correlation_beyond_history, Engine, "GPU activity judged with part of its history forgotten")       \
  X(correlation_open_pause_expired, Engine,                                                             \
    "GPU activity judged while its process's GC pause had been open too long")                          \
  X(link_load_dropped, Engine, "copies left out of a link's load (docs/findings.md)")                   \
  X(gpu_device_records_ignored, Engine, "GPU device records naming a PCI function the host does not have") \
  X(gpu_records_dropped_by_cupti, Library, "GPU records lost in the served processes: CUPTI's buffers were full") \
  X(gpu_records_dropped_in_process, Library,                                                            \
    "GPU records lost in the served processes: the injection library could not hand them over")        \
  X(gpu_records_untimed, Library, "GPU records CUPTI could not time (start or end 0)")                   \
  X(gpu_records_truncated, Library, "GPU records cut short by their buffer")                             \
  X(gpu_buffers_cut_short, Library, "CUPTI buffers libcupti stopped walking early (the rest uncounted)")  \
  X(gpu_names_overflowed, Library, "kernels shipped without a name (the library's name table was full)")  \
  X(gpu_records_rate_limited_process, Library,                                                          \
    "GPU records the library's per-process rate limit dropped (GPUTRACE_CUPTI_MAX_RECORDS_PER_S)")      \
  X(gpu_records_rate_limited_thread, Library,                                                           \
    "GPU records the library's per-thread rate limit dropped (GPUTRACE_CUPTI_MAX_THREAD_RECORDS_PER_S)") \
  X(gpu_records_invalid_timestamp, Library,                                                             \
    "GPU records dropped for an impossible timestamp (ending > 10 s ahead, or lasting over a day)")     \
  X(gpu_records_non_monotonic, Library, "GPU records dropped for starting far before their stream's latest") \
  X(gpu_buffers_refused, Library, "CUPTI buffers refused past GPUTRACE_CUPTI_MAX_BUFFERS")              \
  X(gpu_device_bindings_cleared, Engine,                                                                \
    "times the 65,536 (process, CUDA device) bindings were full and started over")                      \
  X(decode_errors, Input, "capture records that failed validation")                                     \
  X(prometheus_textfile_errors, Exporter, "textfile writes that failed (with --textfile)")              \
  X(otlp_http_dropped_metric_points, Exporter, "OTLP/HTTP metric points given up")                      \
  X(otlp_http_dropped_spans, Exporter, "OTLP/HTTP spans given up")                                      \
  X(otlp_http_dropped_log_records, Exporter, "OTLP/HTTP log records given up")                          \
  X(otlp_file_dropped_metric_points, Exporter, "OTLP file metric points given up")                      \
  X(otlp_file_dropped_spans, Exporter, "OTLP file spans given up")                                      \
  X(otlp_file_dropped_log_records, Exporter, "OTLP file log records given up")

enum class Loss : uint16_t {
#define GT_LOSS_ID_BPF(NAME, INDEX, ID, HELP) ID,
#define GT_LOSS_ID_REJECT(REASON, ID, HELP) ID,
#define GT_LOSS_ID(ID, SOURCE, HELP) ID,
  GT_BPF_LOSSES(GT_LOSS_ID_BPF) GT_GPU_PROBE_LOSSES(GT_LOSS_ID_BPF) GT_GPU_BATCH_REJECTS(GT_LOSS_ID_REJECT)
      GT_DAEMON_LOSSES(GT_LOSS_ID)
#undef GT_LOSS_ID_BPF
#undef GT_LOSS_ID_REJECT
#undef GT_LOSS_ID
          kCount
};
inline constexpr size_t kLossCount = static_cast<size_t>(Loss::kCount);

struct LossInfo {
  std::string_view name;
  LossSource source = LossSource::Daemon;
  std::string_view help;
};

inline constexpr std::array<LossInfo, kLossCount> kLossTable = {{
#define GT_LOSS_ROW_BPF(NAME, INDEX, ID, HELP) {#ID, LossSource::Kernel, HELP},
#define GT_LOSS_ROW_REJECT(REASON, ID, HELP) {#ID, LossSource::Tracer, HELP},
#define GT_LOSS_ROW(ID, SOURCE, HELP) {#ID, LossSource::SOURCE, HELP},
    GT_BPF_LOSSES(GT_LOSS_ROW_BPF) GT_GPU_PROBE_LOSSES(GT_LOSS_ROW_BPF) GT_GPU_BATCH_REJECTS(GT_LOSS_ROW_REJECT)
        GT_DAEMON_LOSSES(GT_LOSS_ROW)
#undef GT_LOSS_ROW_BPF
#undef GT_LOSS_ROW_REJECT
#undef GT_LOSS_ROW
}};

inline constexpr const LossInfo& loss_info(Loss l) { return kLossTable[static_cast<size_t>(l)]; }
inline constexpr std::string_view loss_name(Loss l) { return loss_info(l).name; }

// The family of counters named at run time.
inline constexpr std::string_view kRecursionMissPrefix = "missed:";
inline constexpr std::string_view kRecursionMissHelp =
    "times a BPF program did not run because another ran on that CPU (recursion)";

// Counts by Loss, for one producer or summed over several.
class LossCounts {
 public:
  uint64_t& operator[](Loss l) { return counts_[static_cast<size_t>(l)]; }
  uint64_t operator[](Loss l) const { return counts_[static_cast<size_t>(l)]; }

 private:
  std::array<uint64_t, kLossCount> counts_{};
};

// Not every loss counter counts something lost: late_records and late_gpu_records count
// records that arrived after their reorder window and were still processed (a finding may
// be judged a little late; no count is low). Views show them apart from what was dropped.
inline bool counts_late_records(std::string_view loss_name) {
  return loss_name == "late_records" || loss_name == "late_gpu_records";
}

// A counter's value as the report and the exporters list it.
struct LossCounter {
  std::string name;
  uint64_t count = 0;
  const char* source = "";  // "bpf" (reported by the tracer), "engine", "gpu" (the injection libraries), "input"
};

// The counters by name (one value per name, summed), for views and exporters that list them
// in name order.
inline std::map<std::string, uint64_t> losses_by_name(const std::vector<LossCounter>& losses) {
  std::map<std::string, uint64_t> out;
  for (const LossCounter& l : losses) out[l.name] += l.count;
  return out;
}

}  // namespace gputrace
