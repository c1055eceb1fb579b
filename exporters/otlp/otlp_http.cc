#include "exporters/otlp/otlp_http.h"

#include "userspace/util/fd.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace gputrace::otlp {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kMaxResponseBytes = 64 * 1024;

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

int remaining_ms(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// Waits for events on fd until deadline or *cutoff, whichever comes first; true when ready.
// With a cutoff, polls in slices so that another thread moving it is noticed.
bool wait_for(int fd, short events, Clock::time_point deadline, const Cutoff* cutoff) {
  for (;;) {
    const Clock::time_point until = cutoff ? std::min(deadline, cutoff->load()) : deadline;
    const int left = remaining_ms(until);
    if (left <= 0) return false;
    pollfd p{fd, events, 0};
    const int n = ::poll(&p, 1, cutoff ? std::min(left, 100) : left);
    if (n > 0) return true;
    if (n < 0 && errno != EINTR) return false;
  }
}

Result<Fd> connect_to(const HttpUrl& url, Clock::time_point deadline, const Cutoff* cutoff) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(url.port);
  if (int gai = getaddrinfo(url.host.c_str(), port.c_str(), &hints, &res); gai != 0)
    return fail("cannot resolve OTLP endpoint host {}: {}", url.host, gai_strerror(gai));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
  int last = 0;
  for (addrinfo* ai = res; ai; ai = ai->ai_next) {
    Fd fd(::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol));
    if (!fd.valid()) {
      last = errno;
      continue;
    }
    if (::connect(fd.get(), ai->ai_addr, ai->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = errno;
        continue;
      }
      if (!wait_for(fd.get(), POLLOUT, deadline, cutoff)) {
        last = ETIMEDOUT;
        continue;
      }
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        last = err;
        continue;
      }
    }
    return fd;
  }
  return fail_errno(last, "cannot connect to the OTLP endpoint {}", url.text());
}

Result<void> send_all(int fd, std::string_view data, Clock::time_point deadline, const Cutoff* cutoff, const HttpUrl& url) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return fail_errno(errno, "sending to {}", url.text());
    if (!wait_for(fd, POLLOUT, deadline, cutoff)) return fail("timed out sending to {}", url.text());
  }
  return {};
}

// Body of a chunked response; nullopt while incomplete.
std::optional<std::string> dechunk(std::string_view s) {
  std::string out;
  size_t pos = 0;
  for (;;) {
    const size_t eol = s.find("\r\n", pos);
    if (eol == std::string_view::npos) return std::nullopt;
    const size_t size = std::strtoul(std::string(s.substr(pos, eol - pos)).c_str(), nullptr, 16);
    pos = eol + 2;
    if (size == 0) return out;
    if (pos + size + 2 > s.size()) return std::nullopt;
    out.append(s.substr(pos, size));
    pos += size + 2;
  }
}

}  // namespace

std::string HttpUrl::text() const {
  const bool v6 = host.find(':') != std::string::npos;
  return fmt::format("http://{}{}{}:{}{}", v6 ? "[" : "", host, v6 ? "]" : "", port, path);
}

Result<HttpUrl> parse_http_url(const std::string& url) {
  if (url.starts_with("https://"))
    return fail("{}: gputrace sends OTLP over plain http only; run an OpenTelemetry Collector next to it "
                "(listening on http://127.0.0.1:4318) and let the collector speak TLS",
                url);
  if (!url.starts_with("http://")) return fail("{}: an OTLP/HTTP endpoint is an http:// URL, e.g. http://127.0.0.1:4318", url);
  std::string rest = url.substr(7);
  HttpUrl u;
  const size_t slash = rest.find('/');
  if (slash != std::string::npos) {
    u.path = rest.substr(slash);
    rest = rest.substr(0, slash);
  }
  std::string port;
  if (!rest.empty() && rest[0] == '[') {
    const size_t close = rest.find(']');
    if (close == std::string::npos) return fail("{}: unterminated [IPv6] address", url);
    u.host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') return fail("{}: expected :PORT after the [IPv6] address", url);
      port = rest.substr(close + 2);
    }
  } else {
    const size_t colon = rest.rfind(':');
    u.host = rest.substr(0, colon);
    if (colon != std::string::npos) port = rest.substr(colon + 1);
  }
  if (u.host.empty()) return fail("{}: the URL names no host", url);
  if (!port.empty()) {
    if (port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos || std::stoul(port) == 0 ||
        std::stoul(port) > 65535)
      return fail("{}: the port must be a number from 1 to 65535", url);
    u.port = static_cast<uint16_t>(std::stoul(port));
  }
  return u;
}

