// LibraryControl: gputrace's end of the injection library's control socket (bpf/gpu_attach.h),
// an abstract AF_UNIX socket in the process's network namespace, reached from there (setns on
// a short-lived thread) when the process has a network namespace of its own. Holding one that
// asked for a lease keeps the library attached; closing it (exiting, however) lets it go.
#pragma once

#include "userspace/util/fd.h"
#include "userspace/util/result.h"

extern "C" {
#include "bpf/gpu_attach.h"
}

#include <sys/types.h>

#include <chrono>
#include <string>

namespace gputrace::attach {

class LibraryControl {
 public:
  static Result<LibraryControl> connect(pid_t pid, const std::string& name);

  // Sends one request and waits for its answer.
  Result<gt_attach_reply> request(uint16_t op, uint32_t flags,
                                  std::chrono::milliseconds limit = std::chrono::milliseconds(3000));
  // Whether the library has closed the connection (it does once a detach is complete),
  // waiting up to `limit`.
  bool closed(std::chrono::milliseconds limit);
  int fd() const { return fd_.get(); }

 private:
  explicit LibraryControl(Fd fd) : fd_(std::move(fd)) {}
  Fd fd_;
};

// The library's state in words: "tracing (2 tracers hold it)", "CUPTI is held by Nsight Systems".
std::string describe_reply(const gt_attach_reply& r);

}  // namespace gputrace::attach
