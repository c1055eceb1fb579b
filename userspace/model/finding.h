// Finding: something gputrace concluded, with the evidence behind it; and the table of
// finding kinds, defined once.
//
// Kinds are stable names; exporters, alert rules and tests key on them. Each has a section
// in docs/findings.md headed "## <name> (<severity>)" (a unit test holds the two together).
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gputrace {

enum class Severity { Info, Warning, Critical };
const char* to_string(Severity s);

// X(name, "severity as docs/findings.md's heading gives it")
#define GT_FINDING_KINDS(X)                                                           \
  X(dma_leak_unbind, "critical")                                                     \
  X(dma_leak_owner_exit, "warning")                                                  \
  X(dma_unmap_unmatched, "critical for a double unmap, warning for a mismatch")      \
  X(dma_mapping_growth, "warning")                                                   \
  X(iommu_fault, "critical")                                                         \
  X(pcie_stall, "warning; critical below 10 % of the reference")                    \
  X(gpu_idle_gc, "warning")                                                         \
  X(gc_pause_long, "warning")                                                       \
  X(gc_share_high, "warning")                                                       \
  X(gc_full_repeated, "warning")

enum class FindingKind : uint8_t {
#define GT_FINDING_ENUMERATOR(NAME, SEVERITY) NAME,
  GT_FINDING_KINDS(GT_FINDING_ENUMERATOR)
#undef GT_FINDING_ENUMERATOR
};

struct FindingKindInfo {
  std::string_view name;
  std::string_view severity;  // as documented
};

inline constexpr std::array kFindingKinds = {
#define GT_FINDING_ROW(NAME, SEVERITY) FindingKindInfo{#NAME, SEVERITY},
    GT_FINDING_KINDS(GT_FINDING_ROW)
#undef GT_FINDING_ROW
};

inline constexpr std::string_view name(FindingKind k) { return kFindingKinds[static_cast<size_t>(k)].name; }

struct Finding {
  FindingKind kind = FindingKind::dma_leak_unbind;
  Severity severity = Severity::Warning;
  uint64_t start_ns = 0;   // CLOCK_MONOTONIC range the finding covers
  uint64_t end_ns = 0;
  uint32_t pid = 0;        // process concerned, 0 if none
  std::string comm;
  std::string device;      // device name (PCI address), empty if none
  std::string message;     // one line a person reads first
  nlohmann::ordered_json evidence = nlohmann::ordered_json::object();  // numbers and events behind it

  std::string_view kind_name() const { return name(kind); }
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
