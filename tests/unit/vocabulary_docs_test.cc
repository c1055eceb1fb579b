// The documentation's lists of record kinds, loss counters and finding kinds are derived from
// the tables that define them (bpf/kinds.h, userspace/model/loss_counters.h,
// userspace/model/finding.h): a kind or counter added there must be documented before the
// tests pass. Regenerate the generated sections after adding one:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Vocabulary*'   (from build/tests)
#include "userspace/decode/kinds.h"
#include "userspace/model/finding.h"
#include "userspace/model/loss_counters.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

namespace gputrace {
namespace {

std::string doc_path(const std::string& name) { return std::string(GPUTRACE_SOURCE_DIR) + "/docs/" + name; }

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The text between "<!-- generated: NAME -->" and "<!-- end generated -->" in a doc must be
// `expected`; with GPUTRACE_UPDATE_GOLDEN set, it is rewritten to be.
void expect_generated_section(const std::string& doc, const std::string& name, const std::string& expected) {
  const std::string path = doc_path(doc);
  std::string text = read(path);
  const std::string begin = "<!-- generated: " + name + " -->\n", end = "<!-- end generated -->";
  const size_t b = text.find(begin);
  ASSERT_NE(b, std::string::npos) << doc << " has no section marked " << begin;
  const size_t e = text.find(end, b);
  ASSERT_NE(e, std::string::npos) << doc << ": the section " << name << " is not closed";
  const std::string actual = text.substr(b + begin.size(), e - b - begin.size());
  if (actual != expected && std::getenv("GPUTRACE_UPDATE_GOLDEN")) {
    text.replace(b + begin.size(), e - b - begin.size(), expected);
    std::ofstream(path) << text;
    return;
  }
  EXPECT_EQ(actual, expected) << doc << "'s list of " << name
                              << " is out of date: regenerate it (see this test's header)";
}

const char* stream_name(RecordStream s) {
  switch (s) {
    case RecordStream::Kernel: return "kernel";
    case RecordStream::Gpu: return "GPU";
    case RecordStream::Envelope: return "envelope";
  }
  return "?";
}

const char* source_name(LossSource s) {
  switch (s) {
    case LossSource::Kernel: return "kernel";
    case LossSource::Tracer: return "tracer";
    case LossSource::Daemon: return "daemon";
    case LossSource::Engine: return "engine";
    case LossSource::Library: return "injection library";
    case LossSource::Input: return "capture reader";
    case LossSource::Exporter: return "exporter";
  }
  return "?";
}

TEST(Vocabulary, CaptureFormatListsEveryRecordKind) {
  std::string table = "| kind | name | payload | bytes | source | stream |\n|---:|---|---|---:|---|---|\n";
  for (uint16_t k = 0; k < GT_EV_KIND_MAX; ++k) {
    const KindInfo& info = kind_info(k);
    if (info.name.empty()) continue;
    table += fmt::format("| {} | `{}` | `{}` | {} | {} | {} |\n", k, info.name, info.payload, info.min_size,
                         info.source, stream_name(info.stream));
  }
  expect_generated_section("capture-format.md", "record kinds", table);
}

TEST(Vocabulary, MetricsListsEveryLossCounter) {
  std::string table = "| counter | counts | counted by |\n|---|---|---|\n";
  for (const LossInfo& l : kLossTable) table += fmt::format("| `{}` | {} | {} |\n", l.name, l.help, source_name(l.source));
  table += fmt::format("| `{}<program>` | {} | kernel |\n", kRecursionMissPrefix, kRecursionMissHelp);
  expect_generated_section("metrics.md", "loss counters", table);
}

TEST(Vocabulary, FindingsDocumentsEveryFindingKindAndNoOther) {
  const std::string text = read(doc_path("findings.md"));
  std::set<std::string> documented;
  const std::regex heading(R"(\n## ([a-z_]+) \(([^)]*)\)\n)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), heading); it != std::sregex_iterator(); ++it) {
    documented.insert((*it)[1]);
    bool known = false;
    for (const FindingKindInfo& k : kFindingKinds) {
      if (k.name != (*it)[1].str()) continue;
      known = true;
      EXPECT_EQ((*it)[2].str(), k.severity) << "docs/findings.md gives " << k.name << " another severity";
    }
    EXPECT_TRUE(known) << "docs/findings.md documents '" << (*it)[1] << "', which is not in GT_FINDING_KINDS";
  }
  for (const FindingKindInfo& k : kFindingKinds)
    EXPECT_TRUE(documented.contains(std::string(k.name))) << "docs/findings.md has no section '## " << k.name << " ("
                                                          << k.severity << ")'";
}

}  // namespace
}  // namespace gputrace
