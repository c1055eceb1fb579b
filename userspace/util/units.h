// Numbers for people: byte sizes, durations, counts and rates in a few characters, the same
// way in every view (top, the Markdown and HTML reports).
#pragma once

#include <cstdint>
#include <string>

namespace gputrace {

std::string human_bytes(uint64_t bytes);          // "512 B", "4.0 KiB", "1.5 GiB"
std::string human_duration(uint64_t ns);          // "850 ns", "12.3 us", "4.56 ms", "2.50 s"
std::string human_count(double n);                // "950", "12.3k", "4.5M"
std::string human_rate(double per_second);        // "0", "0.5", "12", "1.2k" (no unit)
std::string human_percent(double fraction);       // "0.00%", "2.31%", "100%"

}  // namespace gputrace
