#include "userspace/gc/gopclntab.h"

#include <cstring>

namespace gputrace::gc {
namespace {

// pcHeader: magic u32, two zero pads, minLC u8, ptrSize u8, then eight pointer-sized fields.
enum HeaderField { kNfunc = 0, kNfiles, kTextStart, kFuncnameOffset, kCuOffset, kFiletabOffset, kPctabOffset,
                   kPclnOffset, kFieldCount };
constexpr size_t kFuncPcspOffset = 16;  // _func: entryOff, nameOff, args, deferreturn, pcsp, pcfile, pcln
constexpr size_t kFuncPclnOffset = 24;
constexpr size_t kFuncMinSize = 28;

uint64_t load_le(std::span<const std::byte> b, size_t at, size_t width) {
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v |= static_cast<uint64_t>(b[at + i]) << (8 * i);
  return v;
}

uint32_t load_u32(std::span<const std::byte> b, size_t at) { return static_cast<uint32_t>(load_le(b, at, 4)); }

size_t ptr_size(std::span<const std::byte> b) { return static_cast<size_t>(b[7]); }

uint64_t header_field(std::span<const std::byte> b, HeaderField f) {
  return load_le(b, 8 + f * ptr_size(b), ptr_size(b));
}

// The bytes from `offset` to the end of the table; empty when out of range.
std::span<const std::byte> tail(std::span<const std::byte> b, uint64_t offset) {
  return offset < b.size() ? b.subspan(offset) : std::span<const std::byte>{};
}

// Go's varint (LEB128, little-endian groups of 7 bits); false past the end or over 32 bits.
bool read_uvarint(std::span<const std::byte> b, size_t& at, uint32_t& out) {
  uint32_t v = 0;
  for (unsigned shift = 0; shift < 35; shift += 7) {
    if (at >= b.size()) return false;
    const auto byte = static_cast<uint8_t>(b[at++]);
    v |= static_cast<uint32_t>(byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      out = v;
      return true;
    }
  }
  return false;
}

}  // namespace

bool GoPclntab::looks_like_header(std::span<const std::byte> b) {
  if (b.size() < 8) return false;
  const uint32_t magic = load_u32(b, 0);
  if (magic != kPclntabMagic118 && magic != kPclntabMagic120) return false;
  const auto min_lc = static_cast<uint8_t>(b[6]);
  const size_t ps = ptr_size(b);
  return b[4] == std::byte{0} && b[5] == std::byte{0} && (min_lc == 1 || min_lc == 2 || min_lc == 4) &&
         (ps == 4 || ps == 8) && b.size() >= 8 + kFieldCount * ps;
}

Result<GoPclntab> GoPclntab::parse(std::span<const std::byte> b, std::optional<uint64_t> text_start) {
  if (!looks_like_header(b))
    return fail("not a Go 1.18+ pclntab (magic 0x{:x}; Go 1.16 and 1.17 tables are not read)",
                b.size() >= 4 ? load_u32(b, 0) : 0);
  GoPclntab t;
  t.table_ = b;
  t.magic_ = load_u32(b, 0);
  const uint64_t nfunc = header_field(b, kNfunc);
  t.text_start_ = text_start.value_or(header_field(b, kTextStart));
  t.funcnames_ = tail(b, header_field(b, kFuncnameOffset));
  t.pctab_ = tail(b, header_field(b, kPctabOffset));
  t.functab_ = tail(b, header_field(b, kPclnOffset));
  // functab: nfunc (entryOff, funcOff) pairs and the end PC's entryOff, all u32.
  const uint64_t words = t.functab_.size() / 4;
  if (t.funcnames_.empty() || t.pctab_.empty() || nfunc == 0 || words < 3 || nfunc > (words - 1) / 2)
    return fail("damaged Go pclntab: {} functions do not fit its {} bytes", nfunc, b.size());
  t.nfunc_ = static_cast<uint32_t>(nfunc);
  return t;
}

std::optional<GoFunction> GoPclntab::function(uint32_t i) const {
  if (i >= nfunc_) return std::nullopt;
  const uint32_t entry_off = load_u32(functab_, 8 * size_t{i});
  const uint32_t func_off = load_u32(functab_, 8 * size_t{i} + 4);
  const uint32_t end_off = load_u32(functab_, 8 * size_t{i} + 8);
  if (end_off < entry_off || func_off >= functab_.size() || functab_.size() - func_off < kFuncMinSize ||
      text_start_ > UINT64_MAX - end_off)  // an address past the end of memory
    return std::nullopt;
  const auto name_off = static_cast<int32_t>(load_u32(functab_, func_off + 4));
  if (name_off < 0 || static_cast<size_t>(name_off) >= funcnames_.size()) return std::nullopt;
  const auto* name = reinterpret_cast<const char*>(funcnames_.data()) + name_off;
  const size_t room = funcnames_.size() - static_cast<size_t>(name_off);
  const size_t len = strnlen(name, room);
  if (len == room) return std::nullopt;  // not terminated inside the table
  return GoFunction{.name = std::string_view(name, len),
                    .entry = text_start_ + entry_off,
                    .end = text_start_ + end_off,
                    .pcsp = load_u32(functab_, func_off + kFuncPcspOffset),
                    .pcln = load_u32(functab_, func_off + kFuncPclnOffset)};
}

std::optional<GoFunction> GoPclntab::find(std::string_view name) const {
  for (uint32_t i = 0; i < nfunc_; ++i)
    if (auto f = function(i); f && f->name == name) return f;
  return std::nullopt;
}

// Go's pcvalue encoding: pairs of (zig-zag value delta, pc delta) varints, starting from
// value −1 at the entry; a zero value delta after the first pair ends the table.
std::vector<GoPclntab::PcValue> GoPclntab::pc_values(const GoFunction& f, uint32_t table) const {
  std::vector<PcValue> out;
  if (table == 0 || table >= pctab_.size()) return out;
  const uint32_t quantum = static_cast<uint8_t>(table_[6]);
  size_t at = table;
  int64_t value = -1;
  uint64_t pc = f.entry;
  for (bool first = true; pc < f.end; first = false) {
    uint32_t uvdelta = 0, pcdelta = 0;
    if (!read_uvarint(pctab_, at, uvdelta) || (uvdelta == 0 && !first)) break;
    if (!read_uvarint(pctab_, at, pcdelta) || pcdelta == 0) return {};
    value += static_cast<int32_t>(-(uvdelta & 1) ^ (uvdelta >> 1));
    out.push_back({pc, value});
    const uint64_t step = static_cast<uint64_t>(pcdelta) * quantum;
    if (step >= f.end - pc) break;  // the function's last range (or a damaged one past its end)
    pc += step;
  }
  return out;
}

std::vector<uint64_t> GoPclntab::zero_frame_points(const GoFunction& f) const {
  std::vector<uint64_t> points;
  for (const auto& [pc, value] : pc_values(f, f.pcsp))
    if (value == 0 && pc != f.entry) points.push_back(pc);
  return points;
}

std::vector<uint64_t> GoPclntab::line_starts(const GoFunction& f) const {
  std::vector<uint64_t> points;
  for (const auto& v : pc_values(f, f.pcln)) points.push_back(v.pc);
  return points;
}

}  // namespace gputrace::gc
