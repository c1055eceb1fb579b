#include "userspace/attach/attach_service.h"

#include "userspace/attach/proc_facts.h"
#include "userspace/attach/target_library.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <cstring>

namespace gputrace::attach {
namespace {

Result<void> refuse_state(pid_t pid, gt_gpu_state state, const std::string& holder, int cupti_result,
                          const std::string& message) {
  if (state == GT_GPU_STATE_OTHER_SUBSCRIBER)
    return fail("CUPTI in process {} is already in use by {}: gputrace stepped aside and traces nothing there (stop "
                "that profiler to let gputrace trace); the library stays loaded but idle",
                pid, holder.empty() ? "another tool" : holder);
  if (state != GT_GPU_STATE_ACTIVE)
    return fail("the library in process {} cannot trace: {} (CUPTI result {})", pid, message, cupti_result);
  return {};
}

}  // namespace

std::string library_options(const std::string& socket_path, bool api, bool memory) {
  std::string o = fmt::format("GPUTRACE_CUPTI_SOCKET={}\n", socket_path);
  if (api) o += "GPUTRACE_CUPTI_API=1\n";
  if (memory) o += "GPUTRACE_CUPTI_MEMORY=1\n";
  // The guards' settings come from the environment of gputrace itself, as named for the library.
  for (const char* name : {"GPUTRACE_CUPTI_FLUSH_MS", "GPUTRACE_CUPTI_BUFFER_KB", "GPUTRACE_CUPTI_MAX_RECORDS_PER_S",
                           "GPUTRACE_CUPTI_MAX_THREAD_RECORDS_PER_S", "GPUTRACE_CUPTI_MAX_BUFFERS",
                           "GPUTRACE_CUPTI_DEVICE_BUFFERS", "GPUTRACE_CUPTI_OVERHEAD", "GPUTRACE_CUPTI_GRAPHS",
                           "GPUTRACE_CUPTI_MAX_SKEW_MS"})
    if (const char* v = std::getenv(name)) o += fmt::format("{}={}\n", name, v);
  return o;
}

Result<AttachLease> attach_gpu(pid_t pid, const AttachSettings& settings) {
  // Twice at most: a library found attached may be detaching that very moment.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto in = bring_in_library(pid, settings);
    if (!in) return tl::unexpected(in.error());
    if (auto r = refuse_state(pid, in->state, in->holder, in->cupti_result, in->message); !r)
      return tl::unexpected(r.error());
    AttachLease lease;
    lease.pid = pid;
    lease.injection = *in;
    if (in->control.empty()) return lease;  // traced since it started
    auto control = LibraryControl::connect(pid, in->control);
    if (!control) {
      if (!in->started_now && attempt == 0) continue;
      return tl::unexpected(control.error());
    }
    auto reply = control->request(GT_ATTACH_HELLO, GT_ATTACH_LEASE | GT_ATTACH_REANNOUNCE);
    if (!reply) {
      if (!in->started_now && attempt == 0) continue;
      return tl::unexpected(reply.error());
    }
    lease.status = *reply;
    lease.control.emplace(std::move(*control));
    return lease;
  }
  return fail("the library in process {} kept detaching while gputrace attached: try again", pid);
}

gt_attach_mode library_mode(pid_t pid, const std::string& library) {
  auto maps = read_maps(pid);
  if (!maps) return GT_ATTACH_MODE_INERT;
  auto loaded = find_loaded_library(pid, *maps, library);
  if (!loaded || !*loaded) return GT_ATTACH_MODE_INERT;
  return static_cast<gt_attach_mode>((*loaded)->info.mode);
}

std::string copy_probe_path(pid_t pid, const std::string& library) {
  auto maps = read_maps(pid);
  if (!maps) return {};
  auto loaded = find_loaded_library(pid, *maps, library);
  if (!loaded || !*loaded) return {};
  struct stat ours {}, theirs {};
  const std::string theirs_path = (*loaded)->mapping.map_file(pid);
  if (::stat(library.c_str(), &ours) != 0 || ::stat(theirs_path.c_str(), &theirs) != 0) return {};
  if (ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino) return {};
  return theirs_path;
}

Result<std::string> detach_gpu(pid_t pid, const std::string& library, std::chrono::milliseconds wait) {
  auto maps = read_maps(pid);
  if (!maps) {
    if (maps.error().errnum == ENOENT || maps.error().errnum == ESRCH) return fail("there is no process {}", pid);
    return tl::unexpected(maps.error());
  }
  auto loaded = find_loaded_library(pid, *maps, library);
  if (!loaded) return tl::unexpected(loaded.error());
  if (!*loaded) return fail("process {} has no libgputrace_cupti.so loaded: nothing to detach", pid);
  const LoadedLibrary& lib = **loaded;
  if (!lib.same_build) return fail("process {} has another build of libgputrace_cupti.so loaded ({})", pid, lib.mapping.path);
  if (lib.info.mode == GT_ATTACH_MODE_STARTUP)
    return fail("process {} is traced since it started (CUDA_INJECTION64_PATH), not attached: it cannot be detached; "
                "restart it without that variable to stop tracing it",
                pid);
  if (lib.info.mode != GT_ATTACH_MODE_ATTACHED) return std::string("not attached (the library is loaded but idle)");
  auto control = LibraryControl::connect(pid, std::string(lib.info.control, strnlen(lib.info.control, sizeof(lib.info.control))));
  if (!control) return tl::unexpected(control.error());
  auto reply = control->request(GT_ATTACH_DETACH, 0);
  if (!reply) return tl::unexpected(reply.error());
  if (!control->closed(wait))
    return fail("the library in process {} did not finish detaching within {} ms", pid, wait.count());
  return std::string("detached: the library flushed, disabled its activity kinds, gave CUPTI back and stopped its "
                     "thread (it stays loaded, idle)");
}

}  // namespace gputrace::attach
