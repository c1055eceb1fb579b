// Finding: something gputrace concluded, with the evidence behind it.
//
// Kinds are stable names (documented in docs/findings.md); exporters and tests key on them.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace gputrace {

enum class Severity { Info, Warning, Critical };
const char* to_string(Severity s);

struct Finding {
  std::string kind;        // e.g. "dma_leak_unbind"
  Severity severity = Severity::Warning;
  uint64_t start_ns = 0;   // CLOCK_MONOTONIC range the finding covers
  uint64_t end_ns = 0;
  uint32_t pid = 0;        // process concerned, 0 if none
  std::string comm;
  std::string device;      // device name (PCI address), empty if none
  std::string message;     // one line a person reads first
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();  // numbers and events behind it
};

// Where analyzers put findings. The engine owns one; sinks read it.
class FindingSink {
 public:
  void add(Finding f) { findings_.push_back(std::move(f)); }
  const std::vector<Finding>& all() const { return findings_; }

 private:
  std::vector<Finding> findings_;
};

}  // namespace gputrace
