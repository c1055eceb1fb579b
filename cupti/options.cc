#include "options.h"

#include <cstdlib>
#include <cstring>

namespace gputrace::cupti {
namespace {

// Out-of-range values fall back to the default: a typo must not break the application.
unsigned number(const char* name, unsigned fallback, unsigned lo, unsigned hi) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const unsigned long n = std::strtoul(v, &end, 10);
  return (*end == '\0' && n >= lo && n <= hi) ? static_cast<unsigned>(n) : fallback;
}

bool flag(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::strcmp(v, "0") != 0 && *v != '\0';
}

}  // namespace

Options Options::from_environment() {
  Options o;
  if (const char* s = std::getenv("GPUTRACE_CUPTI_SOCKET")) o.socket_path = s;
  o.flush_ms = number("GPUTRACE_CUPTI_FLUSH_MS", o.flush_ms, 1, 60'000);
  o.buffer_bytes = size_t{number("GPUTRACE_CUPTI_BUFFER_KB", 1024, 64, 64 * 1024)} * 1024;
  o.api = flag("GPUTRACE_CUPTI_API");
  o.memory = flag("GPUTRACE_CUPTI_MEMORY");
  return o;
}

}  // namespace gputrace::cupti
