// Facts about this host for a new capture's header.
#pragma once

#include "userspace/capture/capture.h"

namespace gputrace {

// Hostname, kernel release, boot id, gputrace version, and a CLOCK_MONOTONIC /
// CLOCK_REALTIME pair read as close together as this host allows. Facts that cannot be read
// (no /proc in a minimal container) are left empty: a capture is still useful without them.
CaptureHostInfo current_host_info();

}  // namespace gputrace
