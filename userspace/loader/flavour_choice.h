// Which attach flavours of a hook this kernel offers, and why the others are not offered.
#pragma once

#include "userspace/loader/features.h"
#include "userspace/loader/hooks.h"

#include <optional>
#include <string>
#include <vector>

namespace gputrace {

struct FlavourOption {
  const FlavourPrograms* programs = nullptr;
  std::string target;  // tracepoint or function name to attach to
};

// Options in order of preference (a `prefer`red flavour first); each refused flavour adds a
// note saying why, e.g. "fentry: this kernel refuses BPF trampolines ...".
std::vector<FlavourOption> offered_flavours(const HookSpec& hook, const Features& features,
                                            std::optional<Flavour> prefer, std::vector<std::string>& notes);

}  // namespace gputrace
