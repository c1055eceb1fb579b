// `gputrace daemon`: traces this host (or replays a capture) and feeds the fleet's monitoring:
// Prometheus (/metrics on loopback, and/or a textfile for node_exporter) and OTLP/JSON
// (a file, and/or an OTLP/HTTP receiver). Every interval the pipeline takes a HostSnapshot,
// gathers the new spans and findings, and pushes them to the exporters (TelemetrySink); the
// exporters do their I/O on their own threads.
#include "userspace/capture/capture.h"
#include "userspace/capture/host_info.h"
#include "userspace/cli/analysis_options.h"
#include "userspace/cli/commands.h"
#include "userspace/cli/daemon_config.h"
#include "userspace/cli/daemon_exporters.h"
#include "userspace/cli/report_requests.h"
#include "userspace/cli/tracing_options.h"
#include "userspace/host/container_id.h"
#include "exporters/otlp/otlp_exporter.h"
#include "userspace/pipeline/pipeline.h"
#include "userspace/pipeline/replay.h"
#include "userspace/model/loss_counters.h"
#include "exporters/prometheus/prometheus_exporter.h"
#include "userspace/session/live_source.h"
#include "exporters/telemetry/finding_spans.h"
#include "exporters/telemetry/metric_model.h"
#include "userspace/util/capabilities.h"
#include "userspace/util/clock.h"
#include "userspace/util/log.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <thread>

namespace gputrace {
namespace {

constexpr const char* kHelp = R"(usage: gputrace daemon [--config FILE] [--listen ADDR:PORT|none] [--textfile PATH]
                       [--otlp-file PATH] [--otlp-endpoint URL] [--otlp-ca-file PEM]
                       [--interval D] [--duration D] [--top-processes N]
                       [--replay CAPTURE] [options]

Traces this host and exports what gputrace measures and concludes, every interval:
Prometheus metrics (HTTP /metrics, and a textfile for node_exporter) and OTLP/JSON metrics,
logs (one per finding) and traces (GC pauses, GPU transfers, stalls and other findings as
spans). docs/metrics.md and docs/otlp.md describe every series and field.

Durations (D) are a number and a unit: 100us, 500ms, 10s, 2m, 1h (no unit: seconds).

options:
  --config FILE          read options from FILE first, one "name = value" a line (the
                         packaged service reads /etc/gputrace/gputrace.conf); options on
                         the command line win over the file's
  --listen ADDR:PORT     serve /metrics here (default 127.0.0.1:9478, loopback only;
                         0.0.0.0:9478 for every IPv4 interface, :9478 for every interface,
                         IPv4 and IPv6; "none" for no server, e.g. a daemon that only sends
                         OTLP, which otherwise fails when the port is taken)
  --textfile PATH        also write the metrics to PATH atomically: a file inside
                         node_exporter's --collector.textfile.directory, whose name must
                         end in .prom (node_exporter reads no other)
  --otlp-file PATH       append OTLP/JSON requests to PATH, one per line
  --otlp-endpoint URL    POST OTLP/JSON to URL/v1/{metrics,logs,traces} (http:// or
                         https://; a TLS peer is verified against the system's CAs)
  --otlp-ca-file PEM     verify an https:// endpoint against this CA certificate instead
                         (wins over OTEL_EXPORTER_OTLP_CERTIFICATE)
  --interval D           export interval (default 10s)
  --duration D           stop after D (default: until SIGINT or SIGTERM)
  --top-processes N      processes with their own series (default 20; the rest are
                         folded into pid="other")
  --max-spans N          pause and copy spans kept per interval (default 4096; the rest
                         are counted in the loss counter spans_not_kept); findings' spans
                         have their own budget of 1024 (finding_spans_not_kept)
  --min-span D           GC pauses and GPU copies shorter than D make no span (default
                         100us; the histograms and counters still count them)
  --replay CAPTURE       export a capture written by `gputrace record` instead of tracing,
                         then keep serving until --duration or a signal (no root needed)
  --report-dir DIR       write report files (summary.md, report.html, trace.json,
                         report.json) into DIR on SIGUSR1 and at exit (docs/views.md)

signals:
  SIGUSR1                write the report files into --report-dir now
  SIGHUP                 read --config FILE again (systemctl reload gputrace) and apply
                         where metrics go: --listen, --textfile, --otlp-file,
                         --otlp-endpoint, --otlp-ca-file, --interval, --report-dir; other
                         changes are logged and wait for a restart
  SIGTERM, SIGINT        export the final state, write the reports, and exit
)";

constexpr const char* kEnvironmentHelp = R"(
environment (OTLP; --otlp-endpoint wins over every *_ENDPOINT variable):
  OTEL_EXPORTER_OTLP_ENDPOINT                base URL, as --otlp-endpoint
  OTEL_EXPORTER_OTLP_{METRICS,LOGS,TRACES}_ENDPOINT
                                             one signal's full URL; wins over the base
  OTEL_EXPORTER_OTLP_HEADERS                 k=v,k2=v2 added to every POST
  OTEL_EXPORTER_OTLP_TIMEOUT                 per-request timeout in ms (default 10000)
  OTEL_EXPORTER_OTLP_CERTIFICATE             CA certificate (PEM) to verify an https://
                                             endpoint against, as --otlp-ca-file
  OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE, OTEL_EXPORTER_OTLP_CLIENT_KEY
                                             client certificate and key (PEM) for a
                                             collector that asks for one (mutual TLS)
  OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES
                                             resource attributes (service.instance.id
                                             defaults to the host name)
  Other OTEL_* settings (signal-specific headers, timeouts and certificates,
  compression) are not read; the daemon warns when one is set.
)";

constexpr auto kShutdownGrace = std::chrono::seconds(5);

uint64_t realtime_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

std::optional<size_t> parse_count(const std::optional<std::string>& text, size_t fallback) {
  if (!text) return fallback;
  auto v = parse_positive(*text, 1'000'000);  // no sign: strtoul took "-1" for 2^64-1
  if (!v) return std::nullopt;
  return *v;
}

// Identity of the exported resources; OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES as the
// OpenTelemetry SDKs read them. service.instance.id is the host name (of the capture, in a
// replay) unless OTEL_RESOURCE_ATTRIBUTES sets it: Prometheus's OTLP receiver makes it the
// `instance` label, and the host name is what a person looks for there.
otlp::OtlpIdentity identity_from_env(const CaptureHostInfo& host) {
  otlp::OtlpIdentity id;
  id.service_version = GPUTRACE_VERSION;
  id.service_instance_id = host.hostname;
  if (const char* attrs = std::getenv("OTEL_RESOURCE_ATTRIBUTES")) {
    for (auto& [k, v] : otlp::parse_key_value_list(attrs)) {
      if (k == "service.name")
        id.service_name = v;
      else if (k == "service.instance.id")
        id.service_instance_id = v;
      else
        id.resource_attributes.emplace_back(k, v);
    }
  }
  if (const char* name = std::getenv("OTEL_SERVICE_NAME"); name && *name) id.service_name = name;
  id.id_seed = std::hash<std::string>{}(host.boot_id + host.hostname) ^ realtime_ns();
  return id;
}

// Finding spans kept per interval, apart from --max-spans: findings are aggregated (stalls of
// one process and device within a second are one), so a healthy host makes a handful.
constexpr size_t kMaxFindingSpans = 1024;

// Takes snapshots, builds the metric model once, and pushes both, with the spans and findings
// that are new since the last interval, to every sink.
class Publisher {
 public:
  Publisher(Pipeline& pipeline, telemetry::ClockMapping clock, uint64_t start_unix_ns, bool live, size_t top_processes)
      : pipeline_(pipeline), clock_(clock), start_unix_ns_(start_unix_ns), live_(live), selection_(top_processes) {}

