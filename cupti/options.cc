#include "cupti/options.h"

#include <strings.h>
#include <sys/un.h>

#include <cerrno>
#include <cstdlib>

namespace gputrace::cupti {
namespace {

// A typo must not break the application: it falls back to the default, and says so.
unsigned number(const char* name, unsigned fallback, unsigned lo, unsigned hi, std::vector<std::string>& problems) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const unsigned long n = std::strtoul(v, &end, 10);
  if (*v != '-' && errno == 0 && *end == '\0' && n >= lo && n <= hi) return static_cast<unsigned>(n);
  problems.push_back(std::string(name) + "=" + v + " is not a number from " + std::to_string(lo) + " to " +
                     std::to_string(hi) + ": using " + std::to_string(fallback));
  return fallback;
}

bool flag(const char* name, std::vector<std::string>& problems) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return false;
  for (const char* on : {"1", "true", "on", "yes"})
    if (strcasecmp(v, on) == 0) return true;
  for (const char* off : {"0", "false", "off", "no"})
    if (strcasecmp(v, off) == 0) return false;
  problems.push_back(std::string(name) + "=" + v + " is neither on (1/true/on/yes) nor off (0/false/off/no): off");
  return false;
}

}  // namespace

Options Options::from_environment() {
  Options o;
  if (const char* s = std::getenv("GPUTRACE_CUPTI_SOCKET")) {
    if (std::string(s).size() < sizeof(sockaddr_un::sun_path))
      o.socket_path = s;
    else
      o.problems.push_back(std::string("GPUTRACE_CUPTI_SOCKET is longer than a Unix socket path may be (") +
                           std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes): using " +
                           kDefaultSocketPath);
  }
  o.flush_ms = number("GPUTRACE_CUPTI_FLUSH_MS", o.flush_ms, 1, 60'000, o.problems);
  o.buffer_bytes = size_t{number("GPUTRACE_CUPTI_BUFFER_KB", 1024, 64, 64 * 1024, o.problems)} * 1024;
  o.api = flag("GPUTRACE_CUPTI_API", o.problems);
  o.memory = flag("GPUTRACE_CUPTI_MEMORY", o.problems);
  return o;
}

}  // namespace gputrace::cupti
