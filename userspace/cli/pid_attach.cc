#include "userspace/cli/pid_attach.h"

#include "userspace/attach/proc_facts.h"
#include "userspace/cli/options.h"
#include "userspace/gpu/injection_env.h"
#include "userspace/util/log.h"

#include <cstdio>
#include <cstdlib>

namespace gputrace {

std::vector<pid_t> pids_option(const Options& o) {
  std::vector<pid_t> pids;
  for (const auto& p : o.all("pid"))  // gc_options refused the malformed ones already
    if (auto pid = parse_pid(p)) pids.push_back(*pid);
  return pids;
}

void GpuAttachments::attach(const std::vector<pid_t>& pids, LiveSource& source, const std::string& socket_path,
                            bool api, bool memory) {
  if (pids.empty()) return;
  auto library = find_injection_library();
  if (!library) {
    log_warning("GPU activity of the --pid processes will not be traced: {}", library.error().describe());
    return;
  }
  library_ = *library;
  attach::AttachSettings settings{*library, attach::library_options(socket_path, api, memory)};
  for (pid_t pid : pids) {
    auto maps = attach::read_maps(pid);
    if (maps && attach::find_library(*maps, "libcuda.so") == nullptr) {
      log_v1("process {} has no CUDA driver loaded: its GPU activity is not traced", pid);
      continue;
    }
    auto lease = attach::attach_gpu(pid, settings);
    if (!lease) {
      log_warning("GPU activity of process {} will not be traced: {}", pid, lease.error().describe());
      continue;
    }
    // A memfd copy in another mount namespace: the probe on gputrace's own file misses it.
    if (const std::string copy = attach::copy_probe_path(pid, library_); !copy.empty()) {
      if (auto added = source.add_gpu_probe(copy, pid); !added)
        log_warning("GPU activity of process {} will not arrive over USDT: {}", pid, added.error().describe());
    }
    std::fprintf(stderr, "gputrace: attached GPU tracing to process %d (%s)\n", pid,
                 lease->injection.started_now ? "library started" : lease->injection.message.c_str());
    leases_.push_back(std::move(*lease));
  }
}

void GpuAttachments::release(LiveSource& source, std::chrono::milliseconds limit) {
  std::vector<pid_t> last_holder;
  for (attach::AttachLease& lease : leases_) {
    if (!lease.control) continue;
    auto reply = lease.control->request(GT_ATTACH_HELLO, 0);  // a look: how many leases are left
    if (reply && reply->leases == 1) last_holder.push_back(lease.pid);
  }
  leases_.clear();  // closes the control connections: the leases end
  const auto end = std::chrono::steady_clock::now() + limit;
  for (pid_t pid : last_holder) {
    while (std::chrono::steady_clock::now() < end && attach::library_mode(pid, library_) == GT_ATTACH_MODE_ATTACHED)
      (void)source.pump(std::chrono::milliseconds(10));
  }
  // What the library sent while detaching is in the rings now: one more read.
  if (!last_holder.empty()) (void)source.pump(std::chrono::milliseconds(50));
}

}  // namespace gputrace
