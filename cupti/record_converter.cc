#include "cupti/record_converter.h"

#include "cupti/activity_layout.h"

#include <cstdlib>
#include <cstring>
#include <string_view>

namespace gputrace::cupti {
namespace {

template <class T>
T field(std::span<const std::byte> r, size_t offset) {
  T v;
  std::memcpy(&v, r.data() + offset, sizeof(T));
  return v;
}

// CUPTI writes 0 for "no timing could be collected" (cupti_activity.h, on start and end).
bool timed(std::span<const std::byte> r, size_t start, size_t end) {
  const uint64_t s = field<uint64_t>(r, start), e = field<uint64_t>(r, end);
  return s != 0 && e != 0 && e >= s;
}

// Bytes of the GT_EV_GPU_NAME record for a name of len bytes: fixed part, text, NUL, padding.
size_t name_record_size(size_t len) { return (sizeof(gt_gpu_name_event) + len + 1 + 7) & ~size_t{7}; }

// The name as shipped: at most GT_GPU_NAME_MAX - 1 bytes.
size_t shipped_name_length(const char* name) {
  if (name == nullptr) return 0;
  const size_t len = strnlen(name, GT_GPU_NAME_MAX);
  return len == GT_GPU_NAME_MAX ? len - 1 : len;
}

// A kernel name record: fixed part, the name, its NUL, zero padding to 8.
struct alignas(8) NameRecord {
  gt_gpu_name_event event;
  char text[GT_GPU_NAME_MAX + 8];
};

}  // namespace

RecordConverter::RecordConverter(NameTable& names, DeviceAnnouncer& devices, uint32_t pid, RecordGuard* guard)
    : names_(names), devices_(devices), pid_(pid), guard_(guard) {}

bool RecordConverter::admitted(uint64_t cupti_start, uint64_t cupti_end, uint32_t tid, uint64_t stream) {
  return guard_ == nullptr ||
         guard_->admit(monotonic(cupti_start), monotonic(cupti_end), tid, stream) == RecordGuard::Verdict::Admit;
}

void RecordConverter::fill_header(gt_event_header& h, uint16_t kind, uint32_t size, uint64_t cupti_ts) const {
  h.kind = kind;
  h.cpu = GT_GPU_NO_CPU;
  h.size = size;
  h.ts_ns = monotonic(cupti_ts);
  h.pid = pid_;
  h.tid = 0;
}

RecordConverter::Outcome RecordConverter::convert(std::span<const std::byte> record, uint64_t epoch,
                                                  int64_t clock_offset_ns, BatchWriter& out) {
  if (record.size() < sizeof(uint32_t)) return Outcome::Truncated;
  offset_ns_ = clock_offset_ns;
  switch (field<uint32_t>(record, 0)) {
    case kKindConcurrentKernel:
    case kKindKernel: return kernel(record, epoch, out);
    case kKindMemcpy: return memcpy(record, epoch, out);
    case kKindMemset: return memset(record, epoch, out);
    case kKindRuntime: return api(record, GT_GPU_API_RUNTIME, out);
    case kKindDriver: return api(record, GT_GPU_API_DRIVER, out);
    case kKindMemory2: return memory(record, epoch, out);
    case kKindOverhead: return overhead(record, out);
    case kKindGraphTrace: return graph(record, epoch, out);
    default: return Outcome::Skipped;
  }
}

RecordConverter::Outcome RecordConverter::kernel(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out) {
  namespace o = kernel_off;
  if (r.size() < o::extent) return Outcome::Truncated;
  if (!timed(r, o::start, o::end)) return Outcome::Incomplete;
  if (!admitted(field<uint64_t>(r, o::start), field<uint64_t>(r, o::end), 0,
                RecordGuard::stream_key(field<uint32_t>(r, o::device_id), field<uint32_t>(r, o::stream_id))))
    return Outcome::Guarded;
  gt_gpu_kernel_event e{};
  // The device and the name first: they must precede the kernel in the stream. All three go
  // in one batch, so a refused batch cannot take the name and leave its kernel.
  out.make_room(sizeof(gt_gpu_device_event) +
                name_record_size(shipped_name_length(field<const char*>(r, o::name))) + sizeof(e));
  send_device(field<uint32_t>(r, o::device_id), epoch, out);
  e.name_id = send_name(field<const char*>(r, o::name), epoch, out);
  fill_header(e.hdr, GT_EV_GPU_KERNEL, sizeof(e), field<uint64_t>(r, o::start));
  e.end_ns = monotonic(field<uint64_t>(r, o::end));
  e.device_id = field<uint32_t>(r, o::device_id);
  e.context_id = field<uint32_t>(r, o::context_id);
  e.stream_id = field<uint32_t>(r, o::stream_id);
  e.correlation_id = field<uint32_t>(r, o::correlation_id);
  e.graph_id = field<uint32_t>(r, o::graph_id);
  e.grid[0] = field<int32_t>(r, o::grid_x);
  e.grid[1] = field<int32_t>(r, o::grid_y);
  e.grid[2] = field<int32_t>(r, o::grid_z);
  e.block[0] = field<int32_t>(r, o::block_x);
  e.block[1] = field<int32_t>(r, o::block_y);
  e.block[2] = field<int32_t>(r, o::block_z);
  out.append(&e, sizeof(e));
  return Outcome::Converted;
}

uint64_t RecordConverter::send_name(const char* name, uint64_t epoch, BatchWriter& out) {
  if (name == nullptr) return 0;
  const size_t len = shipped_name_length(name);
  const uint32_t flags = strnlen(name, GT_GPU_NAME_MAX) == GT_GPU_NAME_MAX ? GT_GPU_NAME_TRUNCATED : 0;
  const std::string_view text(name, len);
  const NameTable::Lookup found = names_.intern(text, epoch);
  if (found.id == 0 || !found.send) return found.id;
  NameRecord rec{};
  const auto size = static_cast<uint32_t>(name_record_size(len));
  fill_header(rec.event.hdr, GT_EV_GPU_NAME, size, 0);
  rec.event.name_id = found.id;
  rec.event.name_len = static_cast<uint32_t>(len);
  rec.event.flags = flags;
  // Printable ASCII only, the rest as '?': the daemon refuses a whole batch for a name with a
  // control character or broken UTF-8 (a cut can split a multibyte character), and kernel
  // names, mangled or not, are ASCII in practice.
  for (size_t i = 0; i < len; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    rec.text[i] = c >= 0x20 && c < 0x7f ? static_cast<char>(c) : '?';
  }
  out.append(&rec, size);
  return found.id;
}

void RecordConverter::send_device(uint32_t device_id, uint64_t epoch, BatchWriter& out) {
  const gt_gpu_device_event* known = devices_.announce(device_id, epoch);
  if (known == nullptr) return;
  gt_gpu_device_event e = *known;
  fill_header(e.hdr, GT_EV_GPU_DEVICE, sizeof(e), 0);
  out.append(&e, sizeof(e));
}

RecordConverter::Outcome RecordConverter::memcpy(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out) {
  namespace o = memcpy_off;
  if (r.size() < o::extent) return Outcome::Truncated;
  if (!timed(r, o::start, o::end)) return Outcome::Incomplete;
  if (!admitted(field<uint64_t>(r, o::start), field<uint64_t>(r, o::end), 0,
                RecordGuard::stream_key(field<uint32_t>(r, o::device_id), field<uint32_t>(r, o::stream_id))))
    return Outcome::Guarded;
  gt_gpu_memcpy_event e{};
  out.make_room(sizeof(gt_gpu_device_event) + sizeof(e));  // the device record travels with it
  send_device(field<uint32_t>(r, o::device_id), epoch, out);
  fill_header(e.hdr, GT_EV_GPU_MEMCPY, sizeof(e), field<uint64_t>(r, o::start));
  e.end_ns = monotonic(field<uint64_t>(r, o::end));
  e.bytes = field<uint64_t>(r, o::bytes);
  e.device_id = field<uint32_t>(r, o::device_id);
  e.context_id = field<uint32_t>(r, o::context_id);
  e.stream_id = field<uint32_t>(r, o::stream_id);
  e.correlation_id = field<uint32_t>(r, o::correlation_id);
  e.copy_kind = field<uint8_t>(r, o::copy_kind);
  e.src_kind = field<uint8_t>(r, o::src_kind);
  e.dst_kind = field<uint8_t>(r, o::dst_kind);
  e.flags = field<uint8_t>(r, o::flags);
  out.append(&e, sizeof(e));
  return Outcome::Converted;
}

RecordConverter::Outcome RecordConverter::memset(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out) {
  namespace o = memset_off;
  if (r.size() < o::extent) return Outcome::Truncated;
  if (!timed(r, o::start, o::end)) return Outcome::Incomplete;
  if (!admitted(field<uint64_t>(r, o::start), field<uint64_t>(r, o::end), 0,
                RecordGuard::stream_key(field<uint32_t>(r, o::device_id), field<uint32_t>(r, o::stream_id))))
    return Outcome::Guarded;
  gt_gpu_memset_event e{};
  out.make_room(sizeof(gt_gpu_device_event) + sizeof(e));
  send_device(field<uint32_t>(r, o::device_id), epoch, out);
  fill_header(e.hdr, GT_EV_GPU_MEMSET, sizeof(e), field<uint64_t>(r, o::start));
  e.end_ns = monotonic(field<uint64_t>(r, o::end));
  e.bytes = field<uint64_t>(r, o::bytes);
  e.device_id = field<uint32_t>(r, o::device_id);
  e.context_id = field<uint32_t>(r, o::context_id);
  e.stream_id = field<uint32_t>(r, o::stream_id);
  e.correlation_id = field<uint32_t>(r, o::correlation_id);
  e.value = field<uint32_t>(r, o::value);
  e.memory_kind = field<uint16_t>(r, o::memory_kind);
  e.flags = field<uint16_t>(r, o::flags);
  out.append(&e, sizeof(e));
  return Outcome::Converted;
}

RecordConverter::Outcome RecordConverter::api(std::span<const std::byte> r, uint8_t domain, BatchWriter& out) {
  namespace o = api_off;
  if (r.size() < o::extent) return Outcome::Truncated;
  if (!timed(r, o::start, o::end)) return Outcome::Incomplete;
  if (!admitted(field<uint64_t>(r, o::start), field<uint64_t>(r, o::end), field<uint32_t>(r, o::thread_id), 0))
    return Outcome::Guarded;
  gt_gpu_api_event e{};
  fill_header(e.hdr, GT_EV_GPU_API, sizeof(e), field<uint64_t>(r, o::start));
  e.hdr.tid = field<uint32_t>(r, o::thread_id);
  e.end_ns = monotonic(field<uint64_t>(r, o::end));
  e.cbid = field<uint32_t>(r, o::cbid);
  e.correlation_id = field<uint32_t>(r, o::correlation_id);
  e.return_value = field<uint32_t>(r, o::return_value);
  e.domain = domain;
  out.append(&e, sizeof(e));
  return Outcome::Converted;
}

RecordConverter::Outcome RecordConverter::memory(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out) {
  namespace o = memory_off;
  if (r.size() < o::extent) return Outcome::Truncated;
  const uint32_t op = field<uint32_t>(r, o::operation);
  if (op != GT_GPU_MEMORY_ALLOC && op != GT_GPU_MEMORY_RELEASE) return Outcome::Skipped;
  if (field<uint64_t>(r, o::timestamp) == 0) return Outcome::Incomplete;
  if (!admitted(field<uint64_t>(r, o::timestamp), field<uint64_t>(r, o::timestamp), 0, 0)) return Outcome::Guarded;
  gt_gpu_memory_event e{};
  out.make_room(sizeof(gt_gpu_device_event) + sizeof(e));
  send_device(field<uint32_t>(r, o::device_id), epoch, out);
  fill_header(e.hdr, GT_EV_GPU_MEMORY, sizeof(e), field<uint64_t>(r, o::timestamp));
  e.address = field<uint64_t>(r, o::address);
  e.bytes = field<uint64_t>(r, o::bytes);
  e.device_id = field<uint32_t>(r, o::device_id);
  e.stream_id = field<uint32_t>(r, o::stream_id);
  e.correlation_id = field<uint32_t>(r, o::correlation_id);
  e.op = static_cast<uint8_t>(op);
  e.memory_kind = static_cast<uint8_t>(field<uint32_t>(r, o::memory_kind));
  out.append(&e, sizeof(e));
  return Outcome::Converted;
}

}  // namespace gputrace::cupti

