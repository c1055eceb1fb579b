#include "cupti/options.h"

#include <strings.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>
#include <map>

namespace gputrace::cupti {
namespace {

using Lookup = std::function<const char*(const char*)>;

// A typo must not break the application: it falls back to the default, and says so.
unsigned number(const Lookup& lookup, const char* name, unsigned fallback, unsigned lo, unsigned hi,
                std::vector<std::string>& problems) {
  const char* v = lookup(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long n = std::strtoul(v, &end, 10);
  if (*v != '-' && errno == 0 && *end == '\0' && n >= lo && n <= hi) return static_cast<unsigned>(n);
  problems.push_back(std::string(name) + "=" + v + " is not a number from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ": using " + std::to_string(fallback));
  return fallback;
}

bool flag(const Lookup& lookup, const char* name, bool fallback, std::vector<std::string>& problems) {
  const char* v = lookup(name);
  if (v == nullptr || *v == '\0') return fallback;
  for (const char* on : {"1", "true", "on", "yes"})
    if (strcasecmp(v, on) == 0) return true;
  for (const char* off : {"0", "false", "off", "no"})
    if (strcasecmp(v, off) == 0) return false;
  problems.push_back(std::string(name) + "=" + v + " is neither on (1/true/on/yes) nor off (0/false/off/no): " +
                     (fallback ? "on" : "off"));
  return fallback;
}

bool graph_mode(const Lookup& lookup, std::vector<std::string>& problems) {
  const char* v = lookup("GPUTRACE_CUPTI_GRAPHS");
  if (v == nullptr || *v == '\0' || strcasecmp(v, "nodes") == 0) return false;
  if (strcasecmp(v, "graph") == 0) return true;
  problems.push_back(std::string("GPUTRACE_CUPTI_GRAPHS=") + v + " is neither nodes nor graph: nodes");
  return false;
}

}  // namespace

Options Options::parse(const Lookup& lookup) {
  Options o;
  if (const char* s = lookup("GPUTRACE_CUPTI_SOCKET")) {
    if (std::string(s).size() < sizeof(sockaddr_un::sun_path))
      o.socket_path = s;
    else
      o.problems.push_back(std::string("GPUTRACE_CUPTI_SOCKET is longer than a Unix socket path may be (") +
                           std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes): using " +
                           kDefaultSocketPath);
  }
  auto& p = o.problems;
  o.flush_ms = number(lookup, "GPUTRACE_CUPTI_FLUSH_MS", o.flush_ms, 1, 60'000, p);
  o.buffer_bytes = size_t{number(lookup, "GPUTRACE_CUPTI_BUFFER_KB", 1024, 64, 64 * 1024, p)} * 1024;
  o.api = flag(lookup, "GPUTRACE_CUPTI_API", false, p);
  o.memory = flag(lookup, "GPUTRACE_CUPTI_MEMORY", false, p);
  o.max_records_per_s = number(lookup, "GPUTRACE_CUPTI_MAX_RECORDS_PER_S", o.max_records_per_s, 0, 100'000'000, p);
  o.max_thread_records_per_s =
      number(lookup, "GPUTRACE_CUPTI_MAX_THREAD_RECORDS_PER_S", o.max_thread_records_per_s, 0, 100'000'000, p);
  o.max_buffers = number(lookup, "GPUTRACE_CUPTI_MAX_BUFFERS", o.max_buffers, 2, 4096, p);
  o.device_buffers = number(lookup, "GPUTRACE_CUPTI_DEVICE_BUFFERS", o.device_buffers, 0, 4096, p);
  o.overhead = flag(lookup, "GPUTRACE_CUPTI_OVERHEAD", true, p);
  o.graph_trace = graph_mode(lookup, p);
  o.max_skew_ms = number(lookup, "GPUTRACE_CUPTI_MAX_SKEW_MS", o.max_skew_ms, 0, 3'600'000, p);
  return o;
}

Options Options::from_environment() {
  return parse([](const char* name) -> const char* { return std::getenv(name); });
}

Options Options::from_text(std::string_view lines) {
  std::map<std::string, std::string, std::less<>> values;
  std::vector<std::string> malformed;
  while (!lines.empty()) {
    const size_t nl = lines.find('\n');
    const std::string_view line = lines.substr(0, nl);
    lines = nl == std::string_view::npos ? std::string_view{} : lines.substr(nl + 1);
    if (line.empty()) continue;
    const size_t eq = line.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      malformed.push_back("setting '" + std::string(line) + "' is not NAME=VALUE: ignored");
      continue;
    }
    values[std::string(line.substr(0, eq))] = std::string(line.substr(eq + 1));
  }
  Options o = parse([&](const char* name) -> const char* {
    const auto it = values.find(name);
    return it == values.end() ? nullptr : it->second.c_str();
  });
  o.problems.insert(o.problems.end(), malformed.begin(), malformed.end());
  return o;
}

}  // namespace gputrace::cupti
