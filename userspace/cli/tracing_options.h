// Options shared by the commands that trace live (record, live): which devices, ring sizes.
#pragma once

#include "cli/options.h"
#include "loader/kernel_tracer.h"

namespace gputrace {

void declare_tracing_options(Options& o);
Result<TraceConfig> tracing_config(const Options& o);
extern const char* const kTracingOptionsHelp;

}  // namespace gputrace
