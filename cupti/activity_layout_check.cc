// Compile-time proof that activity_layout.h matches the CUPTI headers this library is built
// against. A CUDA release that moves a field breaks the build here, not the data in the field.
//
// Each record version is checked where the headers define it. CUPTI_API_VERSION is 19..28 for
// CUDA 12.0..12.9 (cupti_version.h: 24 = 12.6, 26 = 12.8) and xxyyzz from CUDA 13.0 (130000).
// Versions older than CUDA 12.0's headers are not supported.
#include "cupti/activity_layout.h"

#include <cupti.h>

#include <cstddef>

static_assert(CUPTI_API_VERSION >= 19, "gputrace needs the CUPTI headers of CUDA 12.0 or newer");

namespace gputrace::cupti {
namespace {

#define GT_AT(T, field, off) static_assert(offsetof(T, field) == (off), #T "::" #field " moved")

#define GT_CHECK_KERNEL(T)                                                                               \
  GT_AT(T, start, kernel_off::start);                                                                    \
  GT_AT(T, end, kernel_off::end);                                                                        \
  GT_AT(T, deviceId, kernel_off::device_id);                                                             \
  GT_AT(T, contextId, kernel_off::context_id);                                                           \
  GT_AT(T, streamId, kernel_off::stream_id);                                                             \
  GT_AT(T, gridX, kernel_off::grid_x);                                                                   \
  GT_AT(T, gridY, kernel_off::grid_y);                                                                   \
  GT_AT(T, gridZ, kernel_off::grid_z);                                                                   \
  GT_AT(T, blockX, kernel_off::block_x);                                                                 \
  GT_AT(T, blockY, kernel_off::block_y);                                                                 \
  GT_AT(T, blockZ, kernel_off::block_z);                                                                 \
  GT_AT(T, correlationId, kernel_off::correlation_id);                                                   \
  GT_AT(T, name, kernel_off::name);                                                                      \
  GT_AT(T, graphId, kernel_off::graph_id);                                                               \
  static_assert(sizeof(T) >= kernel_off::extent, #T " shorter than the fields read")
GT_CHECK_KERNEL(CUpti_ActivityKernel5);
GT_CHECK_KERNEL(CUpti_ActivityKernel6);
GT_CHECK_KERNEL(CUpti_ActivityKernel7);
GT_CHECK_KERNEL(CUpti_ActivityKernel8);
GT_CHECK_KERNEL(CUpti_ActivityKernel9);  // CUDA 12.x (deprecated in 13.0, still declared)
#if CUPTI_API_VERSION >= 130000
GT_CHECK_KERNEL(CUpti_ActivityKernel10);  // CUDA 13.x
#endif

#define GT_CHECK_MEMCPY(T)                                                                               \
  GT_AT(T, copyKind, memcpy_off::copy_kind);                                                             \
  GT_AT(T, srcKind, memcpy_off::src_kind);                                                               \
  GT_AT(T, dstKind, memcpy_off::dst_kind);                                                               \
  GT_AT(T, flags, memcpy_off::flags);                                                                    \
  GT_AT(T, bytes, memcpy_off::bytes);                                                                    \
  GT_AT(T, start, memcpy_off::start);                                                                    \
  GT_AT(T, end, memcpy_off::end);                                                                        \
  GT_AT(T, deviceId, memcpy_off::device_id);                                                             \
  GT_AT(T, contextId, memcpy_off::context_id);                                                           \
  GT_AT(T, streamId, memcpy_off::stream_id);                                                             \
  GT_AT(T, correlationId, memcpy_off::correlation_id);                                                   \
  static_assert(sizeof(T) >= memcpy_off::extent, #T " shorter than the fields read")
GT_CHECK_MEMCPY(CUpti_ActivityMemcpy);
GT_CHECK_MEMCPY(CUpti_ActivityMemcpy3);
GT_CHECK_MEMCPY(CUpti_ActivityMemcpy4);
GT_CHECK_MEMCPY(CUpti_ActivityMemcpy5);  // CUDA 12.0-12.7
#if CUPTI_API_VERSION >= 26
GT_CHECK_MEMCPY(CUpti_ActivityMemcpy6);  // CUDA 12.8+
#endif

#define GT_CHECK_MEMSET(T)                                                                               \
  GT_AT(T, value, memset_off::value);                                                                    \
  GT_AT(T, bytes, memset_off::bytes);                                                                    \
  GT_AT(T, start, memset_off::start);                                                                    \
  GT_AT(T, end, memset_off::end);                                                                        \
  GT_AT(T, deviceId, memset_off::device_id);                                                             \
  GT_AT(T, contextId, memset_off::context_id);                                                           \
  GT_AT(T, streamId, memset_off::stream_id);                                                             \
  GT_AT(T, correlationId, memset_off::correlation_id);                                                   \
  GT_AT(T, flags, memset_off::flags);                                                                    \
  GT_AT(T, memoryKind, memset_off::memory_kind);                                                         \
  static_assert(sizeof(T) >= memset_off::extent, #T " shorter than the fields read")
GT_CHECK_MEMSET(CUpti_ActivityMemset);
GT_CHECK_MEMSET(CUpti_ActivityMemset2);
GT_CHECK_MEMSET(CUpti_ActivityMemset3);
GT_CHECK_MEMSET(CUpti_ActivityMemset4);

GT_AT(CUpti_ActivityAPI, cbid, api_off::cbid);
GT_AT(CUpti_ActivityAPI, start, api_off::start);
GT_AT(CUpti_ActivityAPI, end, api_off::end);
GT_AT(CUpti_ActivityAPI, threadId, api_off::thread_id);
GT_AT(CUpti_ActivityAPI, correlationId, api_off::correlation_id);
GT_AT(CUpti_ActivityAPI, returnValue, api_off::return_value);
static_assert(sizeof(CUpti_ActivityAPI) >= api_off::extent);

#define GT_CHECK_MEMORY(T)                                                                               \
  GT_AT(T, memoryOperationType, memory_off::operation);                                                  \
  GT_AT(T, memoryKind, memory_off::memory_kind);                                                         \
  GT_AT(T, correlationId, memory_off::correlation_id);                                                   \
  GT_AT(T, address, memory_off::address);                                                                \
  GT_AT(T, bytes, memory_off::bytes);                                                                    \
  GT_AT(T, timestamp, memory_off::timestamp);                                                            \
  GT_AT(T, deviceId, memory_off::device_id);                                                             \
  GT_AT(T, streamId, memory_off::stream_id);                                                             \
  static_assert(sizeof(T) >= memory_off::extent, #T " shorter than the fields read")
GT_CHECK_MEMORY(CUpti_ActivityMemory2);
GT_CHECK_MEMORY(CUpti_ActivityMemory3);  // CUDA 12.0-12.5
#if CUPTI_API_VERSION >= 24
GT_CHECK_MEMORY(CUpti_ActivityMemory4);  // CUDA 12.6+
#endif

#define GT_CHECK_OVERHEAD(T)                                                                             \
  GT_AT(T, overheadKind, overhead_off::overhead_kind);                                                   \
  GT_AT(T, objectKind, overhead_off::object_kind);                                                       \
  GT_AT(T, objectId, overhead_off::object_id);                                                           \
  GT_AT(T, objectId.pt.threadId, overhead_off::thread_id);                                               \
  GT_AT(T, objectId.dcs.deviceId, overhead_off::object_id);                                              \
  GT_AT(T, start, overhead_off::start);                                                                  \
  GT_AT(T, end, overhead_off::end);                                                                      \
  static_assert(sizeof(T) >= overhead_off::extent, #T " shorter than the fields read")
GT_CHECK_OVERHEAD(CUpti_ActivityOverhead);
#if CUPTI_API_VERSION >= 130000
GT_CHECK_OVERHEAD(CUpti_ActivityOverhead2);
GT_CHECK_OVERHEAD(CUpti_ActivityOverhead3);  // what CUDA 13 emits
GT_AT(CUpti_ActivityOverhead3, correlationId, overhead_off::correlation_id);
GT_AT(CUpti_ActivityOverhead3, overheadData, overhead_off::data);
static_assert(sizeof(CUpti_ActivityOverhead3) >= overhead_off::extent_v3);
#endif

#define GT_CHECK_GRAPH(T)                                                                                \
  GT_AT(T, correlationId, graph_off::correlation_id);                                                    \
  GT_AT(T, start, graph_off::start);                                                                     \
  GT_AT(T, end, graph_off::end);                                                                         \
  GT_AT(T, deviceId, graph_off::device_id);                                                              \
  GT_AT(T, graphId, graph_off::graph_id);                                                                \
  GT_AT(T, contextId, graph_off::context_id);                                                            \
  GT_AT(T, streamId, graph_off::stream_id);                                                              \
  static_assert(sizeof(T) >= graph_off::extent, #T " shorter than the fields read")
GT_CHECK_GRAPH(CUpti_ActivityGraphTrace);
#if CUPTI_API_VERSION >= 130000
GT_CHECK_GRAPH(CUpti_ActivityGraphTrace2);
#endif
static_assert(CUPTI_ACTIVITY_KIND_OVERHEAD == kKindOverhead && CUPTI_ACTIVITY_KIND_GRAPH_TRACE == kKindGraphTrace);
static_assert(CUPTI_ACTIVITY_OBJECT_THREAD == kObjectThread && CUPTI_ACTIVITY_OBJECT_DEVICE == kObjectDevice &&
              CUPTI_ACTIVITY_OBJECT_CONTEXT == kObjectContext && CUPTI_ACTIVITY_OBJECT_STREAM == kObjectStream);

static_assert(CUPTI_ACTIVITY_KIND_MEMCPY == kKindMemcpy && CUPTI_ACTIVITY_KIND_MEMSET == kKindMemset);
static_assert(CUPTI_ACTIVITY_KIND_KERNEL == kKindKernel && CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL == kKindConcurrentKernel);
static_assert(CUPTI_ACTIVITY_KIND_DRIVER == kKindDriver && CUPTI_ACTIVITY_KIND_RUNTIME == kKindRuntime);
static_assert(CUPTI_ACTIVITY_KIND_MEMORY2 == kKindMemory2);
static_assert(CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_ALLOCATION == 1 && CUPTI_ACTIVITY_MEMORY_OPERATION_TYPE_RELEASE == 2);
static_assert(CUPTI_ACTIVITY_MEMCPY_KIND_HTOD == 1 && CUPTI_ACTIVITY_MEMCPY_KIND_DTOH == 2 &&
              CUPTI_ACTIVITY_MEMCPY_KIND_DTOD == 8 && CUPTI_ACTIVITY_MEMCPY_KIND_HTOH == 9 &&
              CUPTI_ACTIVITY_MEMCPY_KIND_PTOP == 10, "bpf/gpu.h gt_gpu_copy_kind mirrors these");

}  // namespace
}  // namespace gputrace::cupti
