// GoPclntab: the Go runtime's own function table (`runtime.pclntab`, Go 1.18+), which every Go
// binary keeps — stripped ones too — because the runtime needs it for stack traces and GC.
// It names every function, gives its entry PC and, through the pcsp table, the stack depth
// at each instruction; gputrace uses that to place uprobes in binaries without `.symtab`.
//
// The parser works on bytes only (no ELF), checks every offset it follows, and never reads
// outside the span it was given: it runs on files of any origin (and under libFuzzer).
#pragma once

#include "userspace/util/result.h"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

namespace gputrace::gc {

// pcHeader.magic: Go 1.18–1.19 and Go 1.20+ (same layout for what is read here).
inline constexpr uint32_t kPclntabMagic118 = 0xfffffff0;
inline constexpr uint32_t kPclntabMagic120 = 0xfffffff1;

struct GoFunction {
  std::string_view name;  // views the table's bytes
  uint64_t entry = 0;     // virtual address of the first instruction
  uint64_t end = 0;       // virtual address past the last instruction (the next function's entry)
  uint32_t pcsp = 0;      // offset of its SP-delta table in pctab
  uint32_t pcln = 0;      // offset of its line-number table in pctab
};

class GoPclntab {
 public:
  // `table` starts at the pcHeader. `text_start` overrides the header's textStart, which a
  // position-independent binary leaves to a load-time relocation (then it reads 0).
  static Result<GoPclntab> parse(std::span<const std::byte> table, std::optional<uint64_t> text_start = {});

  // True when the first bytes look like a pcHeader this parser reads (magic, pads, sizes).
  static bool looks_like_header(std::span<const std::byte> bytes);

  uint64_t text_start() const { return text_start_; }
  uint32_t function_count() const { return nfunc_; }
  uint32_t magic() const { return magic_; }
  // Where the table starts inside `whole`, a span that contains it.
  uint64_t bytes_offset_in(std::span<const std::byte> whole) const {
    return static_cast<uint64_t>(table_.data() - whole.data());
  }

  // The i-th function of the table (0 ≤ i < function_count()); nullopt when its entry is damaged.
  std::optional<GoFunction> function(uint32_t i) const;
  // Looks a function up by its full name ("runtime.gcStart"): one pass over the table.
  std::optional<GoFunction> find(std::string_view name) const;

  // Addresses inside `f` where the stack pointer is back at its entry value after the
  // prologue: where a RET can be (the epilogue), or the stack-split call's setup. The caller
  // checks the instruction byte there. Empty when the pcsp table is damaged.
  std::vector<uint64_t> zero_frame_points(const GoFunction& f) const;
  // Addresses inside `f` where its source line changes: each is the start of an instruction
  // (the linker emits a table entry per instruction boundary only). Empty when damaged.
  std::vector<uint64_t> line_starts(const GoFunction& f) const;

 private:
  struct PcValue {
    uint64_t pc;    // first address with this value
    int64_t value;
  };
  // Go's pcvalue encoding, decoded: the (pc, value) ranges of one table of `f`.
  std::vector<PcValue> pc_values(const GoFunction& f, uint32_t table) const;

  std::span<const std::byte> table_;
  std::span<const std::byte> funcnames_, pctab_, functab_;  // functab_: pclntable (func structs)
  uint64_t text_start_ = 0;
  uint32_t nfunc_ = 0;
  uint32_t magic_ = 0;
};

}  // namespace gputrace::gc
