#include "exporters/report/perfetto_trace.h"

#include <fmt/format.h>

#include <algorithm>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;

// Names are bytes from the kernel, not UTF-8: bytes that are not become U+FFFD (a strict
// dump would throw).
std::string compact(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }
std::string quote(const std::string& s) { return compact(json(s)); }

// Microseconds with nanosecond digits, written exactly (a double would round past ~2^53 ns).
std::string micros(uint64_t ns) { return fmt::format("{}.{:03}", ns / 1000, ns % 1000); }

int64_t trace_pid(const TimelineTrack& t) {
  switch (t.group_kind) {
    case TrackGroupKind::Process: return static_cast<int64_t>(t.group_id);
    case TrackGroupKind::Gpu: return kTraceGpuPidBase + static_cast<int64_t>(t.group_id);
    case TrackGroupKind::Device: return kTraceDevicePidBase + static_cast<int64_t>(t.group_id);
    case TrackGroupKind::Host: return kTraceHostPid;
  }
  return kTraceHostPid;
}

// Host first, then GPUs, devices and processes, each by id.
int64_t group_sort_index(const TimelineTrack& t) {
  switch (t.group_kind) {
    case TrackGroupKind::Host: return 0;
    case TrackGroupKind::Gpu: return 1'000 + static_cast<int64_t>(t.group_id);
    case TrackGroupKind::Device: return 100'000 + static_cast<int64_t>(t.group_id);
    case TrackGroupKind::Process: return 1'000'000 + static_cast<int64_t>(t.group_id);
  }
  return 0;
}

std::string group_label(const TimelineTrack& t) {
  if (t.group_kind == TrackGroupKind::Process) return fmt::format("{} [{}]", t.group_name, t.group_id);
  return t.group_name;
}

const char* category(const TimelineTrack& t) {
  switch (t.group_kind) {
    case TrackGroupKind::Process: return "gc";
    case TrackGroupKind::Gpu: return "gpu";
    case TrackGroupKind::Device: return "dma";
    case TrackGroupKind::Host: return "host";
  }
  return "host";
}

struct Writer {
  std::string out;
  bool first = true;
  void event(const std::string& body) {
    out += first ? "\n" : ",\n";
    out += "{" + body + "}";
    first = false;
  }
};

// Slices on one trace thread must nest; the same track's slices never should overlap
// (GC pauses of a process, kernels of a stream), but if they do (clock-calibrated GPU
// stamps, findings covering ranges), the overlapping ones go to extra lanes rather than
// being misdrawn. Sets lane[i] for every item of each track (0 = the track's own thread)
// and returns the number of lanes per track. Instants (when instants_anywhere) need no
// nesting and stay on lane 0.
template <class Item>
std::vector<uint32_t> assign_lanes(const std::vector<Item>& items, size_t track_count, auto start, auto end,
                                   std::vector<uint32_t>& lane, bool instants_anywhere) {
  std::vector<std::vector<size_t>> by_track(track_count);
  for (size_t i = 0; i < items.size(); ++i) by_track[items[i].track].push_back(i);
  std::vector<uint32_t> lanes(track_count, 1);
  lane.assign(items.size(), 0);
  for (size_t t = 0; t < track_count; ++t) {
    auto& order = by_track[t];
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return start(items[a]) < start(items[b]); });
    std::vector<uint64_t> lane_end;
    for (size_t i : order) {
      if (instants_anywhere && end(items[i]) <= start(items[i])) continue;
      uint32_t l = 0;
      while (l < lane_end.size() && lane_end[l] > start(items[i])) ++l;
      if (l == lane_end.size()) lane_end.push_back(0);
      lane_end[l] = std::max(end(items[i]), start(items[i]) + 1);
      lane[i] = l;
    }
    lanes[t] = std::max<uint32_t>(1, static_cast<uint32_t>(lane_end.size()));
  }
  return lanes;
}

}  // namespace

