#include "userspace/loader/flavour_choice.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

namespace gputrace {
namespace {

std::optional<std::string> first_tracepoint(const HookSpec& hook, const Features& f) {
  for (auto tp : hook.tracepoints)
    if (f.has_tracepoint(tp)) return std::string(tp);
  return std::nullopt;
}

std::optional<std::string> first_function(const HookSpec& hook, const Features& f) {
  for (auto fn : hook.functions)
    if (f.has_function(fn)) return std::string(fn);
  return std::nullopt;
}

// The target for one flavour, or the reason it is not offered.
std::optional<std::string> target_for(const HookSpec& hook, Flavour flavour, const Features& f, std::string& why) {
  switch (flavour) {
    case Flavour::TpBtf:
    case Flavour::RawTp:
      if (auto tp = first_tracepoint(hook, f)) return tp;
      why = fmt::format("no tracepoint {} on this kernel", fmt::join(hook.tracepoints, " or "));
      return std::nullopt;
    case Flavour::Fentry:
      if (!f.trampolines()) {
        why = f.trampolines_reason();
        return std::nullopt;
      }
      [[fallthrough]];
    case Flavour::Kprobe:
      if (flavour == Flavour::Kprobe && !f.kprobes()) {
        why = f.kprobes_reason();
        return std::nullopt;
      }
      if (auto fn = first_function(hook, f)) return fn;
      why = fmt::format("kernel function {} not found (absent or inlined on this kernel)",
                        fmt::join(hook.functions, " / "));
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::vector<FlavourOption> offered_flavours(const HookSpec& hook, const Features& features,
                                            std::optional<Flavour> prefer, std::vector<std::string>& notes) {
  std::vector<const FlavourPrograms*> order;
  for (const auto& fp : hook.flavours) order.push_back(&fp);
  if (prefer)
    std::stable_partition(order.begin(), order.end(), [&](const FlavourPrograms* p) { return p->flavour == *prefer; });
  std::vector<FlavourOption> out;
  for (const FlavourPrograms* fp : order) {
    std::string why;
    if (auto target = target_for(hook, fp->flavour, features, why))
      out.push_back({fp, *target});
    else
      notes.push_back(fmt::format("{}: {}", to_string(fp->flavour), why));
  }
  return out;
}

}  // namespace gputrace
