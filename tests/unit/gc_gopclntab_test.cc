// The Go pclntab reader on real binaries built by the host's go (tests/testprogs): plain,
// stripped (-s -w) and cgo-linked PIE stripped (table inside .data.rel.ro). Every site it finds
// must equal what the symbol table says, and every return offset must hold a RET.
#include "userspace/gc/elf_facts.h"
#include "userspace/gc/gopclntab.h"
#include "userspace/gc/runtime_detect.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <vector>

namespace gputrace::gc {
namespace {

constexpr std::array<std::string_view, 7> kWanted = {kGoStopSym,       kGoStartSym,     kGoGcStartSym,
                                                     kGoStopReasonSym, kGoSweepTermSym, kGoMarkTermSym,
                                                     kGoWakepSym};

std::string program(const char* variant) {
#ifdef GPUTRACE_GO_TESTPROGS_DIR
  return std::string(GPUTRACE_GO_TESTPROGS_DIR) + "/gcpauses_" + variant;
#else
  (void)variant;
  return "";
#endif
}

#define REQUIRE_PROGRAM(path)                                                                    \
  if ((path).empty() || !std::filesystem::exists(path))                                          \
    GTEST_FAIL() << "the Go test programs were not built: install golang-go (scripts/install-deps.sh)" \
                    " and reconfigure"

std::vector<std::byte> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::byte> bytes(chars.size());
  std::memcpy(bytes.data(), chars.data(), chars.size());
  return bytes;
}

// What .symtab says: name -> (file offset, size), for the wanted functions.
std::map<std::string, std::pair<uint64_t, uint64_t>> symtab_sites(const std::string& path) {
  std::map<std::string, std::pair<uint64_t, uint64_t>> out;
  elf_version(EV_CURRENT);
  int fd = ::open(path.c_str(), O_RDONLY);
  Elf* elf = elf_begin(fd, ELF_C_READ, nullptr);
  size_t nph = 0;
  elf_getphdrnum(elf, &nph);
  Elf_Scn* scn = nullptr;
  while ((scn = elf_nextscn(elf, scn))) {
    GElf_Shdr sh;
    gelf_getshdr(scn, &sh);
    if (sh.sh_type != SHT_SYMTAB) continue;
    Elf_Data* data = elf_getdata(scn, nullptr);
    for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; ++i) {
      GElf_Sym sym;
      gelf_getsym(data, static_cast<int>(i), &sym);
      const std::string name = elf_strptr(elf, sh.sh_link, sym.st_name);
      for (auto w : kWanted) {
        if (name != w) continue;
        for (size_t p = 0; p < nph; ++p) {
          GElf_Phdr ph;
          gelf_getphdr(elf, static_cast<int>(p), &ph);
          if (ph.p_type == PT_LOAD && sym.st_value >= ph.p_vaddr && sym.st_value < ph.p_vaddr + ph.p_filesz)
            out[name] = {sym.st_value - ph.p_vaddr + ph.p_offset, sym.st_size};
        }
      }
    }
  }
  elf_end(elf);
  ::close(fd);
  return out;
}

ElfFacts facts_of(const std::string& path) {
  auto facts = read_elf_facts(path, kWanted);
  EXPECT_TRUE(facts) << (facts ? "" : facts.error().describe());
  return facts ? *facts : ElfFacts{};
}

void expect_returns_are_rets(const std::string& path, const GoFunctions& go) {
  const auto bytes = read_file(path);
  for (const auto& [name, site] : go.sites)
    for (uint64_t off : site.return_offsets) {
      ASSERT_LT(off, bytes.size());
      EXPECT_EQ(bytes[off], std::byte{0xc3}) << name << " at file offset 0x" << std::hex << off;
    }
  EXPECT_FALSE(go.sites.at(std::string(kGoStartSym)).return_offsets.empty()) << "no RET found in " << kGoStartSym;
  // Where the pause ends: startTheWorldWithSema's one CALL to wakep, a CALL rel32 landing on
  // wakep's entry (in file offsets: same segment, so the same distance as in addresses).
  const auto& calls = go.sites.at(std::string(kGoStartSym)).calls;
  ASSERT_TRUE(calls.contains(kGoWakepSym)) << kGoStartSym << " calls no " << kGoWakepSym;
  ASSERT_EQ(calls.find(kGoWakepSym)->second.size(), 1u);
  const uint64_t call = calls.find(kGoWakepSym)->second[0];
  ASSERT_EQ(bytes[call], std::byte{0xe8});
  int32_t rel = 0;
  std::memcpy(&rel, bytes.data() + call + 1, 4);
  EXPECT_EQ(call + 5 + static_cast<int64_t>(rel), go.sites.at(std::string(kGoWakepSym)).entry_offset);
}

TEST(GoPclntab, PlainBinarySitesEqualTheSymbolTable) {
  const std::string path = program("plain");
  REQUIRE_PROGRAM(path);
  const ElfFacts facts = facts_of(path);
  EXPECT_TRUE(facts.has_symtab);
  EXPECT_EQ(facts.go_functions_problem, "");
  EXPECT_EQ(facts.go_functions.table_location, ".gopclntab");
  const auto symtab = symtab_sites(path);
  ASSERT_EQ(symtab.size(), kWanted.size());
  ASSERT_EQ(facts.go_functions.sites.size(), kWanted.size());
  for (const auto& [name, want] : symtab) {
    const auto& site = facts.go_functions.sites.at(name);
    EXPECT_EQ(site.entry_offset, want.first) << name;
    for (uint64_t ret : site.return_offsets) {
      EXPECT_GT(ret, want.first) << name;
      EXPECT_LT(ret, want.first + want.second) << name;
    }
  }
  expect_returns_are_rets(path, facts.go_functions);
}

