#include "exporters/otlp/otlp_exporter.h"

#include "userspace/model/loss_counters.h"
#include "userspace/util/fd.h"
#include "userspace/util/safe_dir.h"
#include "userspace/util/thread_guard.h"
#include "userspace/util/log.h"

#include <fmt/format.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

namespace gputrace::otlp {
namespace {

using Clock = std::chrono::steady_clock;

size_t index(Signal s) { return static_cast<size_t>(s); }

// The loss counter of items of signal s given up by one destination.
Loss dropped_loss(bool http, Signal s) {
  switch (s) {
    case Signal::Metrics: return http ? Loss::otlp_http_dropped_metric_points : Loss::otlp_file_dropped_metric_points;
    case Signal::Traces: return http ? Loss::otlp_http_dropped_spans : Loss::otlp_file_dropped_spans;
    case Signal::Logs: return http ? Loss::otlp_http_dropped_log_records : Loss::otlp_file_dropped_log_records;
  }
  return Loss::otlp_file_dropped_metric_points;
}

// What a delivery attempt concluded.
enum class Outcome { Delivered, Retry, GiveUp };
struct Attempt {
  Outcome outcome = Outcome::Delivered;
  uint64_t rejected_items = 0;  // partialSuccess: accepted, but this many refused
  std::optional<std::chrono::milliseconds> retry_after;
  std::string problem;          // for the log
};

}  // namespace

// One destination: a bounded queue and the thread that drains it.
class Channel {
 public:
  // cutoff: when to give up on the attempt whatever its own timeout (the shutdown's deadline)
  using Deliver = std::function<Attempt(const OtlpRequest&, const Cutoff& cutoff)>;
  Channel(std::string name, size_t max_requests, size_t max_bytes, RetryPolicy retry, Deliver deliver)
      : name_(std::move(name)), max_requests_(max_requests), max_bytes_(max_bytes), retry_(retry), deliver_(std::move(deliver)) {
    thread_ = std::thread([this] { guarded_thread_body("the OTLP " + name_ + " queue", [this] { run(); }); });
  }
  ~Channel() { stop(std::chrono::milliseconds(0)); }

  // A metrics request carries the whole cumulative state, so a newer one supersedes any that
  // waits: at most one waits, the newest, and it is the first to go when room is needed.
  // Spans and log records are each sent once; they are dropped only when the queue is full.
  void push(OtlpRequest r) {
    std::lock_guard lock(mu_);
    if (stopping_) {
      drop(r);
      return;
    }
    auto waiting_metrics = [&] {
      return std::find_if(queue_.begin(), queue_.end(), [](const OtlpRequest& q) { return q.signal == Signal::Metrics; });
    };
    auto full = [&] { return queue_.size() >= max_requests_ || bytes_ + r.body.size() > max_bytes_; };
    if (auto old = waiting_metrics(); old != queue_.end() && (r.signal == Signal::Metrics || full())) {
      bytes_ -= old->body.size();
      drop(*old);
      queue_.erase(old);
    }
    if (full()) {
      drop(r);
      return;
    }
    bytes_ += r.body.size();
    queue_.push_back(std::move(r));
    cv_.notify_all();
  }

  void stop(std::chrono::milliseconds grace) {
    {
      std::lock_guard lock(mu_);
      if (!thread_.joinable()) return;
      stopping_ = true;
      stop_deadline_ = Clock::now() + grace;
      cutoff_ = stop_deadline_;  // a POST in flight gives up then, not at its own timeout
      cv_.notify_all();
    }
    thread_.join();
  }

  uint64_t dropped(Signal s) const { return dropped_[index(s)].load(); }
  uint64_t delivered(Signal s) const { return delivered_[index(s)].load(); }
  const std::string& name() const { return name_; }

 private:
  void drop(const OtlpRequest& r) { dropped_[index(r.signal)] += r.items; }

  void run() {
    bool warned = false;
    for (;;) {
      OtlpRequest r;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || stopping_; });
        if (queue_.empty()) return;
        if (stopping_ && Clock::now() >= stop_deadline_) {
          for (const auto& q : queue_) drop(q);
          queue_.clear();
          return;
        }
        r = std::move(queue_.front());
        queue_.pop_front();
        bytes_ -= r.body.size();
      }
      auto backoff = retry_.initial_backoff;
      for (int attempt = 1;; ++attempt) {
        const Attempt a = deliver_(r, cutoff_);
        if (a.outcome == Outcome::Delivered) {
          ++delivered_[index(r.signal)];
          dropped_[index(r.signal)] += a.rejected_items;
          warned = false;
          break;
        }
        if (!warned) log_warning("OTLP {}: {}", name_, a.problem);
        warned = true;
        if (a.outcome == Outcome::GiveUp || attempt >= retry_.max_attempts) {
          drop(r);
          break;
        }
        // full jitter would spread a fleet's retries; half of it keeps the order of magnitude.
        // A receiver's Retry-After is honoured up to max_backoff: an hour would stall the queue.
        std::uniform_int_distribution<int64_t> jitter(backoff.count() / 2, backoff.count());
        const auto wait = a.retry_after ? std::clamp(*a.retry_after, backoff / 2, retry_.max_backoff)
                                        : std::chrono::milliseconds(jitter(rng_));
        std::unique_lock lock(mu_);
        auto until = Clock::now() + wait;
        while (Clock::now() < until) {
          if (stopping_ && stop_deadline_ < until) until = stop_deadline_;  // shutdown cuts the wait short
          cv_.wait_until(lock, until);
        }
        if (stopping_ && Clock::now() >= stop_deadline_) {
          drop(r);
          break;
        }
        backoff = std::min(backoff * 2, retry_.max_backoff);
      }
    }
  }

  std::string name_;
  size_t max_requests_, max_bytes_;
  RetryPolicy retry_;
  Deliver deliver_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<OtlpRequest> queue_;
  size_t bytes_ = 0;
  bool stopping_ = false;
  Clock::time_point stop_deadline_{};
  Cutoff cutoff_{Clock::time_point::max()};
  std::mt19937_64 rng_{std::random_device{}()};
  std::array<std::atomic<uint64_t>, 3> dropped_{}, delivered_{};
  std::thread thread_;
};