  void add(telemetry::TelemetrySink* sink) { sinks_.push_back(sink); }

  void publish() {
    SpanCollector& spans = *pipeline_.spans();
    SnapshotRequest request{.identities = &identities_};
    request.caller_losses.push_back({std::string(loss_name(Loss::spans_not_kept)), spans.dropped(), "daemon"});
    request.caller_losses.push_back(
        {std::string(loss_name(Loss::finding_spans_not_kept)), finding_spans_not_kept_, "daemon"});
    std::map<std::string, uint64_t> exporter_losses = retired_losses_;
    for (auto* sink : sinks_)
      for (const auto& [name, n] : sink->losses()) exporter_losses[name] += n;
    for (const auto& [name, n] : exporter_losses) request.caller_losses.push_back({name, n, "exporter"});
    if (live_) request.container_of = [](uint32_t pid) { return container_id_of(pid); };
    const HostSnapshot snapshot = pipeline_.snapshot(request);
    selection_.update(snapshot);
    const telemetry::MetricModel metrics = telemetry::build_metric_model(snapshot, selection_);
    // the engine's list, not the snapshot's, which may keep only the newest findings
    const std::span<const Finding> all(pipeline_.engine().findings());
    const auto new_findings = all.subspan(std::min(published_findings_, all.size()));
    std::vector<TimelineSpan> new_spans = spans.take();
    telemetry::FindingSpans finding_spans = telemetry::finding_spans(new_findings, kMaxFindingSpans);
    finding_spans_not_kept_ += finding_spans.not_kept;
    std::move(finding_spans.spans.begin(), finding_spans.spans.end(), std::back_inserter(new_spans));
    telemetry::TelemetryBatch batch{.snapshot = &snapshot,
                                    .metrics = &metrics,
                                    .new_spans = new_spans,
                                    .new_findings = new_findings,
                                    .clock = clock_,
                                    .start_unix_ns = start_unix_ns_,
                                    .now_unix_ns = realtime_ns(),
                                    .replay = !live_};
    for (auto* sink : sinks_) sink->publish(batch);
    published_findings_ = all.size();
  }

