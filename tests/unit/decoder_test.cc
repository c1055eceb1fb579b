#include "userspace/decode/decoder.h"

extern "C" {
#include "bpf/dma.h"
}

#include <gtest/gtest.h>

#include <vector>

namespace gputrace {
namespace {

std::vector<std::byte> dma_map_bytes(uint64_t addr) {
  gt_dma_event e{};
  e.hdr.kind = GT_EV_DMA_MAP;
  e.hdr.size = sizeof(e);
  e.hdr.ts_ns = 1000;
  e.dma_addr = addr;
  e.size = 4096;
  std::vector<std::byte> out(sizeof(e));
  std::memcpy(out.data(), &e, sizeof(e));
  return out;
}

TEST(Decoder, AcceptsAWholeRecord) {
  auto bytes = dma_map_bytes(0xfff000);
  Record r;
  ASSERT_EQ(decode_one(bytes, r), DecodeError::None);
  EXPECT_EQ(r.kind(), GT_EV_DMA_MAP);
  EXPECT_EQ(r.as<gt_dma_event>().dma_addr, 0xfff000u);
}

TEST(Decoder, RejectsTruncatedAndUndersizedRecords) {
  auto bytes = dma_map_bytes(1);
  Record r;
  EXPECT_EQ(decode_one(std::span(bytes).first(10), r), DecodeError::Truncated);
  EXPECT_EQ(decode_one(std::span(bytes).first(sizeof(gt_dma_event) - 8), r), DecodeError::Truncated);
  auto* hdr = reinterpret_cast<gt_event_header*>(bytes.data());
  hdr->size = sizeof(gt_event_header);
  EXPECT_EQ(decode_one(bytes, r), DecodeError::BadSize);
  hdr->size = sizeof(gt_dma_event);
  hdr->kind = 77;
  EXPECT_EQ(decode_one(bytes, r), DecodeError::UnknownKind);
}

TEST(Decoder, StreamStopsAtTheFirstBadRecord) {
  auto a = dma_map_bytes(1), b = dma_map_bytes(2);
  std::vector<std::byte> stream(a);
  stream.insert(stream.end(), b.begin(), b.end());
  stream.resize(stream.size() + 5);
  size_t n = 0;
  auto res = decode_stream(stream, [&](const Record&) { ++n; });
  EXPECT_EQ(n, 2u);
  EXPECT_EQ(res.consumed, a.size() + b.size());
  EXPECT_EQ(res.error, DecodeError::Truncated);
}

}  // namespace
}  // namespace gputrace
