#include "userspace/gc/go_functions.h"

#include "userspace/gc/gopclntab.h"

#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <optional>

namespace gputrace::gc {
namespace {

constexpr uint32_t kX86_64Relative = 8;  // R_X86_64_RELATIVE: the addend is the address
constexpr std::byte kRet{0xc3};
constexpr std::byte kCall{0xe8};  // CALL rel32

struct Image {
  std::span<const std::byte> file;
  std::vector<GElf_Phdr> loads;  // PT_LOAD segments
};

Image load_image(Elf* elf) {
  Image img;
  size_t size = 0;
  if (const char* raw = elf_rawfile(elf, &size)) img.file = {reinterpret_cast<const std::byte*>(raw), size};
  size_t n = 0;
  if (elf_getphdrnum(elf, &n) != 0) return img;
  for (size_t i = 0; i < n; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(elf, static_cast<int>(i), &ph) && ph.p_type == PT_LOAD && ph.p_offset <= img.file.size() &&
        ph.p_filesz <= img.file.size() - ph.p_offset)
      img.loads.push_back(ph);
  }
  return img;
}

// The file offset of a virtual address, through the segment that maps it from the file.
std::optional<uint64_t> file_offset(const Image& img, uint64_t vaddr, bool executable) {
  for (const auto& ph : img.loads)
    if ((!executable || (ph.p_flags & PF_X)) && vaddr >= ph.p_vaddr && vaddr - ph.p_vaddr < ph.p_filesz)
      return ph.p_offset + (vaddr - ph.p_vaddr);
  return std::nullopt;
}

struct TableSpan {
  std::span<const std::byte> bytes;
  uint64_t vaddr = 0;
  std::string location;
};

// Internally linked binaries name the table's section; PIE ones put it in .data.rel.ro.*.
std::optional<TableSpan> table_by_section(Elf* elf, const Image& img) {
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf, &shstrndx) != 0) return std::nullopt;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr sh;
    const char* name = gelf_getshdr(scn, &sh) ? elf_strptr(elf, shstrndx, sh.sh_name) : nullptr;
    if (!name || sh.sh_type != SHT_PROGBITS) continue;
    const std::string_view n = name;
    if ((n != ".gopclntab" && n != ".data.rel.ro.gopclntab") || sh.sh_offset > img.file.size() ||
        sh.sh_size > img.file.size() - sh.sh_offset)
      continue;
    return TableSpan{img.file.subspan(sh.sh_offset, sh.sh_size), sh.sh_addr, std::string(n)};
  }
  return std::nullopt;
}

// textStart as the loader would see it: position-independent binaries may keep it in a
// R_X86_64_RELATIVE relocation of the header field instead of the file's bytes.
std::optional<uint64_t> relocated_word(Elf* elf, uint64_t vaddr) {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || sh.sh_entsize == 0) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data) continue;
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Rela r;
      if (gelf_getrela(data, static_cast<int>(i), &r) && r.r_offset == vaddr &&
          GELF_R_TYPE(r.r_info) == kX86_64Relative)
        return static_cast<uint64_t>(r.r_addend);
    }
  }
  return std::nullopt;
}

Result<GoPclntab> parse_table(Elf* elf, const Image& img, const TableSpan& t) {
  auto table = GoPclntab::parse(t.bytes);
  if (!table) return table;
  if (file_offset(img, table->text_start(), true)) return table;
  const size_t ptr = static_cast<size_t>(t.bytes[7]);
  const auto text = relocated_word(elf, t.vaddr + 8 + 2 * ptr);
  if (!text || !file_offset(img, *text, true))
    return fail("the pclntab's textStart 0x{:x} is in no executable segment", table->text_start());
  return GoPclntab::parse(t.bytes, *text);
}

// A believable table: its first and last functions decode, in order, inside executable code.
bool plausible(const Image& img, const GoPclntab& t) {
  const auto first = t.function(0), last = t.function(t.function_count() - 1);
  return first && last && !first->name.empty() && first->entry <= last->entry &&
         file_offset(img, first->entry, true) && file_offset(img, last->entry, true);
}

