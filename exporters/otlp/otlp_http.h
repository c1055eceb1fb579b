// OTLP/HTTP plumbing: where to send (endpoints from --otlp-endpoint or the standard
// OTEL_EXPORTER_OTLP_* environment variables) and a small blocking HTTP/1.1 POST client for
// the exporter's worker thread.
//
// Only plain http:// is spoken. A collector reached over TLS needs a local OpenTelemetry
// Collector (or any proxy) as a sidecar; docs/otlp.md says how. Endpoint rules follow the
// OTLP exporter specification: OTEL_EXPORTER_OTLP_ENDPOINT (or --otlp-endpoint) is a base URL
// to which /v1/metrics, /v1/traces and /v1/logs are appended; the signal-specific
// OTEL_EXPORTER_OTLP_{METRICS,TRACES,LOGS}_ENDPOINT are used as they are and win over the
// base from the environment; --otlp-endpoint wins over both.
#pragma once

#include "exporters/otlp/otlp_json.h"
#include "userspace/util/result.h"

#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gputrace::otlp {

struct HttpUrl {
  std::string host;      // name or address (IPv6 without brackets)
  uint16_t port = 80;
  std::string path = "/";
  std::string text() const;  // "http://host:port/path"
};

// http://HOST[:PORT][/PATH]; anything else (https included) is an error saying what to do.
Result<HttpUrl> parse_http_url(const std::string& url);

using Headers = std::vector<std::pair<std::string, std::string>>;

struct OtlpEndpoints {
  std::optional<HttpUrl> metrics, traces, logs;
  Headers headers;                                // OTEL_EXPORTER_OTLP_HEADERS
  std::chrono::milliseconds timeout{10'000};      // OTEL_EXPORTER_OTLP_TIMEOUT
  std::vector<std::string> notes;                 // settings read but not honoured, for the log
  bool any() const { return metrics || traces || logs; }
  const std::optional<HttpUrl>& of(Signal s) const { return s == Signal::Metrics ? metrics : s == Signal::Traces ? traces : logs; }
};

// flag: --otlp-endpoint, if given. env: getenv (the tests pass their own).
Result<OtlpEndpoints> resolve_endpoints(const std::optional<std::string>& flag,
                                        const std::function<const char*(const char*)>& env);

// Refuses header names that are not HTTP tokens and values with control characters (a
// percent-encoded CR or LF would inject headers), with a message naming the header.
Result<void> check_headers(const Headers& headers);

// OTEL_RESOURCE_ATTRIBUTES / OTEL_EXPORTER_OTLP_HEADERS syntax: "k=v,k2=v2", values
// percent-decoded. Malformed entries are skipped.
std::vector<std::pair<std::string, std::string>> parse_key_value_list(std::string_view text);

struct HttpResponse {
  int status = 0;
  std::string body;                          // at most 64 KiB kept
  std::optional<std::chrono::seconds> retry_after;
};

// Lets another thread cut a POST in flight short (the exporter's shutdown): the POST gives up
// once the clock passes it, noticing within 100 ms.
using Cutoff = std::atomic<std::chrono::steady_clock::time_point>;

// One POST on a fresh connection (Connection: close). An error is a failure to connect, send
// or read a whole response within `timeout` (and before *cutoff); any HTTP status is a response.
Result<HttpResponse> http_post(const HttpUrl& url, std::string_view content_type, std::string_view body,
                               const Headers& headers, std::chrono::milliseconds timeout,
                               const Cutoff* cutoff = nullptr);

}  // namespace gputrace::otlp
