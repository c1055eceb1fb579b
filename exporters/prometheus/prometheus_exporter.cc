#include "exporters/prometheus/prometheus_exporter.h"

#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/textfile.h"
#include "userspace/model/loss_counters.h"
#include "userspace/util/log.h"

#include "userspace/util/thread_guard.h"

#include <condition_variable>
#include <mutex>
#include <optional>

namespace gputrace::prometheus {

// Shared by the exporter and the writer thread, so that a thread left behind by a shutdown
// whose deadline passed (a write hung on a dead disk) never touches a destroyed exporter.
struct PrometheusExporter::Writer {
  std::string path;
  std::mutex mu;
  std::condition_variable cv;
  std::optional<std::string> pending;  // the newest text; older ones are superseded, not queued
  bool stopping = false;
  bool done = false;
  std::atomic<uint64_t> errors{0};

  void run() {
    bool logged = false;
    for (;;) {
      std::string text;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return pending.has_value() || stopping; });
        if (!pending) break;
        text = std::move(*pending);
        pending.reset();
      }
      if (auto r = write_textfile_atomically(path, text); !r) {
        ++errors;
        if (!logged) log_warning("{} (counted in gputrace_losses_total{{counter=\"prometheus_textfile_errors\"}})", r.error().describe());
        logged = true;
      }
    }
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  }
};

Result<std::unique_ptr<PrometheusExporter>> PrometheusExporter::create(const PrometheusOptions& options) {
  std::unique_ptr<PrometheusExporter> e(new PrometheusExporter(options));
  if (!options.listen.empty()) {
    auto server = MetricsHttpServer::start(options.listen);
    if (!server) return tl::unexpected(server.error());
    e->server_ = std::move(*server);
  }
  if (!options.textfile.empty()) {
    e->writer_ = std::make_shared<Writer>();
    e->writer_->path = options.textfile;
    e->writer_thread_ = std::thread([w = e->writer_] { guarded_thread_body("the textfile writer", [&] { w->run(); }); });
  }
  return e;
}

// Without a shutdown() first, the last text still gets its chance to reach the disk.
PrometheusExporter::~PrometheusExporter() { shutdown(std::chrono::seconds(5)); }

void PrometheusExporter::publish(const telemetry::TelemetryBatch& batch) {
  last_text_ = render_prometheus_text(*batch.metrics);
  if (server_) server_->set_metrics(last_text_);
  if (writer_thread_.joinable()) {
    std::lock_guard lock(writer_->mu);
    writer_->pending = last_text_;
    writer_->cv.notify_all();
  }
}

std::map<std::string, uint64_t> PrometheusExporter::losses() const {
  std::map<std::string, uint64_t> out;
  if (writer_) out[std::string(loss_name(Loss::prometheus_textfile_errors))] = writer_->errors.load();
  return out;
}

void PrometheusExporter::shutdown(std::chrono::milliseconds deadline) {
  // the last text is written before the writer stops: node_exporter keeps the final state
  if (writer_thread_.joinable()) {
    bool done;
    {
      std::unique_lock lock(writer_->mu);
      writer_->stopping = true;
      writer_->cv.notify_all();
      done = writer_->cv.wait_for(lock, deadline, [&] { return writer_->done; });
    }
    if (done) {
      writer_thread_.join();
    } else {
      log_warning("the textfile {} was still being written after {} ms; leaving it", writer_->path, deadline.count());
      writer_thread_.detach();
    }
  }
  server_.reset();
}

}  // namespace gputrace::prometheus
