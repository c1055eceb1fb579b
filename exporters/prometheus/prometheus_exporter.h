// PrometheusExporter: the TelemetrySink that serves /metrics and keeps node_exporter's
// textfile current. publish() renders the batch's MetricModel as text on the pipeline thread
// (a few hundred microseconds for a busy host) and hands it over; the HTTP server's thread
// answers scrapes and a writer thread replaces the textfile, so neither a scraper nor a slow
// disk can stall the pipeline. A textfile write that fails is logged once and counted
// ("prometheus_textfile_errors"); the next interval tries again.
//
//   auto prom = PrometheusExporter::create({.listen = "127.0.0.1:9478",
//                                           .textfile = "/var/lib/node_exporter/gputrace.prom"});
//   (*prom)->publish(batch);
#pragma once

#include "exporters/prometheus/http_server.h"
#include "exporters/telemetry/telemetry_sink.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace gputrace::prometheus {

struct PrometheusOptions {
  std::string listen;       // empty: no HTTP server
  std::string textfile;     // empty: no textfile
};

class PrometheusExporter : public telemetry::TelemetrySink {
 public:
  static Result<std::unique_ptr<PrometheusExporter>> create(const PrometheusOptions& options);
  ~PrometheusExporter() override;

  void publish(const telemetry::TelemetryBatch& batch) override;
  std::map<std::string, uint64_t> losses() const override;
  // Writes the last text to the textfile before it returns, unless that takes longer than
  // `deadline` (a hung disk): then the write is left to finish on its own.
  void shutdown(std::chrono::milliseconds deadline) override;

  // "127.0.0.1:9478" once serving; empty without a server
  std::string address() const { return server_ ? server_->address() : std::string(); }
  const std::string& last_text() const { return last_text_; }  // pipeline thread only

 private:
  struct Writer;  // the textfile writer's state, shared with its thread
  explicit PrometheusExporter(const PrometheusOptions& options) : options_(options) {}

  PrometheusOptions options_;
  std::unique_ptr<MetricsHttpServer> server_;
  std::string last_text_;
  std::shared_ptr<Writer> writer_;
  std::thread writer_thread_;
};

}  // namespace gputrace::prometheus