std::vector<std::pair<std::string, std::string>> parse_key_value_list(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    const std::string_view item = text.substr(pos, comma - pos);
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos) {
      std::string k = trim(percent_decode(item.substr(0, eq))), v = trim(percent_decode(item.substr(eq + 1)));
      if (!k.empty()) out.emplace_back(std::move(k), std::move(v));
    }
    pos = comma + 1;
  }
  return out;
}

Result<void> check_headers(const Headers& headers) {
  // RFC 9110 field names are tokens; values may hold tabs and visible characters, never CR, LF
  // or other controls, which would end the header and start another (header injection)
  auto is_token_char = [](unsigned char c) {
    return std::isalnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  };
  for (const auto& [name, value] : headers) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), [&](char c) { return is_token_char(static_cast<unsigned char>(c)); }))
      return fail("OTEL_EXPORTER_OTLP_HEADERS: '{}' is not a valid HTTP header name", name);
    for (char c : value) {
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && u != '\t') || u == 0x7f)
        return fail("OTEL_EXPORTER_OTLP_HEADERS: the value of header '{}' holds a control character (0x{:02x}); "
                    "CR and LF would let it add headers of its own",
                    name, u);
    }
  }
  return {};
}

Result<OtlpEndpoints> resolve_endpoints(const std::optional<std::string>& flag,
                                        const std::function<const char*(const char*)>& env) {
  auto var = [&](const char* name) -> std::optional<std::string> {
    const char* v = env(name);
    if (!v || !*v) return std::nullopt;
    return std::string(v);
  };
  OtlpEndpoints e;
  auto from_base = [](const std::string& base, Signal s) -> Result<HttpUrl> {
    auto u = parse_http_url(base);
    if (!u) return u;
    std::string path = u->path;
    while (!path.empty() && path.back() == '/') path.pop_back();
    u->path = path + signal_path(s);
    return u;
  };
  const auto base_env = var("OTEL_EXPORTER_OTLP_ENDPOINT");
  for (Signal s : {Signal::Metrics, Signal::Traces, Signal::Logs}) {
    const std::string specific_name = fmt::format("OTEL_EXPORTER_OTLP_{}_ENDPOINT", s == Signal::Metrics ? "METRICS"
                                                                                   : s == Signal::Traces ? "TRACES"
                                                                                                         : "LOGS");
    Result<HttpUrl> u = fail("unset");
    if (flag) {
      u = from_base(*flag, s);
    } else if (auto specific = var(specific_name.c_str())) {
      u = parse_http_url(*specific);
    } else if (base_env) {
      u = from_base(*base_env, s);
    } else {
      continue;
    }
    if (!u) return tl::unexpected(u.error());
    (s == Signal::Metrics ? e.metrics : s == Signal::Traces ? e.traces : e.logs) = *u;
  }
  if (auto h = var("OTEL_EXPORTER_OTLP_HEADERS")) {
    e.headers = parse_key_value_list(*h);
    if (auto r = check_headers(e.headers); !r) return tl::unexpected(r.error());
  }
  if (auto t = var("OTEL_EXPORTER_OTLP_TIMEOUT")) {
    char* end = nullptr;
    const long ms = std::strtol(t->c_str(), &end, 10);
    if (end && *end == '\0' && ms > 0)
      e.timeout = std::chrono::milliseconds(ms);
    else
      e.notes.push_back(fmt::format("OTEL_EXPORTER_OTLP_TIMEOUT={} is not a number of milliseconds: using 10000", *t));
  }
  if (auto p = var("OTEL_EXPORTER_OTLP_PROTOCOL"); p && *p != "http/json")
    e.notes.push_back(fmt::format("OTEL_EXPORTER_OTLP_PROTOCOL={}: gputrace sends http/json only", *p));
  // settings an SDK would honour and gputrace does not: say so rather than ignore them quietly
  for (const char* signal : {"", "METRICS_", "TRACES_", "LOGS_"}) {
    for (const char* setting : {"HEADERS", "TIMEOUT", "PROTOCOL", "COMPRESSION", "CERTIFICATE", "INSECURE"}) {
      const std::string name = fmt::format("OTEL_EXPORTER_OTLP_{}{}", signal, setting);
      const bool honoured = !*signal && (std::string_view(setting) == "HEADERS" || std::string_view(setting) == "TIMEOUT" ||
                                         std::string_view(setting) == "PROTOCOL");
      if (!honoured && var(name.c_str()))
        e.notes.push_back(fmt::format("{} is not read by gputrace (docs/otlp.md lists the variables it honours)", name));
    }
  }
  return e;
}

