// OtlpExporter: the TelemetrySink that ships OTLP/JSON — to a file, one request object per
// line, and/or POSTed to an OTLP/HTTP receiver.
//
// publish() encodes on the pipeline thread and queues; each destination has its own worker
// thread and bounded queue (64 requests, 32 MiB), so a dead collector never delays the file
// and neither ever delays the pipeline. A metrics request carries the whole cumulative state,
// so at most one waits per destination, the newest (an older one waiting is dropped); when a
// queue is full the waiting metrics request goes first, otherwise the new request. POSTs that fail with a connection error, a timeout, 429, 502, 503 or 504 are
// retried with exponential backoff (1 s doubling to 30 s, Retry-After honoured up to 30 s,
// 6 attempts); other statuses are final. shutdown() cuts a POST in flight short at its
// deadline. Whatever is given up — queue full, retries exhausted, rejected,
// or reported rejected in a partialSuccess answer — is counted per destination and signal in
// losses(): otlp_{http,file}_dropped_{metric_points,spans,log_records}.
//
//   auto otlp = OtlpExporter::create({.file = "/var/log/gputrace.otlp.jsonl", .endpoints = eps, ...});
//   (*otlp)->publish(batch);
//   (*otlp)->shutdown(5s);   // delivers what it can in 5 s, counts the rest as dropped
#pragma once

#include "exporters/otlp/otlp_http.h"
#include "exporters/otlp/otlp_json.h"
#include "exporters/telemetry/telemetry_sink.h"

#include <memory>
#include <optional>
#include <string>

namespace gputrace::otlp {

struct RetryPolicy {
  int max_attempts = 6;
  std::chrono::milliseconds initial_backoff{1000};
  std::chrono::milliseconds max_backoff{30'000};
};

struct OtlpOptions {
  std::string file;                        // empty: no file
  std::optional<OtlpEndpoints> endpoints;  // none: no POSTs
  OtlpIdentity identity;
  size_t queue_requests = 64;
  size_t queue_bytes = 32u << 20;
  RetryPolicy retry;
};

class Channel;

class OtlpExporter : public telemetry::TelemetrySink {
 public:
  static Result<std::unique_ptr<OtlpExporter>> create(OtlpOptions options);
  ~OtlpExporter() override;

  void publish(const telemetry::TelemetryBatch& batch) override;
  std::map<std::string, uint64_t> losses() const override;
  void shutdown(std::chrono::milliseconds deadline) override;

  uint64_t delivered(Signal s) const;  // requests accepted by the receiver (all destinations: http)

 private:
  explicit OtlpExporter(OtlpOptions options);
  OtlpOptions options_;
  OtlpEncoder encoder_;
  std::unique_ptr<Channel> file_, http_;
};

}  // namespace gputrace::otlp
