#include "prometheus/prometheus_exporter.h"

#include "prometheus/exposition.h"
#include "prometheus/textfile.h"
#include "telemetry/metric_model.h"
#include "util/log.h"

namespace gputrace::prometheus {

Result<std::unique_ptr<PrometheusExporter>> PrometheusExporter::create(const PrometheusOptions& options) {
  std::unique_ptr<PrometheusExporter> e(new PrometheusExporter(options));
  if (!options.listen.empty()) {
    auto server = MetricsHttpServer::start(options.listen);
    if (!server) return tl::unexpected(server.error());
    e->server_ = std::move(*server);
  }
  if (!options.textfile.empty()) e->writer_ = std::thread([p = e.get()] { p->write_textfiles(); });
  return e;
}

PrometheusExporter::~PrometheusExporter() { shutdown(std::chrono::milliseconds(0)); }

void PrometheusExporter::publish(const telemetry::TelemetryBatch& batch) {
  selection_.update(*batch.snapshot);
  last_text_ = render_prometheus_text(telemetry::build_metric_model(*batch.snapshot, selection_));
  if (server_) server_->set_metrics(last_text_);
  if (writer_.joinable()) {
    std::lock_guard lock(mu_);
    pending_ = last_text_;
    cv_.notify_one();
  }
}

std::map<std::string, uint64_t> PrometheusExporter::losses() const {
  std::map<std::string, uint64_t> out;
  if (!options_.textfile.empty()) out["prometheus_textfile_errors"] = textfile_errors_.load();
  return out;
}

void PrometheusExporter::shutdown(std::chrono::milliseconds) {
  // the last text is written before the writer stops: node_exporter keeps the final state
  if (writer_.joinable()) {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
      cv_.notify_one();
    }
    writer_.join();
  }
  server_.reset();
}

void PrometheusExporter::write_textfiles() {
  bool logged = false;
  for (;;) {
    std::string text;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return pending_.has_value() || stopping_; });
      if (!pending_) return;
      text = std::move(*pending_);
      pending_.reset();
    }
    if (auto r = write_textfile_atomically(options_.textfile, text); !r) {
      ++textfile_errors_;
      if (!logged) log_warning("{} (counted in gputrace_losses_total{{counter=\"prometheus_textfile_errors\"}})", r.error().describe());
      logged = true;
    }
  }
}

}  // namespace gputrace::prometheus
