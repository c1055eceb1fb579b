#include "userspace/gc/elf_facts.h"

#include "userspace/gc/go_buildinfo.h"
#include "userspace/util/fd.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>

#include <cstring>
#include <memory>

namespace gputrace::gc {
namespace {

constexpr uint32_t kStapsdtNoteType = 3;

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

std::span<const std::byte> section_bytes(Elf_Scn* scn) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || !data->d_buf) return {};
  return {static_cast<const std::byte*>(data->d_buf), data->d_size};
}

// A stapsdt note's descriptor: pc, base and semaphore addresses, then provider, name, args.
void read_stapsdt(Elf* elf, Elf_Scn* scn, std::set<UsdtProbe>& out) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data) return;
  const size_t addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
  GElf_Nhdr nhdr;
  size_t off = 0, name_off = 0, desc_off = 0;
  while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
    if (nhdr.n_type != kStapsdtNoteType || nhdr.n_descsz <= 3 * addr_size) continue;
    const char* desc = static_cast<const char*>(data->d_buf) + desc_off + 3 * addr_size;
    const size_t room = nhdr.n_descsz - 3 * addr_size;
    const size_t provider_len = strnlen(desc, room);
    if (provider_len + 1 >= room) continue;
    const size_t name_len = strnlen(desc + provider_len + 1, room - provider_len - 1);
    out.insert({std::string(desc, provider_len), std::string(desc + provider_len + 1, name_len)});
  }
}

void read_symbols(Elf_Scn* scn, const GElf_Shdr& shdr, Elf* elf, std::span<const std::string_view> wanted,
                  std::set<std::string>& out) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data || shdr.sh_entsize == 0) return;
  const size_t count = shdr.sh_size / shdr.sh_entsize;
  for (size_t i = 0; i < count && out.size() < wanted.size(); ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym) || sym.st_value == 0) continue;
    const char* name = elf_strptr(elf, shdr.sh_link, sym.st_name);
    if (!name) continue;
    for (auto w : wanted)
      if (w == name) out.emplace(name);
  }
}

// Resolves a virtual address to bytes of an allocated section (old Go buildinfo pointers).
std::span<const std::byte> read_vaddr(Elf* elf, uint64_t vaddr, size_t size) {
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr) || shdr.sh_type == SHT_NOBITS || !(shdr.sh_flags & SHF_ALLOC)) continue;
    if (vaddr < shdr.sh_addr || vaddr - shdr.sh_addr >= shdr.sh_size) continue;
    auto bytes = section_bytes(scn);
    const uint64_t at = vaddr - shdr.sh_addr;
    if (at + size > bytes.size()) return {};
    return bytes.subspan(at, size);
  }
  return {};
}

}  // namespace

bool ElfFacts::has_usdt(std::string_view provider, std::string_view name) const {
  return usdt.contains(UsdtProbe{std::string(provider), std::string(name)});
}

bool ElfFacts::has_provider(std::string_view provider) const {
  for (const auto& p : usdt)
    if (p.provider == provider) return true;
  return false;
}

Result<ElfFacts> read_elf_facts(const std::string& path, std::span<const std::string_view> wanted_symbols) {
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is too old for this ELF version");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail_errno(errno, "cannot open {}", path);
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return fail("{} is not an ELF file", path);
  size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return fail("{}: no section name table", path);

  ElfFacts facts;
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf.get(), scn))) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
    if (!name) continue;
    const std::string_view sname = name;
    if (shdr.sh_type == SHT_NOTE && sname == ".note.stapsdt") {
      read_stapsdt(elf.get(), scn, facts.usdt);
    } else if (shdr.sh_type == SHT_SYMTAB || shdr.sh_type == SHT_DYNSYM) {
      facts.has_symtab |= shdr.sh_type == SHT_SYMTAB;
      read_symbols(scn, shdr, elf.get(), wanted_symbols, facts.symbols);
    } else if (sname == ".go.buildinfo") {
      facts.has_go_buildinfo = true;
      Elf* e = elf.get();
      auto version = parse_go_buildinfo(section_bytes(scn),
                                        [e](uint64_t vaddr, size_t size) { return read_vaddr(e, vaddr, size); });
      if (version) facts.go_version = *version;
    }
  }
  if (facts.has_go_buildinfo) {
    if (auto go = read_go_functions(elf.get(), wanted_symbols))
      facts.go_functions = std::move(*go);
    else
      facts.go_functions_problem = go.error().describe();
  }
  return facts;
}

}  // namespace gputrace::gc
