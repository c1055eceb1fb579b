#include "userspace/decode/kinds.h"

#include <array>

namespace gputrace {
namespace {

constexpr std::array<KindInfo, GT_EV_KIND_MAX> make_table() {
  std::array<KindInfo, GT_EV_KIND_MAX> t{};
#define GT_KIND_ROW(NAME, NUMBER, STR, TYPE, SOURCE, STREAM) \
  t[GT_EV_##NAME] = {STR, sizeof(TYPE), #SOURCE, RecordStream::STREAM##_stream, #TYPE};
  GT_RECORD_KINDS(GT_KIND_ROW)
#undef GT_KIND_ROW
  return t;
}

constexpr auto kTable = make_table();
constexpr KindInfo kUnknown{};

}  // namespace

const KindInfo& kind_info(uint16_t kind) { return kind < kTable.size() ? kTable[kind] : kUnknown; }

}  // namespace gputrace