TEST(GoPclntab, StrippedBinaryIsTraceableFromItsPclntab) {
  const std::string plain = program("plain"), path = program("stripped");
  REQUIRE_PROGRAM(path);
  const ElfFacts facts = facts_of(path);
  EXPECT_FALSE(facts.has_symtab);
  EXPECT_TRUE(facts.symbols.empty()) << "a -s binary names none of the runtime functions in .symtab";
  ASSERT_EQ(facts.go_functions.sites.size(), kWanted.size()) << facts.go_functions_problem;
  expect_returns_are_rets(path, facts.go_functions);
  // The same code as the plain build: as many returns in each function.
  const ElfFacts plain_facts = facts_of(plain);
  for (const auto& [name, site] : facts.go_functions.sites)
    EXPECT_EQ(site.return_offsets.size(), plain_facts.go_functions.sites.at(name).return_offsets.size()) << name;

  RuntimeDetector detector;
  const Detection d = detector.detect_file(path);
  EXPECT_EQ(d.runtime, Runtime::Go);
  EXPECT_TRUE(d.traceable) << d.problem;
  EXPECT_TRUE(d.go_markers);
  EXPECT_EQ(d.go_sites.size(), kWanted.size());
}

TEST(GoPclntab, CgoPieStrippedTableIsFoundInsideRelro) {
  const std::string path = program("cgo_pie_stripped");
  REQUIRE_PROGRAM(path);
  const ElfFacts facts = facts_of(path);
  EXPECT_FALSE(facts.has_symtab);
  ASSERT_EQ(facts.go_functions.sites.size(), kWanted.size()) << facts.go_functions_problem;
  EXPECT_TRUE(facts.go_functions.table_location.starts_with("pclntab found at"))
      << facts.go_functions.table_location;
  expect_returns_are_rets(path, facts.go_functions);
  RuntimeDetector detector;
  EXPECT_TRUE(detector.detect_file(path).traceable) << detector.detect_file(path).problem;
}

// A PIE may leave textStart to a R_X86_64_RELATIVE relocation: zero it in a copy of the
// file, and the reader must find the same sites through the relocation.
TEST(GoPclntab, TextStartFromItsRelocation) {
  const std::string path = program("cgo_pie_stripped");
  REQUIRE_PROGRAM(path);
  const ElfFacts facts = facts_of(path);
  ASSERT_FALSE(facts.go_functions.sites.empty()) << facts.go_functions_problem;
  auto bytes = read_file(path);
  const uint64_t field = facts.go_functions.table_offset + 8 + 2 * 8;
  ASSERT_LT(field + 8, bytes.size());
  std::memset(bytes.data() + field, 0, 8);
  const std::string copy = ::testing::TempDir() + "/gcpauses_textstart_zeroed";
  std::ofstream(copy, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                              static_cast<std::streamsize>(bytes.size()));
  const ElfFacts zeroed = facts_of(copy);
  std::filesystem::remove(copy);
  EXPECT_EQ(zeroed.go_functions.text_start, facts.go_functions.text_start);
  ASSERT_EQ(zeroed.go_functions.sites.size(), facts.go_functions.sites.size()) << zeroed.go_functions_problem;
  for (const auto& [name, site] : facts.go_functions.sites)
    EXPECT_EQ(zeroed.go_functions.sites.at(name).entry_offset, site.entry_offset) << name;
}

TEST(GoPclntab, DamagedTablesAreRejected) {
  std::vector<std::byte> header(8 + 8 * 8, std::byte{0});
  const uint32_t magic = kPclntabMagic120;
  std::memcpy(header.data(), &magic, 4);
  header[6] = std::byte{1};
  header[7] = std::byte{8};
  EXPECT_FALSE(GoPclntab::parse(header)) << "no functions, no tables";
  EXPECT_FALSE(GoPclntab::parse(std::span(header).first(12))) << "truncated header";
  auto bad_magic = header;
  bad_magic[0] = std::byte{0xfa};  // Go 1.16/1.17
  EXPECT_FALSE(GoPclntab::looks_like_header(bad_magic));
  // A real table, cut short: parse may refuse it, or its functions must not read past the cut.
  const std::string path = program("stripped");
  REQUIRE_PROGRAM(path);
  const ElfFacts facts = facts_of(path);
  const auto bytes = read_file(path);
  const auto table = std::span(bytes).subspan(facts.go_functions.table_offset);
  ASSERT_TRUE(GoPclntab::parse(table));
  auto cut = GoPclntab::parse(table.first(4096));
  if (cut) {
    uint32_t readable = 0;
    for (uint32_t i = 0; i < cut->function_count(); ++i) readable += cut->function(i).has_value();
    EXPECT_LT(readable, GoPclntab::parse(table)->function_count());
  }
}

}  // namespace
}  // namespace gputrace::gc
