// OTLP/JSON encoding of a TelemetryBatch: ExportMetricsServiceRequest,
// ExportTraceServiceRequest and ExportLogsServiceRequest objects as the OTLP specification's
// JSON encoding writes them, ready for a file line or an OTLP/HTTP POST body.
//
// The rules that differ from plain JSON (and that tests/otlp/check_otlp.mjs checks against the
// official .proto): field names in lowerCamelCase; 64-bit integers (timestamps, counts, intValue)
// as decimal strings; traceId and spanId as lowercase hex, not base64; enums as integers;
// fields at their default value left out. Timestamps are Unix ns, converted from the event
// clock with the batch's ClockMapping.
//
// What goes where:
//   metrics: the batch's MetricModel (the same families as Prometheus, OpenTelemetry names and
//            UCUM units), all under one resource: the host, with service.instance.id. A
//            process's points carry pid and comm as attributes, like the Prometheus labels:
//            Prometheus's OTLP receiver and the collector's Prometheus exporters make a series
//            of the job and instance (from service.*) and the point's attributes, not of the
//            other resource attributes, so per-process resources would collapse into one
//            series. Counters are cumulative monotonic sums, pauses and latencies histograms
//            (bucketCounts per bucket, not cumulative). Points are stamped with the batch's
//            metrics_unix_ns(): now in a live run, the capture's time in a replay.
//   traces:  one span per TimelineSpan, each its own trace (a pause or a copy has no parent),
//            under a resource per process (process.pid, process.executable.name,
//            container.id); its facts as gputrace.* attributes, a finding's evidence as
//            gputrace.evidence.*.
//   logs:    one record per finding: severity, message as body, kind, device and evidence as
//            attributes, and the traceId/spanId of the finding's span when it has one.
//
//   OtlpEncoder enc({.service_version = "0.1.0", .service_instance_id = "infer-07", .id_seed = seed});
//   for (OtlpRequest& r : enc.encode(batch)) queue(r);
#pragma once

#include "exporters/telemetry/telemetry_sink.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace gputrace::otlp {

enum class Signal { Metrics, Traces, Logs };
const char* signal_name(Signal s);   // "metrics", "traces", "logs"
const char* signal_path(Signal s);   // "/v1/metrics", "/v1/traces", "/v1/logs"

struct OtlpIdentity {
  std::string service_name = "gputrace";
  std::string service_version;
  // Tells this daemon's data from another host's under the same service.name: Prometheus's
  // OTLP receiver makes it the `instance` label. The daemon uses the host name.
  std::string service_instance_id;
  // From OTEL_RESOURCE_ATTRIBUTES: added to every resource.
  std::vector<std::pair<std::string, std::string>> resource_attributes;
  // Span and trace ids are drawn from a generator seeded here: fixed in the tests (golden
  // files), from the host's boot id and the daemon's start time in a real run.
  uint64_t id_seed = 0;
};

struct OtlpRequest {
  Signal signal = Signal::Metrics;
  std::string body;      // one JSON object, no newline
  uint64_t items = 0;    // data points, spans or log records it carries (for drop counts)
};

class OtlpEncoder {
 public:
  explicit OtlpEncoder(OtlpIdentity identity);

  // Metrics (always), then traces and logs when the batch has new spans or findings. Spans
  // and log records are split over several requests of at most max_items_per_request each.
  std::vector<OtlpRequest> encode(const telemetry::TelemetryBatch& batch);

  nlohmann::ordered_json encode_metrics(const telemetry::TelemetryBatch& batch);
  std::vector<nlohmann::ordered_json> encode_traces(const telemetry::TelemetryBatch& batch);
  std::vector<nlohmann::ordered_json> encode_logs(const telemetry::TelemetryBatch& batch);

  size_t max_items_per_request = 1000;

 private:
  struct Ids {
    std::string trace_id, span_id;
  };
  Ids next_ids();
  nlohmann::ordered_json host_resource(const HostSnapshot& s) const;
  nlohmann::ordered_json process_resource(const HostSnapshot& s, uint32_t pid) const;
  nlohmann::ordered_json scope() const;

  OtlpIdentity identity_;
  uint64_t id_state_;
  // ids of the spans of this batch's findings, by index in new_findings, for their log records
  std::map<size_t, Ids> finding_span_ids_;
};

// AnyValue of a JSON value: string, bool, int (as a decimal string), double, array, object.
nlohmann::ordered_json any_value(const nlohmann::ordered_json& v);
// The canonical JSON text of a request: valid UTF-8 (invalid bytes replaced), compact.
std::string dump(const nlohmann::ordered_json& request);

}  // namespace gputrace::otlp
