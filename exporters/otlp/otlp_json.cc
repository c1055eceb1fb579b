#include "exporters/otlp/otlp_json.h"

#include "exporters/telemetry/metric_model.h"
#include "exporters/telemetry/utf8.h"

#include <fmt/format.h>

#include <cmath>
#include <limits>
#include <map>

namespace gputrace::otlp {
namespace {

using json = nlohmann::ordered_json;
using telemetry::MetricFamily;
using telemetry::MetricKind;
using telemetry::MetricModel;
using telemetry::MetricPoint;
using telemetry::TelemetryBatch;

// opentelemetry.proto enums, written as integers as OTLP/JSON requires
constexpr int kAggregationTemporalityCumulative = 2;
constexpr int kSpanKindInternal = 1;
constexpr int kStatusCodeError = 2;
constexpr int kSeverityInfo = 9;
constexpr int kSeverityWarn = 13;
constexpr int kSeverityError = 17;

std::string u64(uint64_t v) { return std::to_string(v); }

json kv(const std::string& key, json value) { return json{{"key", telemetry::valid_utf8(key)}, {"value", std::move(value)}}; }
json str(const std::string& s) { return json{{"stringValue", telemetry::valid_utf8(s)}}; }
json integer(int64_t v) { return json{{"intValue", std::to_string(v)}}; }

uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// Attributes of a span or log record: facts under "gputrace.", evidence under "gputrace.evidence.".
void add_attributes(json& attrs, const std::string& prefix, const json& object) {
  if (!object.is_object()) return;
  for (const auto& [k, v] : object.items()) {
    if (v.is_null()) continue;
    attrs.push_back(kv(prefix + k, any_value(v)));
  }
}

json number_point(const MetricPoint& p, const json& attributes, uint64_t start_ns, uint64_t time_ns, bool cumulative) {
  json dp = json::object();
  if (!attributes.empty()) dp["attributes"] = attributes;
  if (cumulative) dp["startTimeUnixNano"] = u64(start_ns);
  dp["timeUnixNano"] = u64(time_ns);
  // asInt is a signed 64-bit field: a count past 2^63 can only travel as a double
  if (p.integer && p.int_value <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
    dp["asInt"] = u64(p.int_value);
  else
    dp["asDouble"] = p.value();
  return dp;
}

json metric_json(const MetricModel& model, const MetricFamily& f, uint64_t start_ns, uint64_t time_ns) {
  json m{{"name", f.name}, {"description", f.help}, {"unit", f.unit}};
  json dps = json::array();
  for (const MetricPoint& p : f.points) {
    json attrs = json::array();
    for (const auto& [k, v] : model.labels_of(p))
      if (!v.empty()) attrs.push_back(kv(k, str(v)));
    switch (f.kind) {
      case MetricKind::Counter:
      case MetricKind::Gauge:
        dps.push_back(number_point(p, attrs, start_ns, time_ns, f.kind == MetricKind::Counter));
        break;
      case MetricKind::Histogram: {
        json dp = json::object();
        if (!attrs.empty()) dp["attributes"] = attrs;
        dp["startTimeUnixNano"] = u64(start_ns);
        dp["timeUnixNano"] = u64(time_ns);
        if (p.count) dp["count"] = u64(p.count);  // 0 is the default, left out
        dp["sum"] = p.sum;                          // optional: present even at 0
        // OTLP counts per bucket; the model (like Prometheus) counts cumulatively
        json buckets = json::array();
        uint64_t below = 0;
        for (size_t i = 0; i < p.bounds.size(); ++i) {
          const uint64_t c = i < p.cumulative.size() ? p.cumulative[i] : p.count;
          buckets.push_back(u64(c - std::min(c, below)));
          below = std::max(below, c);
        }
        buckets.push_back(u64(p.count - std::min(p.count, below)));
        dp["bucketCounts"] = buckets;
        dp["explicitBounds"] = p.bounds;
        if (p.max) dp["max"] = *p.max;
        dps.push_back(std::move(dp));
        break;
      }
    }
  }
  switch (f.kind) {
    case MetricKind::Counter:
      m["sum"] = json{{"dataPoints", dps}, {"aggregationTemporality", kAggregationTemporalityCumulative}, {"isMonotonic", true}};
      break;
    case MetricKind::Gauge:
      m["gauge"] = json{{"dataPoints", dps}};
      break;
    case MetricKind::Histogram:
      m["histogram"] = json{{"dataPoints", dps}, {"aggregationTemporality", kAggregationTemporalityCumulative}};
      break;
  }
  return m;
}

int severity_number(Severity s) {
  switch (s) {
    case Severity::Info: return kSeverityInfo;
    case Severity::Warning: return kSeverityWarn;
    case Severity::Critical: return kSeverityError;
  }
  return 0;
}

}  // namespace

const char* signal_name(Signal s) {
  switch (s) {
    case Signal::Metrics: return "metrics";
    case Signal::Traces: return "traces";
    case Signal::Logs: return "logs";
  }
  return "?";
}

const char* signal_path(Signal s) {
  switch (s) {
    case Signal::Metrics: return "/v1/metrics";
    case Signal::Traces: return "/v1/traces";
    case Signal::Logs: return "/v1/logs";
  }
  return "/";
}

json any_value(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return str(v.get<std::string>());
    case json::value_t::boolean: return json{{"boolValue", v.get<bool>()}};
    case json::value_t::number_integer: return integer(v.get<int64_t>());
    case json::value_t::number_unsigned: {
      const uint64_t u = v.get<uint64_t>();
      // intValue is signed: larger values (addresses, say) keep every digit as a string
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return str(std::to_string(u));
      return integer(static_cast<int64_t>(u));
    }
    case json::value_t::number_float: {
      const double d = v.get<double>();
      if (!std::isfinite(d)) return str(fmt::format("{}", d));  // JSON has no NaN or Infinity
      return json{{"doubleValue", d}};
    }
    case json::value_t::array: {
      json values = json::array();
      for (const auto& e : v) values.push_back(e.is_null() ? json::object() : any_value(e));
      return json{{"arrayValue", json{{"values", values}}}};
    }
    case json::value_t::object: {
      json values = json::array();
      for (const auto& [k, e] : v.items())
        if (!e.is_null()) values.push_back(kv(k, any_value(e)));
      return json{{"kvlistValue", json{{"values", values}}}};
    }
    default: return json::object();  // null: an empty AnyValue
  }
}

std::string dump(const json& request) { return request.dump(-1, ' ', false, json::error_handler_t::replace); }

OtlpEncoder::OtlpEncoder(OtlpIdentity identity) : identity_(std::move(identity)), id_state_(identity_.id_seed) {}

OtlpEncoder::Ids OtlpEncoder::next_ids() {
  // all-zero ids are invalid in OTLP; splitmix64 of successive states is never zero twice in a row
  uint64_t a = 0, b = 0, c = 0;
  while (a == 0 && b == 0) a = splitmix64(id_state_), b = splitmix64(id_state_);
  while (c == 0) c = splitmix64(id_state_);
  return {fmt::format("{:016x}{:016x}", a, b), fmt::format("{:016x}", c)};
}

json OtlpEncoder::host_resource(const HostSnapshot& s) const {
  json attrs = json::array();
  attrs.push_back(kv("service.name", str(identity_.service_name)));
  if (!identity_.service_version.empty()) attrs.push_back(kv("service.version", str(identity_.service_version)));
  if (!identity_.service_instance_id.empty()) attrs.push_back(kv("service.instance.id", str(identity_.service_instance_id)));
  if (!s.source.hostname.empty()) attrs.push_back(kv("host.name", str(s.source.hostname)));
  attrs.push_back(kv("os.type", str("linux")));
  if (!s.source.kernel.empty()) attrs.push_back(kv("os.version", str(s.source.kernel)));
  for (const auto& [k, v] : identity_.resource_attributes) attrs.push_back(kv(k, str(v)));
  return json{{"attributes", attrs}};
}

json OtlpEncoder::process_resource(const HostSnapshot& s, uint32_t pid) const {
  json r = host_resource(s);
  if (pid == 0) return r;
  auto& attrs = r["attributes"];
  attrs.push_back(kv("process.pid", integer(pid)));
  for (const ProcessRow& p : s.processes) {
    if (p.pid != pid) continue;
    if (!p.comm.empty()) attrs.push_back(kv("process.executable.name", str(p.comm)));
    if (!p.container.empty()) attrs.push_back(kv("container.id", str(p.container)));
    if (!p.runtime.empty()) attrs.push_back(kv("process.runtime.name", str(p.runtime)));
    break;
  }
  return r;
}

json OtlpEncoder::scope() const {
  json sc{{"name", "gputrace"}};
  if (!identity_.service_version.empty()) sc["version"] = identity_.service_version;
  return sc;
}

json OtlpEncoder::encode_metrics(const TelemetryBatch& batch) {
  const MetricModel& model = *batch.metrics;
  const uint64_t time_ns = batch.metrics_unix_ns();
  const uint64_t start_ns = std::min(batch.start_unix_ns, time_ns);
  json metrics = json::array();
  for (const MetricFamily& f : model.families) metrics.push_back(metric_json(model, f, start_ns, time_ns));
  const json resource_metrics = json::array(
      {json{{"resource", host_resource(*batch.snapshot)}, {"scopeMetrics", json::array({json{{"scope", scope()}, {"metrics", metrics}}})}}});
  return json{{"resourceMetrics", resource_metrics}};
}

std::vector<json> OtlpEncoder::encode_traces(const TelemetryBatch& batch) {
  const HostSnapshot& s = *batch.snapshot;
  finding_span_ids_.clear();
  std::vector<json> requests;
  for (size_t first = 0; first < batch.new_spans.size(); first += max_items_per_request) {
    const size_t last = std::min(batch.new_spans.size(), first + max_items_per_request);
    std::map<uint32_t, json> spans_by_pid;  // one resource per process
    for (size_t i = first; i < last; ++i) {
      const TimelineSpan& t = batch.new_spans[i];
      const Ids ids = next_ids();
      if (t.finding) finding_span_ids_[*t.finding] = ids;
      json span{{"traceId", ids.trace_id},
                {"spanId", ids.span_id},
                {"name", telemetry::valid_utf8(t.name)},
                {"kind", kSpanKindInternal},
                {"startTimeUnixNano", u64(batch.clock.to_unix_ns(t.start_ns))},
                {"endTimeUnixNano", u64(batch.clock.to_unix_ns(std::max(t.end_ns, t.start_ns)))}};
      json attrs = json::array();
      if (!t.device.empty()) attrs.push_back(kv("gputrace.device", str(t.device)));
      add_attributes(attrs, "gputrace.", t.attributes);
      add_attributes(attrs, "gputrace.evidence.", t.evidence);
      if (!attrs.empty()) span["attributes"] = attrs;
      if (t.error) {
        const std::string message = t.attributes.contains("message") && t.attributes["message"].is_string()
                                        ? t.attributes["message"].get<std::string>()
                                        : t.name;
        span["status"] = json{{"message", telemetry::valid_utf8(message)}, {"code", kStatusCodeError}};
      }
      auto& list = spans_by_pid[t.pid];
      if (list.is_null()) list = json::array();
      list.push_back(std::move(span));
    }
    json resource_spans = json::array();
    for (auto& [pid, spans] : spans_by_pid)
      resource_spans.push_back(json{{"resource", process_resource(s, pid)},
                                    {"scopeSpans", json::array({json{{"scope", scope()}, {"spans", spans}}})}});
    requests.push_back(json{{"resourceSpans", resource_spans}});
  }
  return requests;
}

std::vector<json> OtlpEncoder::encode_logs(const TelemetryBatch& batch) {
  const HostSnapshot& s = *batch.snapshot;
  std::vector<json> requests;
  for (size_t first = 0; first < batch.new_findings.size(); first += max_items_per_request) {
    const size_t last = std::min(batch.new_findings.size(), first + max_items_per_request);
    std::map<uint32_t, json> records_by_pid;
    for (size_t i = first; i < last; ++i) {
      const Finding& f = batch.new_findings[i];
      json rec = json::object();
      // when the condition began; observed is when gputrace concluded it and shipped it
      if (f.start_ns) rec["timeUnixNano"] = u64(batch.clock.to_unix_ns(f.start_ns));
      rec["observedTimeUnixNano"] = u64(batch.now_unix_ns);
      rec["severityNumber"] = severity_number(f.severity);
      rec["severityText"] = to_string(f.severity);
      rec["body"] = str(f.message);
      json attrs = json::array();
      attrs.push_back(kv("event.name", str("gputrace.finding")));
      attrs.push_back(kv("gputrace.finding.kind", str(std::string(f.kind_name()))));
      if (!f.device.empty()) attrs.push_back(kv("gputrace.device", str(f.device)));
      if (f.pid && !f.comm.empty()) attrs.push_back(kv("gputrace.comm", str(f.comm)));
      if (f.end_ns) attrs.push_back(kv("gputrace.finding.end_time_unix_nano", integer(static_cast<int64_t>(batch.clock.to_unix_ns(f.end_ns)))));
      add_attributes(attrs, "gputrace.evidence.", f.evidence);
      rec["attributes"] = attrs;
      // its span, unless it has none or the span was beyond the budget (counted)
      if (auto it = finding_span_ids_.find(i); it != finding_span_ids_.end()) {
        rec["traceId"] = it->second.trace_id;
        rec["spanId"] = it->second.span_id;
      }
      auto& list = records_by_pid[f.pid];
      if (list.is_null()) list = json::array();
      list.push_back(std::move(rec));
    }
    json resource_logs = json::array();
    for (auto& [pid, records] : records_by_pid)
      resource_logs.push_back(json{{"resource", process_resource(s, pid)},
                                   {"scopeLogs", json::array({json{{"scope", scope()}, {"logRecords", records}}})}});
    requests.push_back(json{{"resourceLogs", resource_logs}});
  }
  return requests;
}

std::vector<OtlpRequest> OtlpEncoder::encode(const TelemetryBatch& batch) {
  std::vector<OtlpRequest> out;
  const json metrics = encode_metrics(batch);
  uint64_t points = 0;
  for (const auto& rm : metrics["resourceMetrics"])
    for (const auto& sm : rm["scopeMetrics"])
      for (const auto& m : sm["metrics"])
        for (const char* k : {"sum", "gauge", "histogram"})
          if (m.contains(k)) points += m[k]["dataPoints"].size();
  out.push_back({Signal::Metrics, dump(metrics), points});
  for (const json& r : encode_traces(batch)) {
    uint64_t spans = 0;
    for (const auto& rs : r["resourceSpans"]) spans += rs["scopeSpans"][0]["spans"].size();
    out.push_back({Signal::Traces, dump(r), spans});
  }
  for (const json& r : encode_logs(batch)) {
    uint64_t records = 0;
    for (const auto& rl : r["resourceLogs"]) records += rl["scopeLogs"][0]["logRecords"].size();
    out.push_back({Signal::Logs, dump(r), records});
  }
  return out;
}

}  // namespace gputrace::otlp
