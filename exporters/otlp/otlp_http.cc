#include "exporters/otlp/otlp_http.h"

#include "userspace/util/fd.h"

#include <fcntl.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>

namespace gputrace::otlp {
namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
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

}  // namespace

// The URL as messages show it: "user:password@" in the authority becomes "***@".
static std::string without_userinfo(const std::string& url) {
  const size_t scheme = url.find("://");
  const size_t from = scheme == std::string::npos ? 0 : scheme + 3;
  const size_t authority_end = std::min(url.find('/', from), url.size());
  const size_t at = url.rfind('@', authority_end == 0 ? 0 : authority_end - 1);
  if (at == std::string::npos || at < from) return url;
  return url.substr(0, from) + "***" + url.substr(at);
}

Result<HttpUrl> parse_http_url(const std::string& given) {
  const std::string url = without_userinfo(given);  // never print a password
  if (url != given)
    return fail("{}: gputrace does not send credentials written into the URL; put them in OTEL_EXPORTER_OTLP_HEADERS "
                "(e.g. Authorization=Basic BASE64) and give the URL without them",
                url);
  HttpUrl u;
  u.https = url.starts_with("https://");
  if (!u.https && !url.starts_with("http://"))
    return fail("{}: an OTLP/HTTP endpoint is an http:// or https:// URL, e.g. http://127.0.0.1:4318", url);
  if (u.https) u.port = 443;
  std::string rest = url.substr(u.https ? 8 : 7);
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

namespace {

// A PEM file named by `setting` must be there and readable now: found wanting at the first
// POST, the mistake would only show as retries and drops.
Result<void> check_readable(const std::string& setting, const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail_errno(errno, "{} {}: cannot read it", setting, path);
  return {};
}

Result<void> resolve_tls(OtlpEndpoints& e, const std::function<std::optional<std::string>(const char*)>& var,
                         const std::optional<std::string>& ca_file_flag) {
  struct Setting {
    const char* name;
    std::string TlsFiles::*field;
  };
  for (const Setting& s : {Setting{"OTEL_EXPORTER_OTLP_CERTIFICATE", &TlsFiles::ca_file},
                           Setting{"OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", &TlsFiles::client_cert},
                           Setting{"OTEL_EXPORTER_OTLP_CLIENT_KEY", &TlsFiles::client_key}})
    if (auto v = var(s.name)) e.tls.*s.field = *v;
  if (ca_file_flag) e.tls.ca_file = *ca_file_flag;
  if (e.tls.client_cert.empty() != e.tls.client_key.empty())
    return fail("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE and OTEL_EXPORTER_OTLP_CLIENT_KEY go together: "
                "a client certificate is useless without its key, and the other way round");
  if (!e.tls.ca_file.empty())
    if (auto r = check_readable(ca_file_flag ? "--otlp-ca-file" : "OTEL_EXPORTER_OTLP_CERTIFICATE", e.tls.ca_file); !r) return r;
  if (!e.tls.client_cert.empty()) {
    if (auto r = check_readable("OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE", e.tls.client_cert); !r) return r;
    if (auto r = check_readable("OTEL_EXPORTER_OTLP_CLIENT_KEY", e.tls.client_key); !r) return r;
  }
  const bool any_tls = (e.metrics && e.metrics->https) || (e.traces && e.traces->https) || (e.logs && e.logs->https);
  const bool tls_files = !e.tls.ca_file.empty() || !e.tls.client_cert.empty();
  if (tls_files && e.any() && !any_tls)
    e.notes.push_back("a CA file or client certificate is set, but no OTLP endpoint is https://: they are not used");
  return {};
}

}  // namespace

Result<OtlpEndpoints> resolve_endpoints(const std::optional<std::string>& flag,
                                        const std::function<const char*(const char*)>& env,
                                        const std::optional<std::string>& ca_file_flag) {
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
  if (auto r = resolve_tls(e, var, ca_file_flag); !r) return tl::unexpected(r.error());
  if (auto p = var("OTEL_EXPORTER_OTLP_PROTOCOL"); p && *p != "http/json")
    e.notes.push_back(fmt::format("OTEL_EXPORTER_OTLP_PROTOCOL={}: gputrace sends http/json only", *p));
  // settings an SDK would honour and gputrace does not: say so rather than ignore them quietly
  for (const char* signal : {"", "METRICS_", "TRACES_", "LOGS_"}) {
    for (const char* setting : {"HEADERS", "TIMEOUT", "PROTOCOL", "COMPRESSION", "CERTIFICATE", "CLIENT_CERTIFICATE",
                                "CLIENT_KEY", "INSECURE"}) {
      const std::string name = fmt::format("OTEL_EXPORTER_OTLP_{}{}", signal, setting);
      const std::string_view st(setting);
      const bool honoured = !*signal && (st == "HEADERS" || st == "TIMEOUT" || st == "PROTOCOL" || st == "CERTIFICATE" ||
                                         st == "CLIENT_CERTIFICATE" || st == "CLIENT_KEY");
      if (!honoured && var(name.c_str()))
        e.notes.push_back(fmt::format("{} is not read by gputrace (docs/otlp.md lists the variables it honours)", name));
    }
  }
  return e;
}

}  // namespace gputrace::otlp
