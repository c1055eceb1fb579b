// Where gputrace finds the fields it ships in CUPTI activity records, by byte offset.
//
// CUPTI versions its record structs (CUpti_ActivityKernel5 ... Kernel10, Memcpy ... Memcpy6,
// Memset ... Memset4) and each toolkit emits its newest one, but every version keeps the
// fields below at the same offsets. Reading by offset lets one converter serve a library
// built against CUDA 12 or 13 headers; activity_layout_check.cc proves each offset against
// the installed headers at compile time. No CUDA header is needed to use this file.
#pragma once

#include <cstddef>
#include <cstdint>

namespace gputrace::cupti {

// CUpti_ActivityKind values (stable since CUDA 6).
inline constexpr uint32_t kKindMemcpy = 1, kKindMemset = 2, kKindKernel = 3, kKindDriver = 4, kKindRuntime = 5,
                          kKindConcurrentKernel = 10, kKindOverhead = 17, kKindMemory2 = 49, kKindGraphTrace = 51;
// CUpti_ActivityObjectKind values the overhead records name.
inline constexpr uint32_t kObjectThread = 2, kObjectDevice = 3, kObjectContext = 4, kObjectStream = 5;

namespace kernel_off {  // Kernel5..Kernel10
inline constexpr size_t start = 16, end = 24, device_id = 40, context_id = 44, stream_id = 48,
                        grid_x = 52, grid_y = 56, grid_z = 60, block_x = 64, block_y = 68, block_z = 72,
                        correlation_id = 92, name = 104, graph_id = 156;
inline constexpr size_t extent = 160;  // bytes a record must have for every read above
}  // namespace kernel_off

namespace memcpy_off {  // Memcpy, Memcpy3..Memcpy6 (Memcpy2 is peer-to-peer, another kind)
inline constexpr size_t copy_kind = 4, src_kind = 5, dst_kind = 6, flags = 7, bytes = 8, start = 16, end = 24,
                        device_id = 32, context_id = 36, stream_id = 40, correlation_id = 44;
inline constexpr size_t extent = 48;
}  // namespace memcpy_off

namespace memset_off {  // Memset, Memset2..Memset4
inline constexpr size_t value = 4, bytes = 8, start = 16, end = 24, device_id = 32, context_id = 36,
                        stream_id = 40, correlation_id = 44, flags = 48, memory_kind = 50;
inline constexpr size_t extent = 52;
}  // namespace memset_off

namespace api_off {  // CUpti_ActivityAPI (RUNTIME and DRIVER)
inline constexpr size_t cbid = 4, start = 8, end = 16, thread_id = 28, correlation_id = 32, return_value = 36;
inline constexpr size_t extent = 40;
}  // namespace api_off

namespace memory_off {  // Memory2..Memory4 (kind MEMORY2)
inline constexpr size_t operation = 4, memory_kind = 8, correlation_id = 12, address = 16, bytes = 24,
                        timestamp = 32, device_id = 52, stream_id = 60;
inline constexpr size_t extent = 64;
}  // namespace memory_off

namespace overhead_off {  // Overhead, Overhead2, Overhead3 (kind OVERHEAD)
// objectId is a union: {processId, threadId} for process and thread objects, {deviceId,
// contextId, streamId} for the others.
inline constexpr size_t overhead_kind = 4, object_kind = 8, object_id = 12, thread_id = 16, start = 24, end = 32;
inline constexpr size_t extent = 40;
// Overhead3 only (the version CUDA 13's libcupti emits): read only from such a libcupti.
inline constexpr size_t correlation_id = 40, data = 48;
inline constexpr size_t extent_v3 = 56;
}  // namespace overhead_off

namespace graph_off {  // GraphTrace, GraphTrace2 (kind GRAPH_TRACE)
inline constexpr size_t correlation_id = 4, start = 8, end = 16, device_id = 24, graph_id = 28, context_id = 32,
                        stream_id = 36;
inline constexpr size_t extent = 40;
}  // namespace graph_off

}  // namespace gputrace::cupti
