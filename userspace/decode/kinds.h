// The daemon's view of the record kinds (bpf/kinds.h): a table of name, payload size, source
// and stream per kind, and a typed visitor. Both are generated from GT_RECORD_KINDS, so a
// kind added there is known here, and a visitor that does not handle it fails to compile.
//
//   visit_record(record, overloaded{
//       [](Typed<GT_EV_DMA_MAP> m) { ... m.event.dma_addr ... },
//       [](Typed<GT_EV_PROC_EXIT> e) { ... },
//       ...every other kind, or a constrained template that says why it is ignored});
#pragma once

extern "C" {
#include "bpf/dma.h"
#include "bpf/gc.h"
#include "bpf/gpu.h"
#include "bpf/host.h"
#include "bpf/iommu.h"
#include "bpf/pcie.h"
#include "bpf/proc.h"
}

#include "userspace/decode/record.h"

#include <cstdint>
#include <optional>
#include <string_view>

namespace gputrace {

// Which engine window a kind travels in (bpf/kinds.h explains the three).
enum class RecordStream : uint8_t {
  Kernel,
  Gpu,
  Envelope,
  // the spellings bpf/kinds.h uses
  KERNEL_stream = Kernel,
  GPU_stream = Gpu,
  ENVELOPE_stream = Envelope,
};

struct KindInfo {
  std::string_view name;    // stable, used in stats and JSON ("dma_map", ...); empty: unknown kind
  uint32_t min_size = 0;    // size of the payload struct; 0: unknown kind
  std::string_view source;  // "proc", "dma", "iommu", "pcie", "gc", "gpu", "host"
  RecordStream stream = RecordStream::Kernel;
  std::string_view payload; // the struct's name ("gt_dma_event")
};

const KindInfo& kind_info(uint16_t kind);

// The stream of a kind, at compile time (for visitors that treat whole streams alike).
constexpr RecordStream stream_of(gt_event_kind kind) {
  switch (kind) {
#define GT_KIND_STREAM(NAME, NUMBER, STR, TYPE, SOURCE, STREAM) \
  case GT_EV_##NAME: return RecordStream::STREAM##_stream;
    GT_RECORD_KINDS(GT_KIND_STREAM)
#undef GT_KIND_STREAM
    default: return RecordStream::Kernel;
  }
}

// Kinds the CUPTI injection library sends (the only ones a GPU batch may carry); the engine
// holds them in the GPU window.
inline bool is_gpu_activity_kind(uint16_t kind) { return kind_info(kind).stream == RecordStream::Gpu; }

// The payload struct of each kind.
template <gt_event_kind K>
struct KindPayload;
#define GT_KIND_PAYLOAD(NAME, NUMBER, STR, TYPE, ...) \
  template <>                                         \
  struct KindPayload<GT_EV_##NAME> {                  \
    using type = TYPE;                                \
  };
GT_RECORD_KINDS(GT_KIND_PAYLOAD)
#undef GT_KIND_PAYLOAD

// One record of kind K: its payload copied out, and the record itself (for variable tails).
template <gt_event_kind K>
struct Typed {
  static constexpr gt_event_kind kind = K;
  typename KindPayload<K>::type event;
  const Record& record;
};

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

// Calls visitor(Typed<K>{...}) for the record's kind. The visitor must accept every kind:
// a new kind in bpf/kinds.h is a compile error until each visitor says what it does with it.
// Records reach visitors through the Decoder, which refuses unknown kinds.
template <class Visitor>
void visit_record(const Record& r, Visitor&& visitor) {
  switch (r.header.kind) {
#define GT_KIND_CASE(NAME, NUMBER, STR, TYPE, ...) \
  case GT_EV_##NAME: visitor(Typed<GT_EV_##NAME>{r.as<TYPE>(), r}); return;
    GT_RECORD_KINDS(GT_KIND_CASE)
#undef GT_KIND_CASE
    default: return;
  }
}

// The kinds of one stream, for a visitor overload that treats them alike.
template <gt_event_kind K, RecordStream S>
concept KindOfStream = (stream_of(K) == S);

// The payload of r if it is of kind K: for consumers that want one or two kinds.
template <gt_event_kind K>
std::optional<typename KindPayload<K>::type> record_as(const Record& r) {
  if (r.header.kind != K) return std::nullopt;
  return r.as<typename KindPayload<K>::type>();
}

}  // namespace gputrace
