// attach_gpu / detach_gpu: what `gputrace attach`, `detach`, `record --pid` and `top --pid`
// do to a running process's GPU tracing. attach_gpu brings the injection library in (or
// finds it) and takes a lease on it: the library traces while the returned AttachLease lives
// and stops, flushing and giving CUPTI back, when the last lease is gone.
#pragma once

#include "userspace/attach/injector.h"
#include "userspace/attach/library_control.h"

#include <optional>

namespace gputrace::attach {

struct AttachLease {
  pid_t pid = 0;
  Injection injection;
  std::optional<LibraryControl> control;  // none: traced since it started, no lease needed
  gt_attach_reply status{};
};

// Refuses (with the reason) when the library is there but cannot trace: CUPTI held by
// another tool (named), or a CUPTI call failed.
Result<AttachLease> attach_gpu(pid_t pid, const AttachSettings& settings);

// Makes the library in `pid` detach now, whoever holds leases. Returns what it says after.
Result<std::string> detach_gpu(pid_t pid, const std::string& library, std::chrono::milliseconds wait);

// The library's mode in `pid` now (INERT when it is not loaded or cannot be read).
gt_attach_mode library_mode(pid_t pid, const std::string& library);

// The file a GPU probe must attach to for `pid`'s library when it is a copy (a memfd in
// another mount namespace) that a probe on gputrace's own file does not reach; "" otherwise.
std::string copy_probe_path(pid_t pid, const std::string& library);

// The library's settings from gputrace's own options, as "NAME=VALUE\n" lines.
std::string library_options(const std::string& socket_path, bool api, bool memory);

}  // namespace gputrace::attach
