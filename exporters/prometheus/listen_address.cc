// --listen's syntax, shared by the server and the builds without one.
#include "exporters/prometheus/http_server.h"

namespace gputrace::prometheus {

Result<std::pair<std::string, uint16_t>> split_listen_address(const std::string& listen) {
  std::string host, port;
  if (!listen.empty() && listen[0] == '[') {
    const size_t close = listen.find(']');
    if (close == std::string::npos || close + 1 >= listen.size() || listen[close + 1] != ':')
      return fail("--listen {}: write an IPv6 address as [ADDR]:PORT", listen);
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return fail("--listen {}: expected HOST:PORT, e.g. 127.0.0.1:9478", listen);
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoul(port) > 65535)
    return fail("--listen {}: the port must be a number from 0 to 65535", listen);
  return std::pair(host, static_cast<uint16_t>(std::stoul(port)));
}

}  // namespace gputrace::prometheus
