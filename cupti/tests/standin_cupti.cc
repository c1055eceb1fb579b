// A stand-in for libcupti, for tests only: LD_PRELOADed into a test application, it takes the
// place of the cupti* entry points the injection library calls, so that the library's
// orchestration (subscribe, clock, buffer callbacks, the flush thread, the forced flush at
// exit, fork) runs for real on a host with no GPU and no driver, where the real libcupti
// refuses to subscribe. It is a test double for an external vendor library, never shipped.
// cuptiActivityGetNextRecord and cuptiGetResultString are not replaced: the real libcupti
// walks the buffers this stand-in fills.
//
// Behaviour, from the environment:
//   GPUTRACE_STANDIN_SUBSCRIBE=N     cuptiSubscribe_v2's result (default 0)
//   GPUTRACE_STANDIN_HOLDER=NAME     the other subscriber's name it reports with 39
//   GPUTRACE_STANDIN_REGISTER=N      cuptiActivityRegisterCallbacks's result (default 0)
//   GPUTRACE_STANDIN_VERSION=N       cuptiGetVersion's answer (default CUPTI_API_VERSION)
//   GPUTRACE_STANDIN_ENABLE_FAIL=K,… the activity kinds cuptiActivityEnable refuses
// Every call is logged on stderr as "standin-cupti[PID]: call(args)", for the tests to check
// what was called, in which order, and by which process.
//
// gputrace_standin_cupti_complete_kernels(n) is the application's "GPU work": n kernels that
// CUPTI would report, handed to the library's buffer callbacks at the next cuptiActivityFlushAll
// (which is when real CUPTI hands over buffers that are not full).
#include "latest_records.h"

#include <cupti.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace {

std::mutex g_mu;
CUpti_BuffersCallbackRequestFunc g_requested = nullptr;
CUpti_BuffersCallbackCompleteFunc g_completed = nullptr;
CUpti_TimestampCallbackFunc g_timestamp = nullptr;
uint32_t g_pending_kernels = 0;
uint32_t g_next_correlation = 1;

void log_call(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void log_call(const char* fmt, ...) {
  char line[256];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "standin-cupti[%d]: %s\n", ::getpid(), line);
}

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : fallback;
}

uint64_t now_ns() {
  if (g_timestamp) return g_timestamp();
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);  // CUPTI's own clock is realtime-based
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void gputrace_standin_cupti_complete_kernels(uint32_t n) {
  std::lock_guard lock(g_mu);
  g_pending_kernels += n;
}

CUptiResult CUPTIAPI cuptiGetVersion(uint32_t* version) {
  *version = static_cast<uint32_t>(env_int("GPUTRACE_STANDIN_VERSION", CUPTI_API_VERSION));
  log_call("cuptiGetVersion() = %u", *version);
  return CUPTI_SUCCESS;
}

// Both entry points, as the library calls whichever its headers declare.
CUptiResult CUPTIAPI cuptiSubscribe(CUpti_SubscriberHandle* subscriber, CUpti_CallbackFunc, void*) {
  const int r = env_int("GPUTRACE_STANDIN_SUBSCRIBE", CUPTI_SUCCESS);
  log_call("cuptiSubscribe() = %d", r);
  *subscriber = r == CUPTI_SUCCESS ? reinterpret_cast<CUpti_SubscriberHandle>(0x5eed) : nullptr;
  return static_cast<CUptiResult>(r);
}

#ifdef CUpti_SubscriberParams_STRUCT_SIZE
CUptiResult CUPTIAPI cuptiSubscribe_v2(CUpti_SubscriberHandle* subscriber, CUpti_CallbackFunc, void*,
                                       CUpti_SubscriberParams* params) {
  const int r = env_int("GPUTRACE_STANDIN_SUBSCRIBE", CUPTI_SUCCESS);
  log_call("cuptiSubscribe_v2(%s) = %d", params && params->subscriberName ? params->subscriberName : "", r);
  if (r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED && params && params->oldSubscriberName) {
    const char* holder = std::getenv("GPUTRACE_STANDIN_HOLDER");
    std::snprintf(params->oldSubscriberName, params->oldSubscriberSize, "%s", holder ? holder : "");
  }
  *subscriber = r == CUPTI_SUCCESS ? reinterpret_cast<CUpti_SubscriberHandle>(0x5eed) : nullptr;
  return static_cast<CUptiResult>(r);
}
#endif

