// http_post on libcurl: HTTP/1.1 and HTTPS (OpenSSL), peers verified, one multi handle per
// calling thread so that connections (and TLS sessions) are reused between requests, and a
// loop that wakes every 100 ms to honour another thread's cutoff.
#include "exporters/otlp/otlp_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <mutex>

namespace gputrace::otlp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxResponseBytes = 64 * 1024;
constexpr int kPollSliceMs = 100;

// curl_global_init is not thread-safe in every build; once, before the first handle.
void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// The multi handle owns the connection cache; the easy handle is reset before every request.
struct ThreadHandles {
  CURLM* multi = nullptr;
  CURL* easy = nullptr;
  ThreadHandles() {
    init_curl_once();
    multi = curl_multi_init();
    easy = curl_easy_init();
  }
  ~ThreadHandles() {
    if (easy) curl_easy_cleanup(easy);
    if (multi) curl_multi_cleanup(multi);
  }
};

ThreadHandles& handles() {
  thread_local ThreadHandles h;
  return h;
}

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* body = static_cast<std::string*>(user);
  const size_t len = size * n;
  if (body->size() < kMaxResponseBytes) body->append(data, std::min(len, kMaxResponseBytes - body->size()));
  return len;  // the rest is read and dropped: a receiver's long error page is not our problem
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* resp = static_cast<HttpResponse*>(user);
  const size_t len = size * n;
  const std::string_view line(data, len);
  constexpr std::string_view kRetryAfter = "retry-after:";
  if (line.size() > kRetryAfter.size() &&
      std::equal(kRetryAfter.begin(), kRetryAfter.end(), line.begin(),
                 [](char a, char b) { return a == std::tolower(static_cast<unsigned char>(b)); })) {
    std::string value(line.substr(kRetryAfter.size()));
    value.erase(0, value.find_first_not_of(" \t"));
    if (!value.empty() && std::isdigit(static_cast<unsigned char>(value[0])))
      resp->retry_after = std::chrono::seconds(std::strtol(value.c_str(), nullptr, 10));  // an HTTP-date is ignored
  }
  return len;
}

// What to tell a person whose POST failed before any HTTP answer.
std::string explain(CURLcode code, const char* detail, const HttpUrl& url, const TlsFiles& tls) {
  std::string text = fmt::format("cannot POST to {}: {}", url.text(), *detail ? detail : curl_easy_strerror(code));
  if (code == CURLE_PEER_FAILED_VERIFICATION || code == CURLE_SSL_CACERT_BADFILE)
    text += tls.ca_file.empty() ? " (a collector with a private CA: give its CA certificate with --otlp-ca-file or "
                                  "OTEL_EXPORTER_OTLP_CERTIFICATE)"
                                : fmt::format(" (checked against the CA file {})", tls.ca_file);
  else if (code == CURLE_SSL_CERTPROBLEM)
    text += fmt::format(" (the client certificate {} or its key {})", tls.client_cert, tls.client_key);
  return text;
}

void set_request(CURL* easy, const HttpUrl& url, std::string_view body, curl_slist* head, const TlsFiles& tls,
                 std::chrono::milliseconds timeout, std::string& response_body, HttpResponse& resp, char* error) {
  curl_easy_setopt(easy, CURLOPT_URL, url.text().c_str());
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: we are a thread among others
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, head);
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "gputrace/" GPUTRACE_VERSION);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &response_body);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &resp);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error);
  if (!tls.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, tls.ca_file.c_str());
  if (!tls.client_cert.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, tls.client_cert.c_str());
    curl_easy_setopt(easy, CURLOPT_SSLKEY, tls.client_key.c_str());
  }
}

// Runs the transfer to its end, or until *cutoff passes; the curl result.
CURLcode run_transfer(CURLM* multi, CURL* easy, const Cutoff* cutoff) {
  curl_multi_add_handle(multi, easy);
  CURLcode result = CURLE_OK;
  for (;;) {
    int running = 0;
    if (curl_multi_perform(multi, &running) != CURLM_OK) {
      result = CURLE_FAILED_INIT;
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi, &left))
        if (m->msg == CURLMSG_DONE && m->easy_handle == easy) result = m->data.result;
      break;
    }
    if (cutoff && Clock::now() >= cutoff->load()) {
      result = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    curl_multi_poll(multi, nullptr, 0, kPollSliceMs, nullptr);
  }
  curl_multi_remove_handle(multi, easy);
  return result;
}

}  // namespace

bool http_client_available() { return true; }

Result<HttpResponse> http_post(const HttpUrl& url, std::string_view content_type, std::string_view body,
                               const Headers& headers, const TlsFiles& tls, std::chrono::milliseconds timeout,
                               const Cutoff* cutoff) {
  ThreadHandles& h = handles();
  if (!h.multi || !h.easy) return fail("libcurl could not make a handle (out of memory?)");
  curl_easy_reset(h.easy);
  curl_slist* head = curl_slist_append(nullptr, fmt::format("Content-Type: {}", content_type).c_str());
  head = curl_slist_append(head, "Expect:");  // no 100-continue round trip for large bodies
  for (const auto& [k, v] : headers) head = curl_slist_append(head, fmt::format("{}: {}", k, v).c_str());
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> head_guard(head, curl_slist_free_all);

  HttpResponse resp;
  char error[CURL_ERROR_SIZE] = {};
  set_request(h.easy, url, body, head, tls, timeout, resp.body, resp, error);
  const CURLcode code = run_transfer(h.multi, h.easy, cutoff);
  if (code == CURLE_ABORTED_BY_CALLBACK) return fail("gave up the POST to {}: the exporter is shutting down", url.text());
  if (code == CURLE_OPERATION_TIMEDOUT)
    return fail("timed out after {} ms POSTing to {} (OTEL_EXPORTER_OTLP_TIMEOUT)", timeout.count(), url.text());
  if (code != CURLE_OK) return fail("{}", explain(code, error, url, tls));
  long status = 0;
  curl_easy_getinfo(h.easy, CURLINFO_RESPONSE_CODE, &status);
  resp.status = static_cast<int>(status);
  return resp;
}

}  // namespace gputrace::otlp
