#include "userspace/timeline/timeline_recorder.h"

#include "userspace/engine/engine.h"

extern "C" {
#include "bpf/dma.h"
#include "bpf/gc.h"
#include "bpf/gpu.h"
}

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace gputrace {
namespace {

const char* copy_kind_name(uint8_t kind) {
  switch (kind) {
    case GT_GPU_COPY_HTOD: return "HtoD";
    case GT_GPU_COPY_DTOH: return "DtoH";
    case GT_GPU_COPY_DTOD: return "DtoD";
    case GT_GPU_COPY_HTOH: return "HtoH";
    case GT_GPU_COPY_PTOP: return "PtoP";
    default: return "other";
  }
}

// What a person calls the pause: CPython's generation, HotSpot's young/full, Go's STW phase.
std::string gc_pause_name(const gt_gc_pause_event& e) {
  switch (e.runtime) {
    case GT_GC_RT_CPYTHON: return fmt::format("gc gen{}", e.generation);
    case GT_GC_RT_HOTSPOT: return (e.flags & GT_GC_F_FULL) ? "GC pause (full)" : "GC pause";
    case GT_GC_RT_GO:
      switch (e.cause) {
        case GT_GC_CAUSE_GO_SWEEP_TERM: return "STW sweep termination";
        case GT_GC_CAUSE_GO_MARK_TERM: return "STW mark termination";
        case GT_GC_CAUSE_NOT_GC: return "STW (not GC)";
        default: return "STW";
      }
    default: return "GC pause";
  }
}

// Keeps the newest cap items of a ring whose oldest is at head; returns how many it dropped.
template <class T>
uint64_t keep_newest(std::vector<T>& ring, size_t& head, size_t cap) {
  if (ring.size() <= cap) return 0;
  std::rotate(ring.begin(), ring.begin() + static_cast<std::ptrdiff_t>(head % ring.size()), ring.end());
  const size_t excess = ring.size() - cap;
  ring.erase(ring.begin(), ring.begin() + static_cast<std::ptrdiff_t>(excess));
  ring.shrink_to_fit();
  head = 0;
  return excess;
}

}  // namespace

TimelineRecorder::TimelineRecorder(const Engine& engine, TimelineLimits limits) : engine_(engine), limits_(limits) {
  timeline_.counter_period_ns = limits_.counter_period_ns;
}

uint32_t TimelineRecorder::track(TrackGroupKind group, uint64_t group_id, TrackKind kind, uint32_t order,
                                 const std::string& name, const std::string& unit, const std::string& comm,
                                 uint32_t owner) {
  const auto key = std::make_tuple(static_cast<int>(group), group_id, static_cast<int>(kind), name);
  if (auto it = track_index_.find(key); it != track_index_.end()) return it->second;
  if (timeline_.tracks.size() >= limits_.max_tracks) return UINT32_MAX;
  if (owner != 0 && tracks_of_process_[owner] >= limits_.max_tracks_per_process) return UINT32_MAX;
  if (owner != 0) ++tracks_of_process_[owner];
  std::string group_name;
  switch (group) {
    case TrackGroupKind::Process:
      group_name = comm.empty() ? process_label(static_cast<uint32_t>(group_id)) : comm;
      break;
    case TrackGroupKind::Gpu: group_name = fmt::format("GPU {}", group_id); break;
    case TrackGroupKind::Device: group_name = device_label(static_cast<uint32_t>(group_id)); break;
    case TrackGroupKind::Host: group_name = "host"; break;
  }
  const auto index = static_cast<uint32_t>(timeline_.tracks.size());
  timeline_.tracks.push_back(TimelineTrack{.group_kind = group, .group_id = group_id, .group_name = group_name,
                                           .kind = kind, .order = order, .name = name, .unit = unit});
  track_index_.emplace(key, index);
  trim_to_cap();
  return index;
}

size_t TimelineRecorder::per_track_cap() const {
  const size_t tracks = std::max<size_t>(1, timeline_.tracks.size());
  return std::max<size_t>(1, std::min(limits_.max_per_track, limits_.max_items / tracks));
}

// At most max_tracks times per run: the cost of a rotation per track is paid rarely.
void TimelineRecorder::trim_to_cap() {
  const size_t cap = per_track_cap();
  for (size_t t = 0; t < stores_.size(); ++t) {
    TrackStore& st = stores_[t];
    // A track holds one kind of item: head belongs to its one non-empty ring.
    timeline_.tracks[t].dropped += keep_newest(st.slices, st.head, cap) + keep_newest(st.counters, st.head, cap) +
                                   keep_newest(st.marks, st.head, cap);
  }
}

TimelineRecorder::TrackStore* TimelineRecorder::store(uint32_t track) {
  if (track == UINT32_MAX) {
    ++tracks_refused_;
    timeline_.refused = tracks_refused_;  // reported with the dropped events, never silent
    return nullptr;
  }
  if (stores_.size() <= track) stores_.resize(track + 1);
  return &stores_[track];
}

// A full track overwrites its oldest item: what happened last is what an incident report
// written from a running daemon needs.
template <class T>
void TimelineRecorder::keep(uint32_t track, std::vector<T> TrackStore::*ring, T item) {
  TrackStore* st = store(track);
  if (!st) return;
  std::vector<T>& items = st->*ring;
  const size_t cap = per_track_cap();
  if (items.size() < cap) {
    // Grow no further than the cap: doubling past it would hold up to twice the budget.
    if (items.size() == items.capacity()) items.reserve(std::min(cap, std::max<size_t>(16, items.size() * 2)));
    items.push_back(std::move(item));
    return;
  }
  items[st->head] = std::move(item);
  st->head = (st->head + 1) % items.size();
  ++timeline_.tracks[track].dropped;
}

uint32_t TimelineRecorder::intern(const std::string& name) {
  if (auto it = name_index_.find(name); it != name_index_.end()) return it->second;
  const auto index = static_cast<uint32_t>(timeline_.names.size());
  timeline_.names.push_back(name);
  name_index_.emplace(name, index);
  return index;
}

// The command of the process holding pid now, or of the last one that held it.
std::string TimelineRecorder::process_label(uint32_t pid) const {
  if (const ProcessInfo* p = engine_.processes().live(pid)) return p->comm;
  std::string comm;
  for (const auto& [key, info] : engine_.processes().all())
    if (key.pid == pid) comm = info.comm;
  return comm.empty() ? fmt::format("pid {}", pid) : comm;
}

std::string TimelineRecorder::device_label(uint32_t index) const {
  if (index >= engine_.devices().size()) return fmt::format("device {}", index);
  const DeviceInfo& d = engine_.devices().at(index);
  return d.driver.empty() ? d.name : fmt::format("{} {}", d.name, d.driver);
}

void TimelineRecorder::on_record(const Record& r) {
  if (timeline_.first_ns == 0 || r.ts() < timeline_.first_ns) timeline_.first_ns = r.ts();
  timeline_.last_ns = std::max(timeline_.last_ns, r.ts());
  switch (static_cast<int>(r.kind())) {
    case GT_EV_GC_PAUSE: on_gc_pause(r); break;
    case GT_EV_GPU_KERNEL:
    case GT_EV_GPU_MEMCPY:
    case GT_EV_GPU_MEMSET:
    case GT_EV_GPU_GRAPH: on_gpu_activity(r); break;
    case GT_EV_GPU_NAME: on_gpu_name(r); break;
    case GT_EV_GPU_OVERHEAD: on_gpu_overhead(r); break;
    case GT_EV_DMA_MAP:
    case GT_EV_DMA_UNMAP:
      if (auto index = engine_.devices().find_key(r.as<gt_dma_event>().dev)) sample_device(*index, r.ts(), false);
      break;
    case GT_EV_DRIVER_UNBIND:  // drops the device's outstanding mappings from the count
      if (auto index = engine_.devices().find_key(r.as<gt_unbind_event>().dev)) sample_device(*index, r.ts(), false);
      break;
    default: break;
  }
}

void TimelineRecorder::on_gc_pause(const Record& r) {
  const auto e = r.as<gt_gc_pause_event>();
  const uint64_t start = e.begin_ns ? e.begin_ns : r.ts() - std::min<uint64_t>(r.ts(), e.duration_ns);
  if (start && start < timeline_.first_ns) timeline_.first_ns = start;
  const uint32_t t = track(TrackGroupKind::Process, e.hdr.pid, TrackKind::Slices, 0, "GC pauses", {}, {}, e.hdr.pid);
  TimelineSlice s{.start_ns = start, .dur_ns = e.duration_ns, .track = t, .name = intern(gc_pause_name(e))};
  if (e.runtime == GT_GC_RT_CPYTHON) {
    s.args.set(SliceArg::Generation, e.generation);
    if (e.collected >= 0) s.args.set(SliceArg::Collected, e.collected);
  }
  if (e.begin_tid) s.args.set(SliceArg::Tid, e.begin_tid);
  keep(t, &TrackStore::slices, std::move(s));
}

void TimelineRecorder::on_gpu_name(const Record& r) {
  const auto e = r.as<gt_gpu_name_event>();
  if (gpu_names_.size() >= limits_.max_gpu_names) return;
  const auto tail = r.tail<gt_gpu_name_event>();
  const size_t len = std::min<size_t>(e.name_len, tail.size());
  gpu_names_[{e.hdr.pid, e.name_id}] =
      std::string(reinterpret_cast<const char*>(tail.data()), strnlen(reinterpret_cast<const char*>(tail.data()), len));
}

void TimelineRecorder::on_gpu_activity(const Record& r) {
  // The three payloads share their leading fields (end_ns, then ids) but not their layout
  // after it, so each is read through its own struct.
  uint64_t end = 0;
  uint32_t device = 0, stream = 0;
  std::string name;
  SliceArgs args;
  if (r.kind() == static_cast<gt_event_kind>(GT_EV_GPU_KERNEL)) {
    const auto e = r.as<gt_gpu_kernel_event>();
    end = e.end_ns, device = e.device_id, stream = e.stream_id;
    auto it = gpu_names_.find({e.hdr.pid, e.name_id});
    name = it != gpu_names_.end() ? it->second : fmt::format("kernel #{}", e.name_id);
    args.set(SliceArg::Grid, int64_t{e.grid[0]} * e.grid[1] * e.grid[2]);
    args.set(SliceArg::Block, int64_t{e.block[0]} * e.block[1] * e.block[2]);
  } else if (r.kind() == static_cast<gt_event_kind>(GT_EV_GPU_MEMCPY)) {
    const auto e = r.as<gt_gpu_memcpy_event>();
    end = e.end_ns, device = e.device_id, stream = e.stream_id;
    name = fmt::format("memcpy {}", copy_kind_name(e.copy_kind));
    args.set(SliceArg::Bytes, static_cast<int64_t>(e.bytes));
  } else if (r.kind() == static_cast<gt_event_kind>(GT_EV_GPU_GRAPH)) {
    const auto e = r.as<gt_gpu_graph_event>();
    end = e.end_ns, device = e.device_id == 0xffffffffu ? 0 : e.device_id, stream = e.stream_id;
    name = fmt::format("graph #{}", e.graph_id);
  } else {
    const auto e = r.as<gt_gpu_memset_event>();
    end = e.end_ns, device = e.device_id, stream = e.stream_id;
    name = "memset";
    args.set(SliceArg::Bytes, static_cast<int64_t>(e.bytes));
  }
  args.set(SliceArg::Pid, r.header.pid);
  timeline_.last_ns = std::max(timeline_.last_ns, end);
  const uint32_t t = track(TrackGroupKind::Gpu, device, TrackKind::Slices, stream + 1, fmt::format("stream {}", stream),
                           {}, {}, r.header.pid);
  // Names are interned: a server runs the same few hundred kernels millions of times.
  const uint32_t name_id = name_index_.size() < limits_.max_gpu_names || name_index_.count(name)
                               ? intern(name)
                               : intern("kernel (name table full)");
  keep(t, &TrackStore::slices,
       TimelineSlice{.start_ns = r.ts(), .dur_ns = end > r.ts() ? end - r.ts() : 0, .track = t, .name = name_id,
                     .args = args});
}

// The profiler's own cost (CUPTI OVERHEAD records), on its process's track: what tracing
// took from the application, next to what it measured.
void TimelineRecorder::on_gpu_overhead(const Record& r) {
  const auto e = r.as<gt_gpu_overhead_event>();
  const char* what = "CUPTI overhead";
  switch (e.overhead_kind) {
    case 1: what = "driver compiler"; break;
    case 1u << 16: what = "CUPTI buffer flush"; break;
    case 2u << 16: what = "CUPTI instrumentation"; break;
    case 3u << 16: what = "CUPTI resources"; break;
    case 4u << 16: what = "module loading"; break;
    case 5u << 16: what = "lazy function loading"; break;
    case 6u << 16: what = "command buffer full"; break;
    case 7u << 16: what = "activity buffer request"; break;
    default: break;
  }
  timeline_.last_ns = std::max<uint64_t>(timeline_.last_ns, e.end_ns);
  const uint32_t t =
      track(TrackGroupKind::Process, e.hdr.pid, TrackKind::Slices, 1, "GPU tracing overhead", {}, {}, e.hdr.pid);
  SliceArgs args;
  if (e.hdr.tid) args.set(SliceArg::Tid, e.hdr.tid);
  keep(t, &TrackStore::slices,
       TimelineSlice{.start_ns = r.ts(), .dur_ns = e.end_ns - r.ts(), .track = t, .name = intern(what), .args = args});
}

// Outstanding mappings are a step function of time. It is sampled at most twice per
// counter period and device: a change is written at once when the last write is a period
// old, otherwise held back, and the held-back value (the last of the period) is written,
// with the time it was reached, before the next one. So a burst costs two samples and the
// value after it is stamped when it was reached, not when someone next looked.
void TimelineRecorder::sample_device(uint32_t index, uint64_t ts, bool force) {
  const DeviceDmaStats* stats = engine_.mappings().device_stats(index);
  if (!stats) return;
  CounterState& st = counter_state_[index];
  const std::pair<uint64_t, uint64_t> now{stats->outstanding, stats->outstanding_bytes};
  auto emit = [&](uint64_t at, std::pair<uint64_t, uint64_t> v) {
    if (st.emitted_any && v == st.last) return;
    const uint32_t mappings =
        track(TrackGroupKind::Device, index, TrackKind::Counter, 0, "outstanding mappings", "mappings");
    const uint32_t bytes = track(TrackGroupKind::Device, index, TrackKind::Counter, 1, "outstanding bytes", "bytes");
    keep(mappings, &TrackStore::counters, TimelineCounter{at, mappings, static_cast<double>(v.first)});
    keep(bytes, &TrackStore::counters, TimelineCounter{at, bytes, static_cast<double>(v.second)});
    st.emitted_any = true;
    st.last = v;
    st.last_emit_ns = at;
  };
  if (force || !st.emitted_any || ts >= st.last_emit_ns + limits_.counter_period_ns) {
    if (st.pending) emit(st.pending_ns, st.pending_value);
    st.pending = false;
    emit(ts, now);
  } else {
    st.pending = true;
    st.pending_ns = ts;
    st.pending_value = now;
  }
}

// A finding goes on its device's track when it names one (leaks, faults: next to the
// device's outstanding mappings), else on its process's, else on the host's.
void TimelineRecorder::add_finding(const Finding& f) {
  uint32_t t = UINT32_MAX;
  std::optional<uint32_t> device = f.device.empty() ? std::nullopt : engine_.devices().find_name(f.device);
  if (device)
    t = track(TrackGroupKind::Device, *device, TrackKind::Instants, 1000, "findings");
  else if (f.pid != 0)
    t = track(TrackGroupKind::Process, f.pid, TrackKind::Instants, 1000, "findings", {}, f.comm);
  else
    t = track(TrackGroupKind::Host, 0, TrackKind::Instants, 1000, "findings");
  keep(t, &TrackStore::marks,
       TimelineMark{.start_ns = f.start_ns, .end_ns = std::max(f.start_ns, f.end_ns), .track = t, .kind = std::string(f.kind_name()),
                    .severity = f.severity, .message = f.message});
}

void TimelineRecorder::finish() {
  for (auto& [index, st] : counter_state_)
    if (st.pending) sample_device(index, st.pending_ns, true);
  const auto& findings = engine_.findings();
  for (; findings_added_ < findings.size(); ++findings_added_) add_finding(findings[findings_added_]);
  // Names learned after a track was made: a process first seen by pid alone (a GC record
  // before the process table knew it), a device whose first event came before its
  // description (the reorder window can hold them in that order).
  for (auto& t : timeline_.tracks) {
    if (t.group_kind == TrackGroupKind::Process && t.group_name.rfind("pid ", 0) == 0)
      t.group_name = process_label(static_cast<uint32_t>(t.group_id));
    if (t.group_kind == TrackGroupKind::Device) t.group_name = device_label(static_cast<uint32_t>(t.group_id));
  }
  // The flat lists renderers read: each track's items, oldest first.
  timeline_.slices.clear();
  timeline_.counters.clear();
  timeline_.marks.clear();
  for (TrackStore& st : stores_) {
    // A track holds one kind of item, so head belongs to its one non-empty ring.
    auto oldest_first = [&st](auto& ring) {
      if (!ring.empty()) std::rotate(ring.begin(), ring.begin() + static_cast<std::ptrdiff_t>(st.head % ring.size()), ring.end());
    };
    oldest_first(st.slices);
    oldest_first(st.counters);
    oldest_first(st.marks);
    st.head = 0;
    timeline_.slices.insert(timeline_.slices.end(), st.slices.begin(), st.slices.end());
    timeline_.counters.insert(timeline_.counters.end(), st.counters.begin(), st.counters.end());
    timeline_.marks.insert(timeline_.marks.end(), st.marks.begin(), st.marks.end());
  }
  if (timeline_.first_ns == 0) timeline_.first_ns = engine_.stats().first_ts;
  timeline_.last_ns = std::max(timeline_.last_ns, engine_.stats().last_ts);
}

}  // namespace gputrace
