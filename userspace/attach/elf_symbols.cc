#include "userspace/attach/elf_symbols.h"

#include "userspace/util/fd.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <memory>

namespace gputrace::attach {
namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

constexpr uint16_t kVersionHidden = 0x8000;  // VERSYM_HIDDEN: a compat version, not the default

void read_build_id(Elf* elf, Elf_Scn* scn, std::string& out) {
  Elf_Data* data = elf_getdata(scn, nullptr);
  if (!data) return;
  GElf_Nhdr nhdr;
  size_t off = 0, name_off = 0, desc_off = 0;
  while ((off = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
    if (nhdr.n_type != NT_GNU_BUILD_ID) continue;
    const auto* d = static_cast<const unsigned char*>(data->d_buf) + desc_off;
    for (size_t i = 0; i < nhdr.n_descsz; ++i) out += fmt::format("{:02x}", d[i]);
    return;
  }
  (void)elf;
}

}  // namespace

Result<DynamicSymbols> DynamicSymbols::read(const std::string& path, const std::vector<std::string>& wanted) {
  if (elf_version(EV_CURRENT) == EV_NONE) return fail("libelf is too old for this ELF version");
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail_errno(errno, "cannot open {}", path);
  ElfPtr elf(elf_begin(fd.get(), ELF_C_READ_MMAP, nullptr));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return fail("{} is not an ELF file", path);
  DynamicSymbols out;
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) return fail("{}: unreadable ELF header", path);
  out.x86_64_ = ehdr.e_machine == EM_X86_64 && gelf_getclass(elf.get()) == ELFCLASS64;
  size_t phnum = 0;
  elf_getphdrnum(elf.get(), &phnum);
  bool found_load = false;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (!gelf_getphdr(elf.get(), static_cast<int>(i), &ph) || ph.p_type != PT_LOAD) continue;
    const uint64_t page = ph.p_vaddr & ~uint64_t{0xfff};
    if (!found_load || page < out.first_load_vaddr_) out.first_load_vaddr_ = page;
    found_load = true;
  }
  Elf_Data* versym = nullptr;
  Elf_Scn* dynsym = nullptr;
  GElf_Shdr dynsym_hdr{};
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf.get(), scn))) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) continue;
    if (shdr.sh_type == SHT_DYNSYM) {
      dynsym = scn;
      dynsym_hdr = shdr;
    } else if (shdr.sh_type == SHT_GNU_versym) {
      versym = elf_getdata(scn, nullptr);
    } else if (shdr.sh_type == SHT_NOTE) {
      if (out.build_id_.empty()) read_build_id(elf.get(), scn, out.build_id_);
    }
  }
  if (dynsym == nullptr || dynsym_hdr.sh_entsize == 0) return fail("{} has no dynamic symbol table", path);
  Elf_Data* data = elf_getdata(dynsym, nullptr);
  const size_t count = dynsym_hdr.sh_size / dynsym_hdr.sh_entsize;
  for (size_t i = 0; data && i < count; ++i) {
    GElf_Sym sym;
    if (!gelf_getsym(data, static_cast<int>(i), &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0) continue;
    if (GELF_ST_BIND(sym.st_info) == STB_LOCAL) continue;
    GElf_Versym ver = 0;
    if (versym && gelf_getversym(versym, static_cast<int>(i), &ver) && (ver & kVersionHidden)) continue;
    const char* name = elf_strptr(elf.get(), dynsym_hdr.sh_link, sym.st_name);
    if (name && std::find(wanted.begin(), wanted.end(), name) != wanted.end()) out.values_[name] = sym.st_value;
  }
  return out;
}

uint64_t DynamicSymbols::value(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? 0 : it->second;
}

const Mapping* load_base(const std::vector<Mapping>& maps, const Mapping& lib) {
  for (const Mapping& m : maps)
    if (m.inode == lib.inode && m.path == lib.path && m.offset == 0) return &m;
  return nullptr;
}

uint64_t symbol_address(const std::vector<Mapping>& maps, const Mapping& lib, const DynamicSymbols& symbols,
                        const std::string& name) {
  const uint64_t value = symbols.value(name);
  const Mapping* base = load_base(maps, lib);
  if (value == 0 || base == nullptr) return 0;
  return base->start - symbols.first_load_vaddr() + value;
}

}  // namespace gputrace::attach
