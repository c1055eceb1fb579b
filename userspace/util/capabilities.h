// Capabilities of this process, for messages that name what is missing. gputrace needs no
// root uid as such, only capabilities: CAP_BPF and CAP_PERFMON to load and attach its
// programs (CAP_SYS_ADMIN stands in for both, and uprobes need it), and for parts of its
// work CAP_SYS_PTRACE, CAP_DAC_READ_SEARCH and CAP_SYSLOG (docs/deploy.md says why each).
#pragma once

#include "userspace/util/result.h"

#include <string>
#include <vector>

namespace gputrace {

// Linux capability numbers (linux/capability.h), named here so that no header of libcap is needed.
enum class Capability : int {
  DacReadSearch = 2,
  SysPtrace = 19,
  SysAdmin = 21,
  Syslog = 34,
  Perfmon = 38,
  Bpf = 39,
};

std::string capability_name(Capability c);  // "CAP_BPF"
bool has_effective_capability(Capability c);

// Ok when BPF programs can be loaded and attached: CAP_BPF and CAP_PERFMON, or CAP_SYS_ADMIN.
// Otherwise an error naming the missing ones and `what_else` (what the user can do instead).
Result<void> require_tracing_capabilities(const std::string& what_else);

// The optional capabilities this process lacks, each with what goes missing without it.
std::vector<std::string> missing_optional_capabilities();

}  // namespace gputrace
