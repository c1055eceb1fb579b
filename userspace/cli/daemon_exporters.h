// DaemonExporters: the sinks `gputrace daemon` feeds, made from its options — Prometheus
// (/metrics server, textfile) and OTLP (file, HTTP/HTTPS). Made at start and again on a
// reload (SIGHUP), when the configuration file may have changed where metrics go.
#pragma once

#include "userspace/cli/options.h"
#include "exporters/otlp/otlp_exporter.h"
#include "exporters/prometheus/prometheus_exporter.h"

#include <memory>
#include <string>
#include <vector>

namespace gputrace {

struct DaemonExporters {
  std::unique_ptr<prometheus::PrometheusExporter> prometheus;
  std::unique_ptr<otlp::OtlpExporter> otlp;
  std::vector<std::string> notes;  // settings read but not honoured, for the log
  std::string textfile, otlp_file;
  bool otlp_http = false;

  std::vector<telemetry::TelemetrySink*> sinks() const;
  // "metrics at http://127.0.0.1:9478/metrics, textfile F, OTLP file G, OTLP/HTTP on"
  std::string describe() const;
};

struct ExporterSetupError {
  Error error;
  int exit_code;  // 2: the options are wrong, 1: they are right and the setup failed
};

tl::expected<DaemonExporters, ExporterSetupError> create_daemon_exporters(const Options& o,
                                                                         const otlp::OtlpIdentity& identity);

}  // namespace gputrace
