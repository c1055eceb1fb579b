// The hook table: every kernel hook gputrace uses, with its attach flavours in order of
// preference and the BPF programs that implement each flavour.
#pragma once

#include <span>
#include <string_view>
#include <vector>

namespace gputrace {

enum class Flavour { TpBtf, RawTp, Fentry, Kprobe };
std::string_view to_string(Flavour f);

struct FlavourPrograms {
  Flavour flavour;
  std::vector<std::string_view> programs;  // entry program first; fexit/kretprobe second
};

struct HookSpec {
  std::string_view id;       // stable name: "dma_map_page", shown by doctor
  std::string_view object;   // BPF object (bpf/<object>.bpf.c)
  std::string_view concern;  // what the user gets from it
  std::vector<std::string_view> tracepoints;  // candidate tracepoint names, newest first
  std::vector<std::string_view> functions;    // candidate kernel functions, newest first
  std::vector<FlavourPrograms> flavours;      // in order of preference
};

std::span<const HookSpec> all_hooks();

}  // namespace gputrace
