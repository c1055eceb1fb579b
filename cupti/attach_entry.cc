// gputrace_cupti_attach: the entry point `gputrace attach` calls, on a helper thread it made
// the process start (userspace/attach/), when the library is brought into a process that is
// already running (bpf/gpu_attach.h). It starts tracing as InitializeInjection does, opens
// the control socket, and starts the worker that serves it and detaches when the last
// tracer's lease is gone. Called again on an attached process it changes nothing and answers
// with the control socket (the tracer then asks for names, devices and status again).
//
// Like every entry point: never throws, never exits, never blocks the application.
#include "cupti/cupti_session.h"
#include "cupti/library_state.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <string>

namespace gputrace::cupti {

void register_exit_handler(LibraryState& s);
std::function<void()> periodic_flush(LibraryState& s);

namespace {

// How long a detach already under way may take before an attach gives up waiting for it.
constexpr auto kDetachWait = std::chrono::milliseconds(5000);

void copy_text(char* to, size_t size, const std::string& from) {
  std::memset(to, 0, size);
  std::memcpy(to, from.data(), std::min(from.size(), size - 1));
}

void answer(gt_attach_args& args, gt_gpu_state state, int cupti_result, const std::string& holder,
            const std::string& message, const std::string& control) {
  args.state = state;
  args.cupti_result = cupti_result;
  copy_text(args.holder, sizeof(args.holder), holder);
  copy_text(args.message, sizeof(args.message), message);
  copy_text(args.control, sizeof(args.control), control);
  __atomic_store_n(&args.answered_seq, args.seq, __ATOMIC_RELEASE);
}

// Answers the control socket's requests from the worker thread.
class ControlHandler final : public ControlServer::Handler {
 public:
  explicit ControlHandler(LibraryState& s) : s_(s) {}
  gt_attach_reply status() override {
    gt_attach_reply r{};
    const gt_gpu_status_event st = s_.processor.status_snapshot();
    r.state = static_cast<int32_t>(st.state);
    r.cupti_result = st.cupti_result;
    r.records = st.records;
    std::memcpy(r.holder, st.holder, sizeof(r.holder));
    return r;
  }
  void announce() override {
    s_.processor.announce_again();
    s_.processor.send_status(true);
  }

 private:
  LibraryState& s_;
};

// The worker's detach: CUPTI given back, the library inert but mapped.
void detach(LibraryState& s) {
  std::lock_guard lock(s.lifecycle_mu);
  if (s.mode != GT_ATTACH_MODE_ATTACHED) return;
  stop_tracing(s);
  s.mode = GT_ATTACH_MODE_INERT;
  publish_mode(GT_ATTACH_MODE_INERT);
}

int attach(gt_attach_args& args) {
  LibraryState& s = library();
  if (in_forked_child(s)) {
    answer(args, GT_GPU_STATE_CUPTI_FAILED, 0, "", "a forked child of the process that loaded gputrace", "");
    return 1;
  }
  publish_region(args.region, args.region_size);
  // A detach may be finishing on the worker (the last lease just closed): let it end first.
  if (s.worker.ending()) s.worker.wait_ended(kDetachWait);
  std::lock_guard lock(s.lifecycle_mu);
  if (s.mode == GT_ATTACH_MODE_STARTUP) {
    answer(args, GT_GPU_STATE_ACTIVE, 0, "",
           "traced since it started (CUDA_INJECTION64_PATH): it announces itself to every new tracer", "");
    return 0;
  }
  if (s.worker.running()) {
    if (s.worker.ending()) {
      answer(args, GT_GPU_STATE_CUPTI_FAILED, 0, "", "a detach is still under way: try again", "");
      return 1;
    }
    answer(args, GT_GPU_STATE_ACTIVE, 0, "", "already attached", s.worker.control_name());
    return 0;
  }
  Options options = Options::from_text(std::string_view(args.options, strnlen(args.options, sizeof(args.options))));
  s.transport.set_socket_path(options.socket_path);
  s.options = std::move(options);
  const StartOutcome started = start_tracing(s, true);
  if (started.state != GT_GPU_STATE_ACTIVE) {
    answer(args, started.state, started.result, started.holder, started.message, "");
    return 1;
  }
  std::string error;
  static ControlHandler handler(s);
  if (!s.worker.open_control(error) ||
      !s.worker.start({periodic_flush(s), &handler, [&s] { detach(s); }}, s.options.flush_ms,
                      std::chrono::milliseconds(args.lease_grace_ms))) {
    stop_tracing(s);
    answer(args, GT_GPU_STATE_CUPTI_FAILED, 0, "", error.empty() ? "cannot start the library's thread" : error, "");
    return 1;
  }
  s.mode = GT_ATTACH_MODE_ATTACHED;
  publish_mode(GT_ATTACH_MODE_ATTACHED, s.worker.control_name());
  register_exit_handler(s);
  answer(args, GT_GPU_STATE_ACTIVE, 0, "", "attached", s.worker.control_name());
  return 0;
}

}  // namespace
}  // namespace gputrace::cupti

// bpf/gpu_attach.h. Returns 0 when the library traces (or already did), 1 when it does not:
// args says why.
extern "C" __attribute__((visibility("default"))) int gputrace_cupti_attach(gt_attach_args* args) {
  if (args == nullptr || args->magic != GT_ATTACH_MAGIC || args->abi != GT_ATTACH_ABI ||
      args->size != sizeof(gt_attach_args))
    return 2;
  try {
    return gputrace::cupti::attach(*args);
  } catch (...) {
    return 1;  // never break the application
  }
}
