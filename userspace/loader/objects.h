// The kernel collectors' BPF objects, by name (bpf/<name>.bpf.c).
#pragma once

#include "userspace/loader/skeleton.h"

#include <string_view>

namespace gputrace {

const SkeletonOps* find_kernel_object(std::string_view name);

}  // namespace gputrace
