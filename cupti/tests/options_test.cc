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
                          "GPUTRACE_CUPTI_API", "GPUTRACE_CUPTI_MEMORY"})
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

}  // namespace
}  // namespace gputrace::cupti
