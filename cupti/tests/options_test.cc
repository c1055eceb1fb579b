// Options from the environment: values, fallbacks, and the line that names a bad variable.
#include "cupti/options.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <string>

namespace gputrace::cupti {
namespace {

class OptionsTest : public ::testing::Test {
 protected:
  void SetUp() override { clear(); }
  void TearDown() override { clear(); }
  static void clear() {
    for (const char* v : {"GPUTRACE_CUPTI_SOCKET", "GPUTRACE_CUPTI_FLUSH_MS", "GPUTRACE_CUPTI_BUFFER_KB",
                          "GPUTRACE_CUPTI_API", "GPUTRACE_CUPTI_MEMORY", "GPUTRACE_CUPTI_MAX_RECORDS_PER_S",
                          "GPUTRACE_CUPTI_MAX_THREAD_RECORDS_PER_S", "GPUTRACE_CUPTI_MAX_BUFFERS",
                          "GPUTRACE_CUPTI_DEVICE_BUFFERS", "GPUTRACE_CUPTI_OVERHEAD", "GPUTRACE_CUPTI_GRAPHS",
                          "GPUTRACE_CUPTI_MAX_SKEW_MS"})
      ::unsetenv(v);
  }
};

TEST_F(OptionsTest, DefaultsWithoutEnvironment) {
  const Options o = Options::from_environment();
  EXPECT_EQ(o.socket_path, kDefaultSocketPath);
  EXPECT_EQ(o.flush_ms, 100u);
  EXPECT_EQ(o.buffer_bytes, 1u << 20);
  EXPECT_FALSE(o.api);
  EXPECT_FALSE(o.memory);
  EXPECT_TRUE(o.problems.empty());
}

TEST_F(OptionsTest, FlagsAcceptTheUsualSpellingsOfOnAndOff) {
  for (const char* on : {"1", "true", "on", "yes", "TRUE", "On"}) {
    ::setenv("GPUTRACE_CUPTI_API", on, 1);
    EXPECT_TRUE(Options::from_environment().api) << on;
  }
  for (const char* off : {"0", "false", "off", "no", "FALSE", "Off"}) {
    ::setenv("GPUTRACE_CUPTI_API", off, 1);
    const Options o = Options::from_environment();
    EXPECT_FALSE(o.api) << off;
    EXPECT_TRUE(o.problems.empty()) << off;
  }
  ::setenv("GPUTRACE_CUPTI_MEMORY", "maybe", 1);
  const Options o = Options::from_environment();
  EXPECT_FALSE(o.memory);
  ASSERT_EQ(o.problems.size(), 1u);
  EXPECT_NE(o.problems[0].find("GPUTRACE_CUPTI_MEMORY=maybe"), std::string::npos) << o.problems[0];
}

TEST_F(OptionsTest, BadNumbersFallBackAndNameTheVariable) {
  ::setenv("GPUTRACE_CUPTI_FLUSH_MS", "10ms", 1);
  ::setenv("GPUTRACE_CUPTI_BUFFER_KB", "-1", 1);
  const Options o = Options::from_environment();
  EXPECT_EQ(o.flush_ms, 100u);
  EXPECT_EQ(o.buffer_bytes, 1u << 20);
  ASSERT_EQ(o.problems.size(), 2u);
  EXPECT_NE(o.problems[0].find("GPUTRACE_CUPTI_FLUSH_MS=10ms"), std::string::npos) << o.problems[0];
  EXPECT_NE(o.problems[1].find("GPUTRACE_CUPTI_BUFFER_KB=-1"), std::string::npos) << o.problems[1];
  ::setenv("GPUTRACE_CUPTI_FLUSH_MS", "99999999999999999999", 1);
  ::setenv("GPUTRACE_CUPTI_BUFFER_KB", "128", 1);
  const Options p = Options::from_environment();
  EXPECT_EQ(p.flush_ms, 100u);
  EXPECT_EQ(p.buffer_bytes, 128u * 1024);
  EXPECT_EQ(p.problems.size(), 1u);
}

TEST_F(OptionsTest, ASocketPathTooLongForSockaddrFallsBackToTheDefault) {
  ::setenv("GPUTRACE_CUPTI_SOCKET", ("/tmp/" + std::string(200, 'x')).c_str(), 1);
  const Options o = Options::from_environment();
  EXPECT_EQ(o.socket_path, kDefaultSocketPath);
  ASSERT_EQ(o.problems.size(), 1u);
  EXPECT_NE(o.problems[0].find("GPUTRACE_CUPTI_SOCKET"), std::string::npos);
  ::setenv("GPUTRACE_CUPTI_SOCKET", "", 1);  // empty is valid: USDT only
  EXPECT_EQ(Options::from_environment().socket_path, "");
}

TEST_F(OptionsTest, TheGuardsHaveDefaultsAndTakeTheirVariables) {
  const Options d = Options::from_environment();
  EXPECT_EQ(d.max_records_per_s, 1'000'000u);
  EXPECT_EQ(d.max_thread_records_per_s, 100'000u);
  EXPECT_EQ(d.max_buffers, 64u);
  EXPECT_EQ(d.device_buffers, 32u);
  EXPECT_TRUE(d.overhead);
  EXPECT_FALSE(d.graph_trace);
  EXPECT_EQ(d.max_skew_ms, 1000u);
  ::setenv("GPUTRACE_CUPTI_MAX_RECORDS_PER_S", "0", 1);
  ::setenv("GPUTRACE_CUPTI_GRAPHS", "graph", 1);
  ::setenv("GPUTRACE_CUPTI_OVERHEAD", "off", 1);
  ::setenv("GPUTRACE_CUPTI_MAX_BUFFERS", "1", 1);  // below 2: refused
  const Options o = Options::from_environment();
  EXPECT_EQ(o.max_records_per_s, 0u);
  EXPECT_TRUE(o.graph_trace);
  EXPECT_FALSE(o.overhead);
  EXPECT_EQ(o.max_buffers, 64u);
  ASSERT_EQ(o.problems.size(), 1u);
  EXPECT_NE(o.problems[0].find("GPUTRACE_CUPTI_MAX_BUFFERS=1"), std::string::npos) << o.problems[0];
}

// What `gputrace attach` hands the library: the same names, one per line.
TEST_F(OptionsTest, FromTextReadsTheSameSettingsAsTheEnvironment) {
  ::setenv("GPUTRACE_CUPTI_API", "1", 1);  // the text replaces the environment, not adds to it
  const Options o = Options::from_text(
      "GPUTRACE_CUPTI_SOCKET=/run/x.sock\nGPUTRACE_CUPTI_MEMORY=1\n\nGPUTRACE_CUPTI_GRAPHS=sometimes\njunk\n");
  EXPECT_EQ(o.socket_path, "/run/x.sock");
  EXPECT_TRUE(o.memory);
  EXPECT_FALSE(o.api);
  EXPECT_FALSE(o.graph_trace);
  ASSERT_EQ(o.problems.size(), 2u);
  EXPECT_NE(o.problems[0].find("GPUTRACE_CUPTI_GRAPHS=sometimes"), std::string::npos) << o.problems[0];
  EXPECT_NE(o.problems[1].find("'junk'"), std::string::npos) << o.problems[1];
}

}  // namespace
}  // namespace gputrace::cupti
