#include "userspace/model/timeline.h"

namespace gputrace {

const char* slice_arg_name(SliceArg arg) {
  switch (arg) {
    case SliceArg::None: return "";
    case SliceArg::Generation: return "generation";
    case SliceArg::Collected: return "collected";
    case SliceArg::Tid: return "tid";
    case SliceArg::Grid: return "grid";
    case SliceArg::Block: return "block";
    case SliceArg::Bytes: return "bytes";
    case SliceArg::Pid: return "pid";
  }
  return "";
}

void SliceArgs::set(SliceArg key, int64_t value) {
  for (size_t i = 0; i < kMax; ++i)
    if (keys[i] == key || keys[i] == SliceArg::None) {
      keys[i] = key;
      values[i] = value;
      return;
    }
}

uint64_t Timeline::dropped_total() const {
  uint64_t n = refused;
  for (const auto& t : tracks) n += t.dropped;
  return n;
}

}  // namespace gputrace