CUptiResult CUPTIAPI cuptiUnsubscribe(CUpti_SubscriberHandle) {
  log_call("cuptiUnsubscribe()");
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityRegisterTimestampCallback(CUpti_TimestampCallbackFunc f) {
  log_call("cuptiActivityRegisterTimestampCallback()");
  std::lock_guard lock(g_mu);
  g_timestamp = f;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiGetTimestamp(uint64_t* ts) {
  *ts = now_ns();
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityRegisterCallbacks(CUpti_BuffersCallbackRequestFunc requested,
                                                    CUpti_BuffersCallbackCompleteFunc completed) {
  const int r = env_int("GPUTRACE_STANDIN_REGISTER", CUPTI_SUCCESS);
  log_call("cuptiActivityRegisterCallbacks() = %d", r);
  if (r == CUPTI_SUCCESS) {
    std::lock_guard lock(g_mu);
    g_requested = requested;
    g_completed = completed;
  }
  return static_cast<CUptiResult>(r);
}

CUptiResult CUPTIAPI cuptiSetThreadIdType(CUpti_ActivityThreadIdType type) {
  log_call("cuptiSetThreadIdType(%d)", static_cast<int>(type));
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityEnable(CUpti_ActivityKind kind) {
  log_call("cuptiActivityEnable(%d)", static_cast<int>(kind));
  const std::string refused = "," + std::string(std::getenv("GPUTRACE_STANDIN_ENABLE_FAIL") ?: "") + ",";
  if (refused.find("," + std::to_string(static_cast<int>(kind)) + ",") != std::string::npos)
    return CUPTI_ERROR_NOT_COMPATIBLE;
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityDisable(CUpti_ActivityKind kind) {
  log_call("cuptiActivityDisable(%d)", static_cast<int>(kind));
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiEnableCallback(uint32_t enable, CUpti_SubscriberHandle, CUpti_CallbackDomain domain,
                                         CUpti_CallbackId cbid) {
  log_call("cuptiEnableCallback(%u, %d, %u)", enable, static_cast<int>(domain), cbid);
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityGetNumDroppedRecords(CUcontext, uint32_t, size_t* dropped) {
  *dropped = 0;
  return CUPTI_SUCCESS;
}

// Hands the pending kernels over the way CUPTI does: a buffer from the library's request
// callback, filled with records, returned through its completion callback on this thread.
CUptiResult CUPTIAPI cuptiActivityFlushAll(uint32_t flag) {
  std::unique_lock lock(g_mu);
  const uint32_t kernels = g_pending_kernels;
  log_call("cuptiActivityFlushAll(%u) delivers %u", flag, kernels);
  if (kernels == 0 || g_requested == nullptr || g_completed == nullptr) return CUPTI_SUCCESS;
  g_pending_kernels = 0;
  uint8_t* buffer = nullptr;
  size_t size = 0, max_records = 0;
  g_requested(&buffer, &size, &max_records);
  using Kernel = gputrace::cupti::testing::LatestKernel;
  const size_t stride = (sizeof(Kernel) + 7) & ~size_t{7};
  size_t valid = 0;
  for (uint32_t i = 0; i < kernels && buffer && valid + stride <= size; ++i, valid += stride) {
    auto* k = reinterpret_cast<Kernel*>(buffer + valid);
    std::memset(k, 0, stride);
    k->kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
    k->end = now_ns();
    k->start = k->end - 1000;
    k->correlationId = g_next_correlation++;
    k->gridX = k->gridY = k->gridZ = 1;
    k->blockX = 128, k->blockY = k->blockZ = 1;
    k->name = "_Z14standin_kernelv";
  }
  auto completed = g_completed;
  lock.unlock();  // CUPTI calls back without its own locks held
  completed(nullptr, 0, buffer, size, valid);
  return CUPTI_SUCCESS;
}

}  // extern "C"
