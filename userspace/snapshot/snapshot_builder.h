// take_snapshot: builds the read model (model/host_snapshot.h) from the analysis: the
// engine's tables, analyzers and correlation, and the GC pause statistics. Every view and
// exporter renders what this returns; judgements they share are made here, once.
//
//   ProcessIdentities identities;  // kept across snapshots
//   SnapshotInputs in{.engine = &engine, .pauses = &pauses, .host = &host, .identities = &identities};
//   HostSnapshot now = take_snapshot(in);
#pragma once

#include "userspace/model/host_snapshot.h"

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace gputrace {

class Engine;
class ShedHistory;
struct CaptureHostInfo;
namespace gc {
class PauseStats;
}

// What earlier snapshots learned of a process that the host stops telling once it exits:
// its container id (/proc/PID/cgroup goes with the process) and runtime. With it a
// process keeps the same identity, and so the same exporter series, for its whole life.
// take_snapshot keeps the processes of its snapshot only, so it stays as small as that.
struct ProcessIdentities {
  struct Known {
    uint64_t start_ns = 0;  // the process's (ProcessTable key): a reused pid is someone else
    std::string container;
    std::string runtime;
  };
  std::map<uint32_t, Known> by_pid;
};

struct SnapshotInputs {
  const Engine* engine = nullptr;          // required
  const gc::PauseStats* pauses = nullptr;  // optional: no GC columns or section without it
  const CaptureHostInfo* host = nullptr;   // optional: hostname, kernel, boot id, version
  std::string source_path = "live";        // the capture's path for a replay
  bool truncated = false;                  // the capture was cut short (and why)
  std::string truncation_note;
  // The caller's own counters, listed after the engine's: the reader's (decode_errors,
  // source "input"), the daemon's (spans_not_kept) and its exporters'.
  std::vector<LossCounter> caller_losses;
  // Live runs resolve container ids from /proc; replays leave this empty.
  std::function<std::string(uint32_t pid)> container_of;
  // Optional, owned by the caller across snapshots: keeps container ids after exit.
  ProcessIdentities* identities = nullptr;
  // Findings copied into the snapshot: the newest max_findings, 0 for all (the daemon finds
  // new ones by their index). Counts stay exact either way.
  size_t max_findings = 0;
};

HostSnapshot take_snapshot(const SnapshotInputs& in);

// The sections only the report shows (snapshot_sections.cc).
std::vector<OwnerRow> owner_rows(const Engine& engine);
std::vector<PendingOwnerRow> pending_owner_rows(const Engine& engine);
GpuSection gpu_section(const Engine& engine);
std::optional<SheddingRow> shedding_row(const ShedHistory& history, uint64_t now_ns);
std::vector<GcPauseRow> gc_pause_rows(const gc::PauseStats& pauses);

}  // namespace gputrace
