// Timeline: what happened when, as plain tracks of slices, counter samples and instants, for
// the Perfetto trace and the HTML report's timeline (userspace/timeline/timeline_recorder.h
// builds it from the records).
//
// Tracks are grouped like a Perfetto process: per traced process (GC pauses, findings that
// name it), per GPU (one track per CUDA stream: kernels, copies, memsets), per device
// (outstanding DMA mappings and bytes as counters, findings naming it) and the host
// (findings that name neither).
#pragma once

#include "userspace/model/finding.h"

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace gputrace {

enum class TrackGroupKind { Process, Gpu, Device, Host };
enum class TrackKind { Slices, Counter, Instants };

struct TimelineTrack {
  TrackGroupKind group_kind = TrackGroupKind::Host;
  uint64_t group_id = 0;    // pid, CUDA device id, DeviceTable index; 0 for the host
  std::string group_name;   // "python3.11 [4242]", "GPU 0", "0000:41:00.0 nvidia", "host"
  TrackKind kind = TrackKind::Slices;
  uint32_t order = 0;       // within its group: GC, then streams, then findings
  std::string name;         // "GC pauses", "stream 7", "outstanding mappings", "findings"
  std::string unit;         // counters: "mappings", "bytes"
  uint64_t dropped = 0;     // older items overwritten (max_per_track)
};

// A slice's arguments are a few known names: an enum, not strings, keeps a slice at 56 bytes.
enum class SliceArg : uint8_t { None, Generation, Collected, Tid, Grid, Block, Bytes, Pid };
const char* slice_arg_name(SliceArg arg);  // "generation", "collected", ... as trace.json shows them

struct SliceArgs {
  static constexpr size_t kMax = 3;  // the most any producer sets (GC: generation, collected, tid)
  std::array<SliceArg, kMax> keys{};
  std::array<int64_t, kMax> values{};
  void set(SliceArg key, int64_t value);  // replaces an earlier value of key; past kMax: ignored
};

struct TimelineSlice {
  uint64_t start_ns = 0;
  uint64_t dur_ns = 0;
  uint32_t track = 0;
  uint32_t name = 0;  // index into Timeline::names
  // Details for the slice's args, by its track's producer: GC generation/collected, copy
  // bytes, ... ; "-1" style unknowns are left out.
  SliceArgs args;
};

struct TimelineCounter {
  uint64_t ts_ns = 0;
  uint32_t track = 0;
  double value = 0;
};

// A finding on its subject's track (instant when start == end).
struct TimelineMark {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t track = 0;
  std::string kind;
  Severity severity = Severity::Warning;
  std::string message;
};

struct Timeline {
  uint64_t first_ns = 0;  // oldest timestamp seen; 0 when nothing was recorded
  uint64_t last_ns = 0;
  std::vector<TimelineTrack> tracks;
  std::vector<std::string> names;  // slice names, interned
  std::vector<TimelineSlice> slices;
  std::vector<TimelineCounter> counters;
  std::vector<TimelineMark> marks;
  uint64_t counter_period_ns = 0;  // how often device counters were sampled (event time)
  uint64_t refused = 0;            // events of tracks not opened (too many tracks, or per process)

  uint64_t dropped_total() const;  // items overwritten on their track, plus refused
};

}  // namespace gputrace
