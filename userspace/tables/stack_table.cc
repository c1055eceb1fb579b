#include "userspace/tables/stack_table.h"

extern "C" {
#include "bpf/host.h"
}

#include <fmt/format.h>

#include <array>
#include <cstring>

namespace gputrace {

bool is_driver_owned_frame(std::string_view symbol) {
  // Compiler clones (".isra.0", ".constprop.0", ".cold") keep the function's identity.
  symbol = symbol.substr(0, symbol.find('.'));
  // Driver binding and module init: what a probe maps belongs to the driver, not to the
  // process that ran insmod/modprobe or triggered the bind.
  // dma_pool_alloc: a pool grows with coherent pages from inside whatever syscall needed a
  // block (6.1's nvme grows its PRP pool in dd's O_DIRECT write); the pool, not the caller,
  // owns them and keeps them until the driver destroys it.
  static constexpr std::array<std::string_view, 14> kDriverFrames = {
      "really_probe",      "driver_probe_device", "__driver_probe_device", "__driver_attach",
      "__device_attach",   "__device_attach_driver", "device_driver_attach", "local_pci_probe",
      "pci_device_probe",  "platform_probe",      "do_init_module",        "do_one_initcall",
      "driver_probe_device_locked", "dma_pool_alloc"};
  for (std::string_view f : kDriverFrames)
    if (symbol == f) return true;
  return false;
}

StackTable::AddResult StackTable::on_stack(const Record& record) {
  if (record.bytes.size() < sizeof(gt_stack_event)) return AddResult::Invalid;
  const auto head = record.as<gt_stack_event>();
  const auto tail = record.tail<gt_stack_event>();
  if (head.nr_frames > GT_MAX_STACK_DEPTH) return AddResult::Invalid;
  const size_t frames_bytes = size_t{head.nr_frames} * sizeof(gt_stack_frame);
  if (frames_bytes + head.names_len > tail.size()) return AddResult::Invalid;
  if (stacks_.size() >= max_stacks_) return AddResult::Full;

  Stack stack;
  const auto names = tail.subspan(frames_bytes, head.names_len);
  size_t name_pos = 0;
  for (uint32_t i = 0; i < head.nr_frames; ++i) {
    gt_stack_frame wire{};
    std::memcpy(&wire, tail.data() + i * sizeof(gt_stack_frame), sizeof(wire));
    StackFrame frame{wire.ip, wire.offset, "?"};
    if (name_pos < names.size()) {
      const char* at = reinterpret_cast<const char*>(names.data()) + name_pos;
      const size_t len = strnlen(at, names.size() - name_pos);
      if (len > 0) frame.symbol.assign(at, len);
      name_pos += len + 1;
    }
    stack.driver_owned_path = stack.driver_owned_path || is_driver_owned_frame(frame.symbol);
    stack.frames.push_back(std::move(frame));
  }
  by_id_[head.stack_id] = static_cast<int32_t>(stacks_.size());
  stacks_.push_back(std::move(stack));
  return AddResult::Added;
}

int32_t StackTable::resolve(int32_t stack_id) const {
  if (stack_id < 0) return -1;
  auto it = by_id_.find(stack_id);
  return it == by_id_.end() ? -1 : it->second;
}

const Stack* StackTable::at(int32_t index) const {
  return index >= 0 && static_cast<size_t>(index) < stacks_.size() ? &stacks_[index] : nullptr;
}

std::vector<std::string> StackTable::format(int32_t index) const {
  std::vector<std::string> out;
  if (const Stack* s = at(index))
    for (const auto& f : s->frames) out.push_back(fmt::format("{}+{:#x}", f.symbol, f.offset));
  return out;
}

}  // namespace gputrace
