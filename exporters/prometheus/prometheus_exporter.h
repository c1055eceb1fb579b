// PrometheusExporter: the TelemetrySink that serves /metrics and keeps node_exporter's
// textfile current. publish() renders the text on the pipeline thread (a few hundred
// microseconds for a busy host) and hands it over; the HTTP server's thread answers scrapes
// and a writer thread replaces the textfile, so neither a scraper nor a slow disk can stall
// the pipeline. A textfile write that fails is logged once and counted
// ("prometheus_textfile_errors"); the next interval tries again.
//
//   auto prom = PrometheusExporter::create({.listen = "127.0.0.1:9478",
//                                           .textfile = "/var/lib/node_exporter/gputrace.prom",
//                                           .top_processes = 20});
//   (*prom)->publish(batch);
#pragma once

#include "prometheus/http_server.h"
#include "telemetry/process_selection.h"
#include "telemetry/telemetry_sink.h"

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace gputrace::prometheus {

struct PrometheusOptions {
  std::string listen;       // empty: no HTTP server
  std::string textfile;     // empty: no textfile
  size_t top_processes = 20;
};

class PrometheusExporter : public telemetry::TelemetrySink {
 public:
  static Result<std::unique_ptr<PrometheusExporter>> create(const PrometheusOptions& options);
  ~PrometheusExporter() override;

  void publish(const telemetry::TelemetryBatch& batch) override;
  std::map<std::string, uint64_t> losses() const override;
  void shutdown(std::chrono::milliseconds deadline) override;

  // "127.0.0.1:9478" once serving; empty without a server
  std::string address() const { return server_ ? server_->address() : std::string(); }
  const std::string& last_text() const { return last_text_; }  // pipeline thread only

 private:
  explicit PrometheusExporter(const PrometheusOptions& options) : options_(options), selection_(options.top_processes) {}
  void write_textfiles();

  PrometheusOptions options_;
  telemetry::ProcessSelection selection_;
  std::unique_ptr<MetricsHttpServer> server_;
  std::string last_text_;

  // textfile writer: the newest text waits here; older ones are superseded, not queued
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> pending_;
  bool stopping_ = false;
  std::atomic<uint64_t> textfile_errors_{0};
};

}  // namespace gputrace::prometheus
