// Options shared by the commands that trace live (record, live): which devices, ring sizes.
#pragma once

#include "userspace/cli/options.h"
#include "userspace/gc/gc_tracer.h"
#include "userspace/loader/kernel_tracer.h"

#include <optional>

namespace gputrace {

void declare_tracing_options(Options& o);
Result<TraceConfig> tracing_config(const Options& o);
// GC pause tracing from --no-gc, --pid, --exe, --runtime (nullopt: --no-gc).
Result<std::optional<gc::GcOptions>> gc_options(const Options& o);
extern const char* const kTracingOptionsHelp;

}  // namespace gputrace