  // Every sink drains at once: the grace is for the whole shutdown, not for each sink.
  void shutdown() {
    std::vector<std::thread> stopping;
    for (auto* sink : sinks_)
      stopping.emplace_back([sink] { sink->shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(kShutdownGrace)); });
    for (auto& t : stopping) t.join();
  }

  // Shuts the sinks down and forgets them (a reload replaces them), keeping what they lost:
  // a loss counter never goes down.
  void retire_sinks() {
    shutdown();
    for (auto* sink : sinks_)
      for (const auto& [name, n] : sink->losses()) retired_losses_[name] += n;
    sinks_.clear();
  }

 private:
  Pipeline& pipeline_;
  telemetry::ClockMapping clock_;
  uint64_t start_unix_ns_;
  bool live_;
  telemetry::ProcessSelection selection_;
  std::vector<telemetry::TelemetrySink*> sinks_;
  size_t published_findings_ = 0;
  ProcessIdentities identities_;  // a process's container id stays after it exits (series labels)
  uint64_t finding_spans_not_kept_ = 0;
  std::map<std::string, uint64_t> retired_losses_;
};

}  // namespace

int cmd_daemon(const Args& args) {
  const std::optional<Options> parsed = daemon_options(args);
  if (!parsed) return 2;
  Options o = *parsed;
  if (o.has("help")) {
    std::printf("%s%s%s%s", kHelp, kTracingOptionsHelp, kAnalysisOptionsHelp, kEnvironmentHelp);
    return 0;
  }
  if (!o.positional().empty()) {
    log_error("daemon takes no file argument; to export a capture use --replay FILE");
    return 2;
  }
  auto interval = parse_duration(o.get("interval").value_or("10s"));
  auto duration = parse_duration(o.get("duration").value_or("0"));
  auto min_span = parse_duration(o.get("min-span").value_or("100us"));
  if (!interval || !duration || !min_span) {
    log_error("{}", !interval ? interval.error().describe() : !duration ? duration.error().describe() : min_span.error().describe());
    return 2;
  }
  if (interval->count() <= 0) {
    log_error("--interval must be longer than zero");
    return 2;
  }
  const auto top = parse_count(o.get("top-processes"), 20);
  const auto max_spans = parse_count(o.get("max-spans"), 4096);
  if (!top || !max_spans) {
    log_error("--top-processes and --max-spans take a whole number from 1 to 1000000");
    return 2;
  }
  EngineConfig engine_config;
  if (auto r = apply_analysis_options(o, engine_config); !r) {
    log_error("{}", r.error().describe());
    return 2;
  }
  const std::optional<std::string> replay = o.get("replay");
  if (!replay) {
    if (auto r = require_tracing_capabilities("export a capture with --replay FILE"); !r) {
      log_error("{}", r.error().describe());
      return 1;
    }
    for (const auto& note : missing_optional_capabilities()) log_warning("{}", note);
  }

  // what the exporters will need to know before anything is traced
  std::unique_ptr<CaptureReader> reader;
  CaptureHostInfo host;
  if (replay) {
    auto r = CaptureReader::open(*replay);
    if (!r) {
      log_error("{}", r.error().describe());
      return 1;
    }
    reader = std::move(*r);
    host = reader->host();
  } else {
    host = current_host_info();
  }
  telemetry::ClockMapping clock{host.start_monotonic_ns, host.start_realtime_ns};
  if (!clock.realtime_ns) {
    log_warning("{} recorded no wall-clock calibration: exported times use this host's clock offset now",
                replay ? *replay : std::string("this host"));
    clock = {monotonic_ns(), realtime_ns()};
  }
  const uint64_t start_unix_ns = replay ? clock.realtime_ns : realtime_ns();

  const otlp::OtlpIdentity identity = identity_from_env(host);
  auto created = create_daemon_exporters(o, identity);
  if (!created) {
    log_error("{}", created.error().error.describe());
    return created.error().exit_code;
  }
  DaemonExporters exporters = std::move(*created);
  for (const auto& note : exporters.notes) log_warning("{}", note);

  Pipeline pipeline({.engine = engine_config,
                     .spans = SpanCollectorConfig{.max_pending = *max_spans,
                                                  .min_duration_ns = static_cast<uint64_t>(min_span->count())}});
  pipeline.set_input({.path = replay ? *replay : "live", .host = host});
  // Report files for an incident: on SIGUSR1, from this loop (never in the handler), and at exit.
  std::optional<std::string> report_dir = o.get("report-dir");
  auto write_reports = [&] {
    if (!report_dir) return;
    auto written = write_report_dir(*report_dir, pipeline);
    if (!written) {
      log_error("{}", written.error().describe());
      return;
    }
    for (const auto& path : *written) std::fprintf(stderr, "gputrace: wrote %s\n", path.c_str());
  };
  Publisher publisher(pipeline, clock, start_unix_ns, !replay, *top);
  for (auto* sink : exporters.sinks()) publisher.add(sink);

  // SIGHUP: read the configuration again and apply where metrics go; the state stays.
  auto reload = [&] {
    const auto config = o.get("config");
    if (!config) {
      log_warning("SIGHUP: the daemon was started without --config FILE: there is nothing to read again");
      return;
    }
    const std::optional<Options> next = daemon_options(args);  // logs what is wrong with the file
    if (!next) {
      log_error("reload of {} failed; the daemon goes on as configured before", *config);
      return;
    }
    auto next_interval = parse_duration(next->get("interval").value_or("10s"));
    if (!next_interval || next_interval->count() <= 0) {
      log_error("reload of {}: --interval {} is not a duration longer than zero; the daemon goes on as configured before",
                *config, next->get("interval").value_or(""));
      return;
    }
    const auto before = restart_only_settings(o), after = restart_only_settings(*next);
    for (const auto& [name, values] : after)
      if (before.at(name) != values) log_warning("reload: --{} changed in {}: it takes effect at the next restart", name, *config);
    publisher.retire_sinks();
    exporters = DaemonExporters{};  // frees the port before the new server binds it
    auto fresh = create_daemon_exporters(*next, identity);
    if (!fresh) {
      log_error("reload of {}: {}; going on as configured before", *config, fresh.error().error.describe());
      fresh = create_daemon_exporters(o, identity);
      if (!fresh) log_error("and the configuration before fails now too: {}", fresh.error().error.describe());
    } else {
      o = *next;
      interval = next_interval;
      report_dir = o.get("report-dir");
    }
    if (fresh) exporters = std::move(*fresh);
    for (auto* sink : exporters.sinks()) publisher.add(sink);
    for (const auto& note : exporters.notes) log_warning("{}", note);
    std::fprintf(stderr, "gputrace: reloaded %s; %s\n", config->c_str(), exporters.describe().c_str());
  };

  install_stop_handlers();
  install_report_request_handler();
  install_reload_handler();
  std::unique_ptr<LiveSource> source;
  if (replay) {
    auto summary = feed_capture(*reader, *replay, pipeline);
    if (!summary) {
      log_error("{}", summary.error().describe());
      return 1;
    }
    if (summary->truncated) log_warning("{}", summary->truncation_note);
    pipeline.finish();
  } else {
    auto config = tracing_config(o);
    auto gc = gc_options(o);
    if (!config || !gc) {
      log_error("{}", !config ? config.error().describe() : gc.error().describe());
      return 2;
    }
    auto s = LiveSource::start(Features::probe(), *config, *gc, [&](const Record& r) { pipeline.push(r); });
    if (!s) {
      log_error("{}", s.error().describe());
      return 1;
    }
    source = std::move(*s);
  }
  publisher.publish();
  // the line a supervisor or a test waits for: exporting has begun, and where
  std::fprintf(stderr, "gputrace: daemon %s; %s\n", replay ? "replaying" : "tracing", exporters.describe().c_str());
  std::fflush(stderr);

  const auto start = std::chrono::steady_clock::now();
  auto next = start + *interval;
  int rc = 0;
  while (!stop_requested()) {
    const auto now = std::chrono::steady_clock::now();
    if (duration->count() > 0 && now - start >= *duration) break;
    if (source) {
      if (auto r = source->pump(std::chrono::milliseconds(10)); !r) {
        log_error("{}", r.error().describe());
        rc = 1;
        break;
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (take_report_request()) write_reports();
    if (take_reload_request()) {
      reload();
      next = now;  // publish at once: the new sinks have nothing yet
    }
    if (now < next) continue;
    next = now + *interval;
    if (source) pipeline.advance_to(monotonic_ns());
    publisher.publish();
  }
  if (source) {
    (void)source->stop();
    pipeline.finish();
  }
  publisher.publish();  // the final state, including what stop() drained
  publisher.shutdown();
  write_reports();
  return rc;
}

}  // namespace gputrace
