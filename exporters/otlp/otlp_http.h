// OTLP/HTTP plumbing: where to send (endpoints from --otlp-endpoint or the standard
// OTEL_EXPORTER_OTLP_* environment variables), with what TLS settings, and a blocking POST
// for the exporter's worker threads (libcurl: otlp_http_client.cc).
//
// http:// and https:// endpoints are spoken. A TLS peer is verified against the system's CA
// store, or against the CA file of --otlp-ca-file / OTEL_EXPORTER_OTLP_CERTIFICATE; a client
// certificate and key (OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE / _CLIENT_KEY) authenticate
// gputrace to a collector that asks for one (mutual TLS). Endpoint rules follow the OTLP
// exporter specification: OTEL_EXPORTER_OTLP_ENDPOINT (or --otlp-endpoint) is a base URL to
// which /v1/metrics, /v1/traces and /v1/logs are appended; the signal-specific
// OTEL_EXPORTER_OTLP_{METRICS,TRACES,LOGS}_ENDPOINT are used as they are and win over the base
// from the environment; --otlp-endpoint wins over both.
//
// Builds without libcurl (the static binary for the vm tier's guests) have no client:
// http_client_available() is false and http_post() says so (exporters/without_network/).
#pragma once

#include "exporters/otlp/otlp_json.h"
#include "userspace/util/result.h"

#include <fmt/format.h>

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
  bool https = false;
  std::string host;      // name or address (IPv6 without brackets)
  uint16_t port = 80;    // 443 for https:// without a port
  std::string path = "/";
  std::string text() const {  // "http[s]://host:port/path"
    const bool v6 = host.find(':') != std::string::npos;
    return fmt::format("{}://{}{}{}:{}{}", https ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "", port, path);
  }
};

// http[s]://HOST[:PORT][/PATH]; anything else is an error saying what to do.
Result<HttpUrl> parse_http_url(const std::string& url);

// Files for TLS, PEM. Empty: the system's CA store, and no client certificate.
struct TlsFiles {
  std::string ca_file;      // --otlp-ca-file, OTEL_EXPORTER_OTLP_CERTIFICATE
  std::string client_cert;  // OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE
  std::string client_key;   // OTEL_EXPORTER_OTLP_CLIENT_KEY
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct OtlpEndpoints {
  std::optional<HttpUrl> metrics, traces, logs;
  Headers headers;                                // OTEL_EXPORTER_OTLP_HEADERS
  TlsFiles tls;
  std::chrono::milliseconds timeout{10'000};      // OTEL_EXPORTER_OTLP_TIMEOUT
  std::vector<std::string> notes;                 // settings read but not honoured, for the log
  bool any() const { return metrics || traces || logs; }
  const std::optional<HttpUrl>& of(Signal s) const { return s == Signal::Metrics ? metrics : s == Signal::Traces ? traces : logs; }
};

// flag: --otlp-endpoint, if given; ca_file_flag: --otlp-ca-file, which wins over
// OTEL_EXPORTER_OTLP_CERTIFICATE. env: getenv (the tests pass their own). TLS files are
// checked to be readable here, so that a typo fails the start and not every POST.
Result<OtlpEndpoints> resolve_endpoints(const std::optional<std::string>& flag,
                                        const std::function<const char*(const char*)>& env,
                                        const std::optional<std::string>& ca_file_flag = std::nullopt);

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

// One POST. Connections are kept per calling thread and reused while the receiver keeps them
// open (a TLS handshake per request would cost more than the request). An error is a failure
// to connect, agree on TLS, send or read a whole response within `timeout` (and before
// *cutoff); any HTTP status is a response.
Result<HttpResponse> http_post(const HttpUrl& url, std::string_view content_type, std::string_view body,
                               const Headers& headers, const TlsFiles& tls, std::chrono::milliseconds timeout,
                               const Cutoff* cutoff = nullptr);

// Whether this build has the OTLP/HTTP client (false in the static build).
bool http_client_available();

}  // namespace gputrace::otlp