Result<HttpResponse> http_post(const HttpUrl& url, std::string_view content_type, std::string_view body,
                               const Headers& headers, std::chrono::milliseconds timeout, const Cutoff* cutoff) {
  const auto deadline = Clock::now() + timeout;
  auto fd = connect_to(url, deadline, cutoff);
  if (!fd) return tl::unexpected(fd.error());
  const bool v6 = url.host.find(':') != std::string::npos;
  std::string head = fmt::format("POST {} HTTP/1.1\r\nHost: {}{}{}:{}\r\nUser-Agent: gputrace\r\nContent-Type: {}\r\n"
                                 "Content-Length: {}\r\nConnection: close\r\n",
                                 url.path, v6 ? "[" : "", url.host, v6 ? "]" : "", url.port, content_type, body.size());
  for (const auto& [k, v] : headers) head += fmt::format("{}: {}\r\n", k, v);
  head += "\r\n";
  if (auto r = send_all(fd->get(), head, deadline, cutoff, url); !r) return tl::unexpected(r.error());
  if (auto r = send_all(fd->get(), body, deadline, cutoff, url); !r) return tl::unexpected(r.error());

  std::string in;
  size_t header_end = std::string::npos;
  std::optional<size_t> content_length;
  bool chunked = false;
  HttpResponse resp;
  for (;;) {
    char buf[4096];
    const ssize_t n = ::recv(fd->get(), buf, sizeof(buf), 0);
    if (n < 0 && errno != EAGAIN && errno != EINTR) return fail_errno(errno, "reading the answer of {}", url.text());
    if (n > 0 && in.size() < kMaxResponseBytes + 16384) in.append(buf, static_cast<size_t>(n));
    const bool eof = n == 0;
    if (header_end == std::string::npos && (header_end = in.find("\r\n\r\n")) != std::string::npos) {
      const std::string status_line = in.substr(0, in.find("\r\n"));
      if (!status_line.starts_with("HTTP/1.") || status_line.size() < 12)
        return fail("{} answered something that is not HTTP: {}", url.text(), status_line.substr(0, 80));
      resp.status = std::atoi(status_line.c_str() + 9);
      size_t pos = in.find("\r\n") + 2;
      while (pos < header_end) {
        const size_t eol = in.find("\r\n", pos);
        const std::string line = in.substr(pos, eol - pos);
        pos = eol + 2;
        const size_t colon = line.find(':');
        if (colon == std::string::npos) continue;
        const std::string name = lower(trim(line.substr(0, colon))), value = trim(line.substr(colon + 1));
        if (name == "content-length") content_length = std::strtoull(value.c_str(), nullptr, 10);
        if (name == "transfer-encoding" && lower(value).find("chunked") != std::string::npos) chunked = true;
        if (name == "retry-after" && !value.empty() && std::isdigit(static_cast<unsigned char>(value[0])))
          resp.retry_after = std::chrono::seconds(std::strtol(value.c_str(), nullptr, 10));
      }
    }
    if (header_end != std::string::npos) {
      const std::string_view rest = std::string_view(in).substr(header_end + 4);
      if (chunked) {
        if (auto b = dechunk(rest)) {
          resp.body = b->substr(0, kMaxResponseBytes);
          return resp;
        }
      } else if (content_length && (rest.size() >= *content_length || rest.size() >= kMaxResponseBytes)) {
        resp.body = std::string(rest.substr(0, std::min(*content_length, kMaxResponseBytes)));
        return resp;
      } else if (eof) {
        resp.body = std::string(rest.substr(0, kMaxResponseBytes));
        return resp;
      }
    }
    if (eof) return fail("{} closed the connection before a whole answer", url.text());
    if (n > 0) continue;
    if (!wait_for(fd->get(), POLLIN, deadline, cutoff)) return fail("timed out waiting for the answer of {}", url.text());
  }
}

}  // namespace gputrace::otlp
