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
//   GPUTRACE_STANDIN_HOLD_BUFFERS=N  asks for N buffers at the first flush and keeps them until a
//                                    forced flush, as CUPTI keeps buffers per context and stream
// Every call is logged on stderr as "standin-cupti[PID]: call(args)", for the tests to check
// what was called, in which order, and by which process.
//
// The application's "GPU work", handed to the library's buffer callbacks at the next
// cuptiActivityFlushAll (which is when real CUPTI hands over buffers that are not full), in as
// many buffers as it takes; records for which the library gave no buffer are dropped and
// counted, as CUPTI does (cuptiActivityGetNumDroppedRecords):
//   gputrace_standin_cupti_complete_kernels(n)          n kernels
//   gputrace_standin_cupti_complete_api_calls(n, tid)   n runtime API records of thread tid
//   gputrace_standin_cupti_complete_overheads(n)        n CUPTI OVERHEAD records
//   gputrace_standin_cupti_complete_bad_kernels(f, b)   f kernels ending an hour in the future,
//                                                       then b starting a minute in the past
//   gputrace_standin_cupti_complete_graph(id, nodes)    a CUDA graph launch: one GRAPH_TRACE
//                                                       record when that kind is enabled, else
//                                                       a kernel per node carrying the graph id
#include "latest_records.h"

#include <cupti.h>
#include <time.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace {

std::mutex g_mu;
CUpti_BuffersCallbackRequestFunc g_requested = nullptr;
CUpti_BuffersCallbackCompleteFunc g_completed = nullptr;
CUpti_TimestampCallbackFunc g_timestamp = nullptr;
uint32_t g_next_correlation = 1;
std::set<int> g_enabled;
size_t g_dropped = 0;            // records no buffer was given for, not yet reported
std::vector<uint8_t*> g_held;    // buffers kept as CUPTI keeps them (GPUTRACE_STANDIN_HOLD_BUFFERS)
bool g_held_requested = false;

// One record to hand over at the next flush.
struct Pending {
  enum Kind { Kernel, Api, Overhead, FutureKernel, PastKernel, Graph } kind;
  uint32_t tid = 0;
  uint32_t graph = 0;
};
std::vector<Pending> g_pending;

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
  g_pending.insert(g_pending.end(), n, Pending{Pending::Kernel});
}

__attribute__((visibility("default"))) void gputrace_standin_cupti_complete_api_calls(uint32_t n, uint32_t tid) {
  std::lock_guard lock(g_mu);
  g_pending.insert(g_pending.end(), n, Pending{Pending::Api, tid});
}

__attribute__((visibility("default"))) void gputrace_standin_cupti_complete_overheads(uint32_t n) {
  std::lock_guard lock(g_mu);
  g_pending.insert(g_pending.end(), n, Pending{Pending::Overhead});
}

__attribute__((visibility("default"))) void gputrace_standin_cupti_complete_bad_kernels(uint32_t future, uint32_t past) {
  std::lock_guard lock(g_mu);
  g_pending.push_back(Pending{Pending::Kernel});  // the stream's latest, for the past ones to precede
  g_pending.insert(g_pending.end(), future, Pending{Pending::FutureKernel});
  g_pending.insert(g_pending.end(), past, Pending{Pending::PastKernel});
}

