#include "cupti/library_state.h"

#include <cstdio>
#include <cstring>

// Read by tracers from the process's memory (bpf/gpu_attach.h), never by the library itself.
extern "C" __attribute__((visibility("default"))) volatile gt_attach_info gputrace_cupti_attach_info = {
    GT_ATTACH_MAGIC, GT_ATTACH_ABI, GT_ATTACH_MODE_INERT, 0, 0, {}, 0};

namespace gputrace::cupti {
namespace {
std::atomic<LibraryState*> g_state{nullptr};
std::once_flag g_created;
}  // namespace

LibraryState& library() {
  std::call_once(g_created, [] {
    g_state.store(new LibraryState(), std::memory_order_release);  // never freed: see above
    pthread_atfork(nullptr, nullptr, [] {
      // In the child: no CUPTI, no worker, no control socket of its own.
      if (LibraryState* s = g_state.load(std::memory_order_acquire)) {
        s->transport.forget_connection_after_fork();
        s->worker.forget_after_fork();
        gputrace_cupti_attach_info.mode = GT_ATTACH_MODE_INERT;
      }
    });
  });
  return *g_state.load(std::memory_order_acquire);
}

LibraryState* library_if_created() { return g_state.load(std::memory_order_acquire); }

void say(const std::string& line) { std::fprintf(stderr, "gputrace-cupti[%d]: %s\n", getpid(), line.c_str()); }

void publish_mode(gt_attach_mode mode, const std::string& control) {
  auto* info = const_cast<gt_attach_info*>(&gputrace_cupti_attach_info);
  // The name first, then the mode that makes a tracer read it.
  std::memset(info->control, 0, sizeof(info->control));
  std::memcpy(info->control, control.data(), std::min(control.size(), sizeof(info->control) - 1));
  __atomic_store_n(&info->mode, static_cast<uint16_t>(mode), __ATOMIC_RELEASE);
}

void publish_region(uint64_t region, uint64_t size) {
  gputrace_cupti_attach_info.region = region;
  gputrace_cupti_attach_info.region_size = size;
}

}  // namespace gputrace::cupti
