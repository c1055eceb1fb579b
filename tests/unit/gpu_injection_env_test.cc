#include "userspace/gpu/injection_env.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <fstream>

namespace gputrace {
namespace {

bool has(const std::vector<std::string>& env, const std::string& entry) {
  return std::find(env.begin(), env.end(), entry) != env.end();
}

TEST(InjectionEnv, PointsCudaAtTheLibraryAndTheSocket) {
  const std::string lib = "/tmp/gputrace-injection-env-test.so";
  std::ofstream(lib) << "x";
  auto env = injection_env({.library_path = lib, .socket_path = "/run/x.sock", .api = true, .memory = false, .flush_ms = 50});
  ASSERT_TRUE(env) << env.error().describe();
  EXPECT_TRUE(has(*env, "CUDA_INJECTION64_PATH=" + lib));
  EXPECT_TRUE(has(*env, "GPUTRACE_CUPTI_SOCKET=/run/x.sock"));
  EXPECT_TRUE(has(*env, "GPUTRACE_CUPTI_API=1"));
  EXPECT_TRUE(has(*env, "GPUTRACE_CUPTI_FLUSH_MS=50"));
  EXPECT_FALSE(has(*env, "GPUTRACE_CUPTI_MEMORY=1"));
  std::remove(lib.c_str());
}

TEST(InjectionEnv, RefusesWhatIsNotALibraryFile) {
  EXPECT_FALSE(injection_env({.library_path = "/tmp"}));
  EXPECT_FALSE(injection_env({.library_path = "/nonexistent/libgputrace_cupti.so"}));
  ::setenv("GPUTRACE_CUPTI_LIB", "/nonexistent/lib.so", 1);
  auto found = find_injection_library();
  ::unsetenv("GPUTRACE_CUPTI_LIB");
  ASSERT_FALSE(found);
  EXPECT_NE(found.error().message.find("GPUTRACE_CUPTI_LIB"), std::string::npos);
}

}  // namespace
}  // namespace gputrace
