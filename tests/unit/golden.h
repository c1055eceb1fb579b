// Golden files: a rendering compared in full with tests/golden/NAME. After an intended
// change, regenerate with GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter=...
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace gputrace::test {

// name is relative to tests/golden/ and may name a subfolder.
inline void expect_golden(const std::string& actual, const std::string& name) {
  const std::string path = std::string(GPUTRACE_SOURCE_DIR) + "/tests/golden/" + name;
  if (std::getenv("GPUTRACE_UPDATE_GOLDEN")) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path) << actual;
    GTEST_SKIP() << "wrote " << path;
  }
  std::ifstream in(path);
  ASSERT_TRUE(in) << "missing golden file " << path << " (GPUTRACE_UPDATE_GOLDEN=1 writes it)";
  std::stringstream expected;
  expected << in.rdbuf();
  EXPECT_EQ(actual, expected.str()) << "the rendering differs from " << path
                                     << "; if intended, regenerate with GPUTRACE_UPDATE_GOLDEN=1";
}

}  // namespace gputrace::test
