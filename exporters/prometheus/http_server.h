// MetricsHttpServer: serves the latest rendered metrics text to Prometheus scrapes, on
// cpp-httplib. GET (and HEAD) of /metrics returns the text; any other path is 404, any other
// method 405. Until the first set_metrics() it answers 503: an empty 200 would read as up=1
// with no series.
//
// cpp-httplib's listener runs on its own thread and hands connections to a small, bounded pool
// of workers (http_server.cc), so a slow or stuck scraper never holds up the daemon: the
// pipeline only swaps in a new text under a mutex (set_metrics). Requests are bounded (8 KiB
// per header line, 5 s per read or write, one request per connection, 4 workers, 16
// connections waiting); the socket is bound without SO_REUSEPORT, so a second daemon on the
// same port fails instead of sharing it. Scrapes that accept gzip get it.
// It binds loopback unless told otherwise (docs/metrics.md says how to expose it).
//
// Builds without cpp-httplib (the static binary for the vm tier's guests) have no server:
// start() says so and names the alternatives (exporters/without_network/).
//
//   auto server = MetricsHttpServer::start("127.0.0.1:9478");
//   (*server)->set_metrics(text);         // from any thread, any time
//   (*server)->address();                 // "127.0.0.1:9478" (the real port when given 0)
#pragma once

#include "userspace/util/result.h"

#include <atomic>
#include <memory>
#include <string>

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
  std::string address() const;
  uint64_t scrapes() const;   // 200 responses to /metrics
  uint64_t rejected() const;  // 4xx answers

 private:
  struct Impl;
  explicit MetricsHttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "HOST:PORT", "[IPv6]:PORT" or ":PORT" split into host (no brackets; empty for every
// interface) and port, or an error a person can act on.
Result<std::pair<std::string, uint16_t>> split_listen_address(const std::string& listen);

}  // namespace gputrace::prometheus
