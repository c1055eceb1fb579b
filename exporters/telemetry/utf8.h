// Text from traced processes (comm, container ids, messages) is bytes, not UTF-8: a comm can be
// any 15 bytes. Both wire formats require valid UTF-8 — one bad label value makes Prometheus
// reject the whole scrape — so every string from the snapshot passes through here.
#pragma once

#include <string>
#include <string_view>

namespace gputrace::telemetry {

// s with every invalid or overlong UTF-8 sequence replaced by U+FFFD.
std::string valid_utf8(std::string_view s);

}  // namespace gputrace::telemetry