__attribute__((visibility("default"))) void gputrace_standin_cupti_complete_graph(uint32_t graph, uint32_t nodes) {
  std::lock_guard lock(g_mu);
  if (g_enabled.count(CUPTI_ACTIVITY_KIND_GRAPH_TRACE)) {
    g_pending.push_back(Pending{Pending::Graph, 0, graph});
    return;
  }
  g_pending.insert(g_pending.end(), nodes, Pending{Pending::Kernel, 0, graph});
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
  std::lock_guard lock(g_mu);
  g_enabled.insert(static_cast<int>(kind));
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityDisable(CUpti_ActivityKind kind) {
  log_call("cuptiActivityDisable(%d)", static_cast<int>(kind));
  std::lock_guard lock(g_mu);
  g_enabled.erase(static_cast<int>(kind));
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivitySetAttribute(CUpti_ActivityAttribute attr, size_t* size, void* value) {
  if (size && *size == sizeof(size_t) && value)
    log_call("cuptiActivitySetAttribute(%d, %zu)", static_cast<int>(attr), *static_cast<size_t*>(value));
  else
    log_call("cuptiActivitySetAttribute(%d)", static_cast<int>(attr));
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiEnableCallback(uint32_t enable, CUpti_SubscriberHandle, CUpti_CallbackDomain domain,
                                         CUpti_CallbackId cbid) {
  log_call("cuptiEnableCallback(%u, %d, %u)", enable, static_cast<int>(domain), cbid);
  return CUPTI_SUCCESS;
}

CUptiResult CUPTIAPI cuptiActivityGetNumDroppedRecords(CUcontext, uint32_t, size_t* dropped) {
  std::lock_guard lock(g_mu);
  *dropped = g_dropped;
  g_dropped = 0;  // CUPTI reports each drop once
  return CUPTI_SUCCESS;
}

}  // extern "C"

namespace {

size_t record_size(Pending::Kind k) {
  using gputrace::cupti::testing::LatestKernel;
  switch (k) {
    case Pending::Api: return sizeof(CUpti_ActivityAPI);
    case Pending::Overhead: return sizeof(CUpti_ActivityOverhead3);
    case Pending::Graph: return sizeof(CUpti_ActivityGraphTrace2);
    default: return sizeof(LatestKernel);
  }
}

// Writes one record at `at` (zeroed, `stride` bytes); timestamps on the library's clock.
void write_record(uint8_t* at, size_t stride, const Pending& p) {
  std::memset(at, 0, stride);
  const uint64_t now = now_ns();
  switch (p.kind) {
    case Pending::Api: {
      auto* a = reinterpret_cast<CUpti_ActivityAPI*>(at);
      a->kind = CUPTI_ACTIVITY_KIND_RUNTIME;
      a->cbid = 211;  // cudaLaunchKernel's, for instance
      a->end = now;
      a->start = now - 500;
      a->processId = static_cast<uint32_t>(::getpid());
      a->threadId = p.tid;
      a->correlationId = g_next_correlation++;
      return;
    }
    case Pending::Overhead: {
      auto* o = reinterpret_cast<CUpti_ActivityOverhead3*>(at);
      o->kind = CUPTI_ACTIVITY_KIND_OVERHEAD;
      o->overheadKind = CUPTI_ACTIVITY_OVERHEAD_CUPTI_BUFFER_FLUSH;
      o->objectKind = CUPTI_ACTIVITY_OBJECT_THREAD;
      o->objectId.pt.processId = static_cast<uint32_t>(::getpid());
      o->objectId.pt.threadId = static_cast<uint32_t>(::gettid());
      o->end = now;
      o->start = now - 2000;
      o->overheadData = std::malloc(16);  // the client frees it (cupti_activity.h)
      return;
    }
    case Pending::Graph: {
      auto* g = reinterpret_cast<CUpti_ActivityGraphTrace2*>(at);
      g->kind = CUPTI_ACTIVITY_KIND_GRAPH_TRACE;
      g->correlationId = g_next_correlation++;
      g->end = now;
      g->start = now - 50'000;
      g->graphId = p.graph;
      return;
    }
    default: {
      auto* k = reinterpret_cast<gputrace::cupti::testing::LatestKernel*>(at);
      k->kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
      k->end = now;
      if (p.kind == Pending::FutureKernel) k->end = now + 3'600'000'000'000ull;  // an hour ahead
      k->start = p.kind == Pending::PastKernel ? now - 60'000'000'000ull : k->end - 1000;
      if (p.kind == Pending::PastKernel) k->end = k->start + 1000;
      k->correlationId = g_next_correlation++;
      k->graphId = p.graph;
      k->gridX = k->gridY = k->gridZ = 1;
      k->blockX = 128, k->blockY = k->blockZ = 1;
      k->name = "_Z14standin_kernelv";
    }
  }
}

// CUPTI keeps buffers for its contexts and streams: the first flush asks for as many as the
// test says, and keeps them until a forced flush.
void hold_buffers(std::unique_lock<std::mutex>& lock) {
  if (g_held_requested || g_requested == nullptr) return;
  g_held_requested = true;
  const int n = env_int("GPUTRACE_STANDIN_HOLD_BUFFERS", 0);
  auto requested = g_requested;
  lock.unlock();
  std::vector<uint8_t*> got;
  for (int i = 0; i < n; ++i) {
    uint8_t* buffer = nullptr;
    size_t size = 0, max_records = 0;
    requested(&buffer, &size, &max_records);
    if (buffer) got.push_back(buffer);
  }
  lock.lock();
  log_call("held %zu of %d buffers", got.size(), n);
  g_held.insert(g_held.end(), got.begin(), got.end());
}

}  // namespace

extern "C" {

// Hands the pending records over the way CUPTI does: buffers from the library's request
// callback, filled, returned through its completion callback on this thread.
CUptiResult CUPTIAPI cuptiActivityFlushAll(uint32_t flag) {
  std::unique_lock lock(g_mu);
  hold_buffers(lock);
  std::vector<Pending> pending;
  pending.swap(g_pending);
  log_call("cuptiActivityFlushAll(%u) delivers %zu", flag, pending.size());
  auto requested = g_requested;
  auto completed = g_completed;
  std::vector<uint8_t*> held;
  if (flag == CUPTI_ACTIVITY_FLAG_FLUSH_FORCED) held.swap(g_held);
  if (requested == nullptr || completed == nullptr) return CUPTI_SUCCESS;
  size_t next = 0;
  while (next < pending.size()) {
    lock.unlock();  // CUPTI calls back without its own locks held
    uint8_t* buffer = nullptr;
    size_t size = 0, max_records = 0;
    requested(&buffer, &size, &max_records);
    lock.lock();
    if (buffer == nullptr || size == 0) {  // no buffer: CUPTI drops them, and says how many
      g_dropped += pending.size() - next;
      break;
    }
    size_t valid = 0;
    for (; next < pending.size(); ++next) {
      const size_t stride = (record_size(pending[next].kind) + 7) & ~size_t{7};
      if (valid + stride > size) break;
      write_record(buffer + valid, stride, pending[next]);
      valid += stride;
    }
    lock.unlock();
    completed(nullptr, 0, buffer, size, valid);
    lock.lock();
  }
  lock.unlock();
  for (uint8_t* buffer : held) completed(nullptr, 0, buffer, 0, 0);
  return CUPTI_SUCCESS;
}

}  // extern "C"