// Externally linked (cgo) binaries may carry the table inside .data.rel.ro with no section
// of its own: look for a header in the non-executable segments and keep one that validates.
Result<GoPclntab> table_by_search(Elf* elf, const Image& img, std::string& location) {
  for (const auto& ph : img.loads) {
    if (ph.p_flags & PF_X) continue;
    const auto seg = img.file.subspan(ph.p_offset, ph.p_filesz);
    for (size_t at = 0; at + 8 <= seg.size(); at += 4) {
      if (!GoPclntab::looks_like_header(seg.subspan(at))) continue;
      TableSpan t{seg.subspan(at), ph.p_vaddr + at, ""};
      auto table = parse_table(elf, img, t);
      if (table && plausible(img, *table)) {
        location = fmt::format("pclntab found at 0x{:x} in a read-only segment", t.vaddr);
        return table;
      }
    }
  }
  return fail("no Go 1.18+ pclntab (no .gopclntab section, and no valid table header in its read-only segments)");
}

GoFunctionSite site_of(const Image& img, const GoPclntab& table, const GoFunction& f, uint64_t entry_offset) {
  GoFunctionSite site{.entry_offset = entry_offset};
  for (uint64_t pc : table.zero_frame_points(f)) {
    const auto off = file_offset(img, pc, true);
    if (off && *off < img.file.size() && img.file[*off] == kRet) site.return_offsets.push_back(*off);
  }
  return site;
}

// CALL rel32 (0xe8) instructions of `f` that land on one of `callees`, found only where a
// source line starts: a byte pattern inside another instruction is never taken for a CALL.
void find_calls(const Image& img, const GoPclntab& table, const GoFunction& f,
                const std::map<std::string, GoFunction, std::less<>>& callees, GoFunctionSite& site) {
  for (uint64_t pc : table.line_starts(f)) {
    const auto off = file_offset(img, pc, true);
    if (!off || *off + 5 > img.file.size() || img.file[*off] != kCall) continue;
    int32_t rel = 0;
    std::memcpy(&rel, img.file.data() + *off + 1, 4);
    const uint64_t target = pc + 5 + static_cast<int64_t>(rel);
    for (const auto& [name, callee] : callees)
      if (callee.entry == target && callee.entry != f.entry) site.calls[name].push_back(*off);
  }
}

}  // namespace

Result<GoFunctions> read_go_functions(Elf* elf, std::span<const std::string_view> wanted) {
  if (gelf_getclass(elf) != ELFCLASS64) return fail("only 64-bit Go binaries are read");
  const Image img = load_image(elf);
  if (img.file.empty()) return fail("cannot read the file's bytes");
  GoFunctions out;
  Result<GoPclntab> table = fail("no pclntab");
  if (auto t = table_by_section(elf, img)) {
    table = parse_table(elf, img, *t);
    out.table_location = t->location;
  } else {
    table = table_by_search(elf, img, out.table_location);
  }
  if (!table) return tl::unexpected(table.error());
  out.text_start = table->text_start();
  out.table_offset = table->bytes_offset_in(img.file);
  std::map<std::string, GoFunction, std::less<>> found;
  for (uint32_t i = 0; i < table->function_count() && found.size() < wanted.size(); ++i) {
    const auto f = table->function(i);
    if (!f) continue;
    for (auto w : wanted)
      if (f->name == w) found.emplace(std::string(w), *f);
  }
  for (const auto& [name, f] : found) {
    const auto off = file_offset(img, f.entry, true);
    if (!off) return fail("{} at 0x{:x} is in no executable segment", name, f.entry);
    auto site = site_of(img, *table, f, *off);
    find_calls(img, *table, f, found, site);
    out.sites.emplace(name, std::move(site));
  }
  return out;
}

}  // namespace gputrace::gc
