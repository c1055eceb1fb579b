// MetricModel: the metrics gputrace exports, built once from a HostSnapshot and rendered by
// both exporters — Prometheus text and OTLP JSON — so the two never disagree on a name, a
// unit or a value. docs/metrics.md lists every family.
//
// Names are OpenTelemetry-style ("gputrace.device.dma.maps", unit "{mapping}"); the
// Prometheus name is derived the way OpenTelemetry's own Prometheus translation does it:
// dots to underscores, the unit as a suffix ("_bytes", "_seconds", "_ratio"), "_total" on
// counters. Values are in base units (seconds, bytes), converted here from the snapshot's ns.
//
// A series must keep its labels for as long as it lives: a label that appears or changes
// starts a new series already holding the cumulative value, and increase() never sees what was
// counted before. So a process's data points carry only its identity (pid and comm), which a
// pid keeps; what can come later or go away — its container id, its managed runtime (known at
// its first GC pause) — is on one info point, gputrace.process.info, to join on pid.
//
//   ProcessSelection sel(20);  sel.update(snapshot);
//   MetricModel m = build_metric_model(snapshot, sel);
//   for (const MetricFamily& f : m.families) ...
#pragma once

#include "userspace/model/host_snapshot.h"
#include "exporters/telemetry/process_selection.h"

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace gputrace::telemetry {

enum class MetricKind { Counter, Gauge, Histogram };
// What a point describes: the host, one device (label "device"), or one process group.
enum class MetricScope { Host, Device, Process };

using Labels = std::vector<std::pair<std::string, std::string>>;

// A named process, or the fold of the rest (pid == "other").
struct ProcessGroup {
  std::string pid;        // decimal pid, or "other"
  std::string comm;       // "other" for the fold
  std::string container;  // empty on the host and for the fold
  std::string runtime;    // "cpython", "hotspot", "go", or empty
  uint32_t members = 1;   // processes in the group
  bool folded() const { return pid == "other"; }
  // The labels of every data point of the group: those a process keeps while it lives.
  Labels identity() const { return {{"pid", pid}, {"comm", comm}}; }
};

struct MetricPoint {
  Labels labels;           // attributes beyond the process identity (device, kind, op, ...)
  int process = -1;        // MetricScope::Process: index into MetricModel::processes, whose
                           // identity() labels come first
  // Counter and Gauge: an integer when the quantity is a count, else a double
  bool integer = true;
  uint64_t int_value = 0;
  double double_value = 0;
  // Histogram: cumulative counts at each upper bound (the +Inf bucket is `count`)
  std::vector<double> bounds;
  std::vector<uint64_t> cumulative;
  uint64_t count = 0;
  double sum = 0;
  std::optional<double> max;  // Histogram: largest observation, when known

  double value() const { return integer ? static_cast<double>(int_value) : double_value; }
};

struct MetricFamily {
  std::string name;         // OpenTelemetry name: "gputrace.device.dma.mapped"
  std::string unit;         // UCUM: "By", "s", "1", "{mapping}", "{transfer}/s", "By/s"
  std::string prom_suffix;  // Prometheus unit suffix: "bytes", "seconds", "ratio", "" ...
  std::string help;         // one sentence
  MetricKind kind = MetricKind::Gauge;
  MetricScope scope = MetricScope::Host;
  std::vector<MetricPoint> points;

  // "gputrace_device_dma_mapped_bytes_total"
  std::string prometheus_name() const;
};

struct MetricModel {
  std::vector<ProcessGroup> processes;  // named processes by pid, then "other" if any folded
  std::vector<MetricFamily> families;   // in a fixed order; families without points left out

  // The point's labels: the process identity (process scope), then its own.
  Labels labels_of(const MetricPoint& p) const;
};

MetricModel build_metric_model(const HostSnapshot& snapshot, const ProcessSelection& selection);

}  // namespace gputrace::telemetry
