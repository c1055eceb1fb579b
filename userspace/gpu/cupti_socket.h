// The daemon's end of the injection library's socket route (docs/cupti.md): the listener at
// GPUTRACE_CUPTI_SOCKET's path, in a directory only root can change, so no local user can
// swap the socket for something else between runs.
#pragma once

#include "userspace/gpu/seqpacket_listener.h"

#include <string>

namespace gputrace {

// Creates path's directory when missing (0755, as /run/gputrace would be), checks that it is
// a real directory that only root can write, and binds the listener there.
Result<SeqpacketListener> serve_cupti_socket(const std::string& path, PeerPolicy policy);

}  // namespace gputrace