std::string render_perfetto_trace(const Timeline& timeline, const HostSnapshot& s) {
  Writer w;
  w.out = "{\"traceEvents\":[";
  const auto& tracks = timeline.tracks;

  // Lanes per track: slices and range findings that overlap on a track get extra threads.
  std::vector<uint32_t> slice_lane, mark_lane;
  const auto slice_lanes = assign_lanes(
      timeline.slices, tracks.size(), [](const TimelineSlice& s) { return s.start_ns; },
      [](const TimelineSlice& s) { return s.start_ns + s.dur_ns; }, slice_lane, false);
  const auto mark_lanes = assign_lanes(
      timeline.marks, tracks.size(), [](const TimelineMark& m) { return m.start_ns; },
      [](const TimelineMark& m) { return m.end_ns; }, mark_lane, true);
  std::vector<uint32_t> lanes_of_track(tracks.size(), 1);
  for (size_t t = 0; t < tracks.size(); ++t)
    lanes_of_track[t] = tracks[t].kind == TrackKind::Slices    ? slice_lanes[t]
                        : tracks[t].kind == TrackKind::Instants ? mark_lanes[t]
                                                                : 1;
  // Thread ids: one per (track, lane), numbered from 1 in track order.
  std::vector<int64_t> first_tid(tracks.size(), 0);
  int64_t next_tid = 1;
  for (uint32_t t = 0; t < tracks.size(); ++t) {
    first_tid[t] = next_tid;
    next_tid += lanes_of_track[t];
  }

  // Names of processes and threads, and the order the UI lists them in.
  std::vector<int64_t> named_pids;
  for (uint32_t t = 0; t < tracks.size(); ++t) {
    const TimelineTrack& tr = tracks[t];
    const int64_t pid = trace_pid(tr);
    if (std::find(named_pids.begin(), named_pids.end(), pid) == named_pids.end()) {
      named_pids.push_back(pid);
      w.event(fmt::format("\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"args\":{{\"name\":{}}}", pid,
                          quote(group_label(tr))));
      w.event(fmt::format("\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":{},\"args\":{{\"sort_index\":{}}}",
                          pid, group_sort_index(tr)));
    }
    if (tr.kind == TrackKind::Counter) continue;  // counters are named by their events
    for (uint32_t lane = 0; lane < lanes_of_track[t]; ++lane) {
      const std::string name = lane == 0 ? tr.name : fmt::format("{} ({})", tr.name, lane + 1);
      w.event(fmt::format("\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{}}}", pid,
                          first_tid[t] + lane, quote(name)));
      w.event(fmt::format(
          "\"ph\":\"M\",\"name\":\"thread_sort_index\",\"pid\":{},\"tid\":{},\"args\":{{\"sort_index\":{}}}", pid,
          first_tid[t] + lane, tr.order * 16 + lane));
    }
  }

  for (size_t i = 0; i < timeline.slices.size(); ++i) {
    const TimelineSlice& s = timeline.slices[i];
    const TimelineTrack& tr = tracks[s.track];
    // By name, as the args have always been listed.
    std::vector<std::pair<std::string_view, int64_t>> named;
    for (size_t a = 0; a < SliceArgs::kMax; ++a)
      if (s.args.keys[a] != SliceArg::None) named.emplace_back(slice_arg_name(s.args.keys[a]), s.args.values[a]);
    std::sort(named.begin(), named.end());
    json args = json::object();
    for (const auto& [k, v] : named) args[std::string(k)] = v;
    w.event(fmt::format("\"ph\":\"X\",\"name\":{},\"cat\":\"{}\",\"pid\":{},\"tid\":{},\"ts\":{},\"dur\":{},\"args\":{}",
                        quote(timeline.names[s.name]), category(tr), trace_pid(tr), first_tid[s.track] + slice_lane[i],
                        micros(s.start_ns), micros(s.dur_ns), compact(args)));
  }
  for (const TimelineCounter& c : timeline.counters) {
    const TimelineTrack& tr = tracks[c.track];
    w.event(fmt::format("\"ph\":\"C\",\"name\":{},\"cat\":\"dma\",\"pid\":{},\"ts\":{},\"args\":{{{}:{}}}",
                        quote(tr.name), trace_pid(tr), micros(c.ts_ns), quote(tr.unit.empty() ? "value" : tr.unit),
                        static_cast<uint64_t>(c.value)));
  }
  for (size_t i = 0; i < timeline.marks.size(); ++i) {
    const TimelineMark& m = timeline.marks[i];
    const TimelineTrack& tr = tracks[m.track];
    json args = {{"severity", to_string(m.severity)}, {"message", m.message}, {"start_ns", m.start_ns},
                 {"end_ns", m.end_ns}};
    const std::string common = fmt::format("\"name\":{},\"cat\":\"finding\",\"pid\":{},\"tid\":{},\"ts\":{}",
                                           quote(m.kind), trace_pid(tr), first_tid[m.track] + mark_lane[i],
                                           micros(m.start_ns));
    const std::string args_text = compact(args);
    if (m.end_ns > m.start_ns)
      w.event(fmt::format("\"ph\":\"X\",{},\"dur\":{},\"args\":{}", common, micros(m.end_ns - m.start_ns), args_text));
    else
      w.event(fmt::format("\"ph\":\"i\",\"s\":\"t\",{},\"args\":{}", common, args_text));
  }

  // What was left out is said in the trace itself, where a person looking at it sees it.
  json dropped = json::object();
  for (const auto& t : tracks)
    if (t.dropped) dropped[fmt::format("{} / {}", group_label(t), t.name)] = t.dropped;
  if (timeline.refused) dropped["tracks not opened (track limits)"] = timeline.refused;
  if (const uint64_t n = timeline.dropped_total()) {
    if (std::find(named_pids.begin(), named_pids.end(), kTraceHostPid) == named_pids.end())
      w.event(fmt::format("\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"args\":{{\"name\":\"host\"}}",
                          kTraceHostPid));
    w.event(fmt::format("\"ph\":\"i\",\"s\":\"g\",\"name\":{},\"cat\":\"host\",\"pid\":{},\"tid\":0,\"ts\":{},"
                        "\"args\":{{\"dropped\":{}}}",
                        quote(timeline.refused == 0
                                  ? fmt::format("timeline incomplete: {} older events not kept (per-track limit)", n)
                                  : fmt::format("timeline incomplete: {} events not kept (per-track and track limits)",
                                                n)),
                        kTraceHostPid, micros(timeline.last_ns), compact(dropped)));
  }

  const SnapshotSource& src = s.source;
  json other = {{"generator", "gputrace " + src.version},
                {"source", src.path},
                {"hostname", src.hostname},
                {"kernel", src.kernel},
                {"clock", "CLOCK_MONOTONIC"},
                {"first_ns", timeline.first_ns},
                {"last_ns", timeline.last_ns},
                {"counter_period_ns", timeline.counter_period_ns},
                {"dropped_events", timeline.dropped_total()},
                {"dropped_by_track", dropped}};
  w.out += "\n],\"displayTimeUnit\":\"ns\",\"otherData\":";
  w.out += compact(other);
  w.out += "}\n";
  return w.out;
}

}  // namespace gputrace