namespace {

uint64_t rejected_in(const std::string& body, Signal s) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("partialSuccess")) return 0;
  const char* field = s == Signal::Metrics ? "rejectedDataPoints" : s == Signal::Traces ? "rejectedSpans" : "rejectedLogRecords";
  const auto& ps = j["partialSuccess"];
  if (!ps.is_object() || !ps.contains(field)) return 0;
  const auto& v = ps[field];
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_string()) return std::strtoull(v.get<std::string>().c_str(), nullptr, 10);
  return 0;
}

Attempt post(const OtlpEndpoints& eps, const OtlpRequest& r, const Cutoff& cutoff) {
  const HttpUrl& url = *eps.of(r.signal);
  auto resp = http_post(url, "application/json", r.body, eps.headers, eps.tls, eps.timeout, &cutoff);
  if (!resp) return {Outcome::Retry, 0, std::nullopt, resp.error().describe()};
  const int st = resp->status;
  if (st >= 200 && st < 300) return {Outcome::Delivered, rejected_in(resp->body, r.signal), std::nullopt, ""};
  Attempt a;
  a.problem = fmt::format("{} answered HTTP {} to a {} request{}", url.text(), st, signal_name(r.signal),
                          resp->body.empty() ? "" : ": " + resp->body.substr(0, 200));
  // the specification's retryable statuses; anything else will not get better by repeating it
  a.outcome = (st == 429 || st == 502 || st == 503 || st == 504) ? Outcome::Retry : Outcome::GiveUp;
  if (resp->retry_after) a.retry_after = std::chrono::duration_cast<std::chrono::milliseconds>(*resp->retry_after);
  return a;
}

Attempt append_line(int fd, const std::string& path, const OtlpRequest& r) {
  std::string line = r.body;
  line.push_back('\n');
  // one write(2) per line on an O_APPEND file: a reader never sees half a line from us
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd, line.data() + done, line.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return {Outcome::GiveUp, 0, std::nullopt, fmt::format("cannot append to {}: {}", path, std::strerror(errno))};
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

}  // namespace

OtlpExporter::OtlpExporter(OtlpOptions options)
    : options_(std::move(options)), encoder_(options_.identity) {}

Result<std::unique_ptr<OtlpExporter>> OtlpExporter::create(OtlpOptions options) {
  std::unique_ptr<OtlpExporter> e(new OtlpExporter(std::move(options)));
  const OtlpOptions& o = e->options_;
  if (!o.file.empty()) {
    auto opened = open_own_file_for_append(o.file);
    if (!opened) return fail("OTLP file: {}", opened.error().describe());
    auto fd = std::make_shared<Fd>(std::move(*opened));
    e->file_ = std::make_unique<Channel>("file " + o.file, o.queue_requests, o.queue_bytes, RetryPolicy{.max_attempts = 1},
                                         [fd, path = o.file](const OtlpRequest& r, const Cutoff&) {
                                           return append_line(fd->get(), path, r);
                                         });
  }
  if (o.endpoints && o.endpoints->any()) {
    e->http_ = std::make_unique<Channel>("endpoint", o.queue_requests, o.queue_bytes, o.retry,
                                         [eps = *o.endpoints](const OtlpRequest& r, const Cutoff& cutoff) {
                                           if (!eps.of(r.signal)) return Attempt{};  // signal not configured
                                           return post(eps, r, cutoff);
                                         });
  }
  return e;
}

OtlpExporter::~OtlpExporter() { shutdown(std::chrono::milliseconds(0)); }

void OtlpExporter::publish(const telemetry::TelemetryBatch& batch) {
  if (!file_ && !http_) return;
  for (OtlpRequest& r : encoder_.encode(batch)) {
    if (http_ && options_.endpoints->of(r.signal)) {
      if (file_) {
        file_->push(r);  // a copy: both destinations get every request
      }
      http_->push(std::move(r));
    } else if (file_) {
      file_->push(std::move(r));
    }
  }
}

std::map<std::string, uint64_t> OtlpExporter::losses() const {
  std::map<std::string, uint64_t> out;
  for (Signal s : {Signal::Metrics, Signal::Traces, Signal::Logs}) {
    if (file_) out[std::string(loss_name(dropped_loss(false, s)))] = file_->dropped(s);
    if (http_) out[std::string(loss_name(dropped_loss(true, s)))] = http_->dropped(s);
  }
  return out;
}

uint64_t OtlpExporter::delivered(Signal s) const { return http_ ? http_->delivered(s) : 0; }

void OtlpExporter::shutdown(std::chrono::milliseconds deadline) {
  // both drain at once: the deadline is for the whole shutdown, not for each destination
  std::thread f;
  if (file_) f = std::thread([&] { file_->stop(deadline); });
  if (http_) http_->stop(deadline);
  if (f.joinable()) f.join();
}

}  // namespace gputrace::otlp
