// TimelineRecorder builds the Timeline (model/timeline.h) as the engine's record observer
// (after the analyzers, in event-time order):
//
//   TimelineRecorder timeline(engine);  // bounded by TimelineLimits; the Pipeline wires it
//   ... on_record(r) for every record the engine processed; engine.finish();
//   timeline.finish();                  // last counter samples, findings
//   render_perfetto_trace(timeline.timeline(), snapshot);
//
// Millions of DMA events become counter samples, not slices. Memory is bounded: each track
// keeps its newest items (older ones are overwritten and counted), at most max_per_track and
// at most an equal share of max_items over all tracks, so a long run still renders, shows
// what happened last, and says what it left out. `top` records all the time (its `w` key
// writes the files), which is why slices are compact.
#pragma once

#include "userspace/decode/record.h"
#include "userspace/model/finding.h"
#include "userspace/model/timeline.h"

#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

namespace gputrace {

class Engine;

struct TimelineLimits {
  size_t max_per_track = 20'000;          // slices, samples or marks kept per track (the newest)
  size_t max_items = 500'000;             // over all tracks: each keeps at most max_items / tracks
  size_t max_tracks = 512;                // beyond it, events of new tracks are dropped (counted)
  // Tracks one process may open (its GC, overhead and findings tracks, and the GPU streams it
  // was first seen on): one process's thousand streams must not take every other's place.
  size_t max_tracks_per_process = 32;
  uint64_t counter_period_ns = 5'000'000; // device counters sampled at most this often
  size_t max_gpu_names = 4096;            // kernel names kept (names past it show the id)
};

class TimelineRecorder {
 public:
  explicit TimelineRecorder(const Engine& engine, TimelineLimits limits = {});

  // The engine's record observer calls this for every processed record.
  void on_record(const Record& r);
  // Takes a last counter sample, puts every finding the engine concluded on its track, and
  // lays out timeline()'s lists. Call after engine.finish(), or before rendering a live run
  // (it can be called again; findings are added once).
  void finish();

  const Timeline& timeline() const { return timeline_; }
  // Events not kept because their track was full or there were too many tracks.
  uint64_t tracks_refused() const { return tracks_refused_; }

 private:
  // The track's index, created on first use (comm: the process's name when the caller knows
  // it better than the process table). UINT32_MAX when max_tracks is reached.
  // owner: the process the track is opened for (0: the host's and devices' tracks, which
  // no process can multiply); a process past max_tracks_per_process gets UINT32_MAX.
  uint32_t track(TrackGroupKind group, uint64_t group_id, TrackKind kind, uint32_t order, const std::string& name,
                 const std::string& unit = {}, const std::string& comm = {}, uint32_t owner = 0);
  // Per track, its items as a ring: the newest max_per_track, head = the oldest once full.
  struct TrackStore {
    std::vector<TimelineSlice> slices;
    std::vector<TimelineCounter> counters;
    std::vector<TimelineMark> marks;
    size_t head = 0;
  };
  TrackStore* store(uint32_t track);
  // Items a track may keep now: its share of max_items shrinks as tracks are added.
  size_t per_track_cap() const;
  // Drops the oldest items of tracks over per_track_cap() (after a track was added).
  void trim_to_cap();
  template <class T>
  void keep(uint32_t track, std::vector<T> TrackStore::*ring, T item);
  uint32_t intern(const std::string& name);
  std::string process_label(uint32_t pid) const;
  std::string device_label(uint32_t index) const;
  void on_gc_pause(const Record& r);
  void on_gpu_activity(const Record& r);
  void on_gpu_name(const Record& r);
  void on_gpu_overhead(const Record& r);
  void sample_device(uint32_t index, uint64_t ts, bool force);
  void add_finding(const Finding& f);

  const Engine& engine_;
  TimelineLimits limits_;
  Timeline timeline_;
  std::map<std::tuple<int, uint64_t, int, std::string>, uint32_t> track_index_;
  std::map<std::string, uint32_t> name_index_;
  std::map<std::pair<uint32_t, uint64_t>, std::string> gpu_names_;  // (pid, name id) -> kernel name
  std::vector<TrackStore> stores_;  // by track index
  struct CounterState {
    bool emitted_any = false;
    std::pair<uint64_t, uint64_t> last;  // (mappings, bytes) last written
    uint64_t last_emit_ns = 0;
    bool pending = false;                // a change not yet written (within the period)
    uint64_t pending_ns = 0;
    std::pair<uint64_t, uint64_t> pending_value;
  };
  std::map<uint32_t, CounterState> counter_state_;  // by device index
  size_t findings_added_ = 0;
  uint64_t tracks_refused_ = 0;
  std::map<uint32_t, size_t> tracks_of_process_;  // by owner pid
};

}  // namespace gputrace
