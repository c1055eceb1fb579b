#include "userspace/util/capabilities.h"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace gputrace {
namespace {

struct CapabilitySets {
  __u32 effective[2] = {0, 0};
};

CapabilitySets read_capabilities() {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  CapabilitySets sets;
  if (syscall(SYS_capget, &header, data) == 0) {
    sets.effective[0] = data[0].effective;
    sets.effective[1] = data[1].effective;
  }
  return sets;
}

}  // namespace

std::string capability_name(Capability c) {
  switch (c) {
    case Capability::DacReadSearch: return "CAP_DAC_READ_SEARCH";
    case Capability::SysPtrace: return "CAP_SYS_PTRACE";
    case Capability::SysAdmin: return "CAP_SYS_ADMIN";
    case Capability::Syslog: return "CAP_SYSLOG";
    case Capability::Perfmon: return "CAP_PERFMON";
    case Capability::Bpf: return "CAP_BPF";
  }
  return fmt::format("capability {}", static_cast<int>(c));
}

bool has_effective_capability(Capability c) {
  const int n = static_cast<int>(c);
  const CapabilitySets s = read_capabilities();
  return (s.effective[n / 32] >> (n % 32)) & 1u;
}

Result<void> require_tracing_capabilities(const std::string& what_else) {
  if (has_effective_capability(Capability::SysAdmin)) return {};
  std::vector<std::string> missing;
  for (Capability c : {Capability::Bpf, Capability::Perfmon})
    if (!has_effective_capability(c)) missing.push_back(capability_name(c));
  if (missing.empty()) return {};
  return fail("gputrace loads and attaches BPF programs: it needs CAP_BPF and CAP_PERFMON, and this process lacks {}. "
              "Run it as root (sudo), as the gputrace service (systemctl start gputrace), or {}",
              fmt::join(missing, " and "), what_else);
}

std::vector<std::string> missing_optional_capabilities() {
  struct Need {
    Capability cap;
    const char* without;
  };
  static const Need kNeeds[] = {
      {Capability::SysPtrace, "the executables and mappings of other users' processes (/proc/PID/exe, maps, root) "
                              "cannot be read: their GC pauses are not traced"},
      {Capability::DacReadSearch, "binaries in other users' private directories (a home directory, a container's "
                                  "app directory) cannot be read: no GC probes in them"},
      {Capability::Syslog, "/proc/kallsyms shows no addresses: kernel stack frames of mapping sites stay unnamed"},
  };
  std::vector<std::string> out;
  for (const Need& n : kNeeds)
    if (!has_effective_capability(n.cap)) out.push_back(fmt::format("without {}, {}", capability_name(n.cap), n.without));
  return out;
}

}  // namespace gputrace