namespace gputrace::cupti {

// CUPTI's and the driver's own cost. Overhead3 points at details the client must free, once,
// whatever happens to the record.
RecordConverter::Outcome RecordConverter::overhead(std::span<const std::byte> r, BatchWriter& out) {
  namespace o = overhead_off;
  if (r.size() < (overhead_v3_ ? o::extent_v3 : o::extent)) return Outcome::Truncated;
  if (overhead_v3_) std::free(field<void*>(r, o::data));
  if (!timed(r, o::start, o::end)) return Outcome::Incomplete;
  const uint32_t object = field<uint32_t>(r, o::object_kind);
  const uint32_t tid = object == kObjectThread ? field<uint32_t>(r, o::thread_id) : 0;
  if (!admitted(field<uint64_t>(r, o::start), field<uint64_t>(r, o::end), tid, 0)) return Outcome::Guarded;
  gt_gpu_overhead_event e{};
  fill_header(e.hdr, GT_EV_GPU_OVERHEAD, sizeof(e), field<uint64_t>(r, o::start));
  e.hdr.tid = tid;
  e.end_ns = monotonic(field<uint64_t>(r, o::end));
  e.overhead_kind = field<uint32_t>(r, o::overhead_kind);
  e.object_kind = object;
  if (object == kObjectDevice || object == kObjectContext || object == kObjectStream)
    e.device_id = field<uint32_t>(r, o::object_id);
  if (overhead_v3_) e.correlation_id = field<uint32_t>(r, o::correlation_id);
  out.append(&e, sizeof(e));
  return Outcome::Converted;
}

// A whole CUDA graph launch (GPUTRACE_CUPTI_GRAPHS=graph): one record instead of one per node.
RecordConverter::Outcome RecordConverter::graph(std::span<const std::byte> r, uint64_t epoch, BatchWriter& out) {
  namespace o = graph_off;
  if (r.size() < o::extent) return Outcome::Truncated;
  if (!timed(r, o::start, o::end)) return Outcome::Incomplete;
  const uint32_t device = field<uint32_t>(r, o::device_id);
  if (!admitted(field<uint64_t>(r, o::start), field<uint64_t>(r, o::end), 0,
                RecordGuard::stream_key(device, field<uint32_t>(r, o::stream_id))))
    return Outcome::Guarded;
  gt_gpu_graph_event e{};
  // INT_MAX: the graph started on the host; only a real device gets a device record.
  const bool on_device = device != 0x7fffffffu;
  out.make_room(sizeof(gt_gpu_device_event) + sizeof(e));
  if (on_device) send_device(device, epoch, out);
  fill_header(e.hdr, GT_EV_GPU_GRAPH, sizeof(e), field<uint64_t>(r, o::start));
  e.end_ns = monotonic(field<uint64_t>(r, o::end));
  e.graph_id = field<uint32_t>(r, o::graph_id);
  e.device_id = on_device ? device : 0xffffffffu;
  e.context_id = field<uint32_t>(r, o::context_id);
  e.stream_id = field<uint32_t>(r, o::stream_id);
  e.correlation_id = field<uint32_t>(r, o::correlation_id);
  out.append(&e, sizeof(e));
  return Outcome::Converted;
}

}  // namespace gputrace::cupti
