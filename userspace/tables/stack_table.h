// StackTable: kernel stacks by the id DMA events carry, symbolized by the recording host.
// A stack id may be reused by a later GT_EV_STACK; mappings keep the internal index of the
// stack they were made with, so their evidence never changes after the fact.
#pragma once

#include "userspace/decode/record.h"

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gputrace {

struct StackFrame {
  uint64_t ip = 0;
  uint32_t offset = 0;
  std::string symbol;  // "?" when the recorder could not name it
};

struct Stack {
  std::vector<StackFrame> frames;
  // Passes through a driver probe or module init path: mappings made here belong to the
  // driver being bound, not to the process that happened to run insmod/modprobe.
  bool driver_owned_path = false;
};

class StackTable {
 public:
  enum class AddResult { Added, Invalid, Full };

  explicit StackTable(size_t max_stacks = 1 << 16) : max_stacks_(max_stacks) {}

  // Validates nr_frames and names_len against the record size before reading anything.
  AddResult on_stack(const Record& record);

  // Internal index for a wire stack id, -1 when unknown or not captured.
  int32_t resolve(int32_t stack_id) const;
  const Stack* at(int32_t index) const;
  // "symbol+0xoff" per frame, innermost first; empty for index -1.
  std::vector<std::string> format(int32_t index) const;

 private:
  size_t max_stacks_;
  std::vector<Stack> stacks_;
  std::unordered_map<int32_t, int32_t> by_id_;
};

// True for kernel functions whose mappings belong to a driver rather than to the process in
// whose context they ran: driver probe, module init, and DMA pool growth.
bool is_driver_owned_frame(std::string_view symbol);

}  // namespace gputrace
