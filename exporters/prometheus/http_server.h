// MetricsHttpServer: a minimal HTTP/1.1 server for Prometheus scrapes. GET (and HEAD) of
// /metrics returns the latest rendered text; any other path is 404, any other method 405.
// Until the first set_metrics() it answers 503: an empty 200 would read as up=1 with no series.
//
// It runs on its own thread with non-blocking sockets and poll(2), so a slow or stuck scraper
// never holds up the daemon: the pipeline only swaps in a new text under a mutex
// (set_metrics). Every response closes its connection; requests are bounded (8 KiB of
// headers, 10 s to send them, 64 connections at once) so a misbehaving client costs little.
// It binds loopback unless told otherwise (docs/metrics.md says how to expose it).
//
//   auto server = MetricsHttpServer::start("127.0.0.1:9478");
//   (*server)->set_metrics(text);         // from any thread, any time
//   (*server)->address();                 // "127.0.0.1:9478" (the real port when given 0)
#pragma once

#include "userspace/util/fd.h"
#include "userspace/util/result.h"

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace gputrace::prometheus {

class MetricsHttpServer {
 public:
  // listen: "HOST:PORT", "[IPv6]:PORT", or ":PORT" for every interface, IPv4 and IPv6 (one
  // dual-stack socket; IPv4 only where the host has no IPv6); port 0 picks a free one.
  static Result<std::unique_ptr<MetricsHttpServer>> start(const std::string& listen);
  ~MetricsHttpServer();
  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  void set_metrics(std::string text);
  std::string address() const { return address_; }
  uint64_t scrapes() const { return scrapes_.load(); }            // 200 responses to /metrics
  uint64_t rejected() const { return rejected_.load(); }          // 4xx answers, overflow, timeouts

 private:
  MetricsHttpServer() = default;
  void run();

  Fd listener_;
  Fd wake_;  // eventfd: stop
  std::string address_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::shared_ptr<const std::string> metrics_;  // null until the first set_metrics()
  std::atomic<uint64_t> scrapes_{0}, rejected_{0};
};

}  // namespace gputrace::prometheus
