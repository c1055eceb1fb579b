// The injection library on a host without an NVIDIA driver (this build machine, CI): an
// application runs unaffected, and InitializeInjection degrades instead of failing.
#include "subprocess.h"

#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

namespace gputrace::cupti {
namespace {

using testing::run_program;

bool driver_present() {
  struct stat st {};
  return ::stat("/dev/nvidiactl", &st) == 0;
}

// The application loads the library as libcuda's cuInit would (nodriver_app.cc): the real
// library runs in a real process, finds no driver behind CUPTI, says so once and gets out of
// the way; the application's own output is unchanged.
TEST(InjectionWithoutDriver, ApplicationRunsUnaffected) {
  if (driver_present()) GTEST_SKIP() << "an NVIDIA driver is present: the gpu tier covers this host";
  const auto plain = run_program({GPUTRACE_NODRIVER_APP}, {"CUDA_INJECTION64_PATH="});
  const auto injected = run_program({GPUTRACE_NODRIVER_APP}, {"CUDA_INJECTION64_PATH=" GPUTRACE_CUPTI_LIBRARY,
                                                              "GPUTRACE_CUPTI_SOCKET="});
  EXPECT_EQ(plain.exit_code, 0);
  EXPECT_NE(plain.err.find("InitializeInjection=-1"), std::string::npos) << plain.err;  // not loaded
  EXPECT_EQ(injected.exit_code, 0) << injected.err;
  EXPECT_EQ(injected.out, "cuda=unavailable devices=0 sum=500500\n");
  EXPECT_EQ(injected.out, plain.out);
  // Loaded, initialised, and reported success to "libcuda" anyway.
  EXPECT_NE(injected.err.find("InitializeInjection=1"), std::string::npos) << injected.err;
  EXPECT_NE(injected.err.find("gputrace-cupti["), std::string::npos) << injected.err;
  EXPECT_NE(injected.err.find("cuptiSubscribe failed"), std::string::npos) << injected.err;
  EXPECT_NE(injected.err.find("GPU activity will not be traced"), std::string::npos) << injected.err;
}

// What libcuda would do with a driver: dlopen the library and call InitializeInjection. With
// no driver CUPTI refuses to subscribe; the library must say so and report success anyway.
TEST(InjectionWithoutDriver, InitializeInjectionDegradesAndSaysWhy) {
  if (driver_present()) GTEST_SKIP() << "an NVIDIA driver is present: the gpu tier covers this host";
  ::setenv("GPUTRACE_CUPTI_SOCKET", "", 1);  // a daemon on this host must not hear the test's status
  void* lib = ::dlopen(GPUTRACE_CUPTI_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << ::dlerror();
  auto init = reinterpret_cast<int (*)()>(::dlsym(lib, "InitializeInjection"));
  ASSERT_NE(init, nullptr);
  ::testing::internal::CaptureStderr();
  const int first = init();
  const int second = init();  // libcuda calls it once; a second call must be harmless
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(first, 1);
  EXPECT_EQ(second, 1);
  EXPECT_NE(err.find("gputrace-cupti"), std::string::npos) << err;
  EXPECT_NE(err.find("GPU activity will not be traced"), std::string::npos) << err;
}

// The context-created callback's device lookup with no driver in the process: the device is
// left to the daemon's fallback, said once on stderr, and nothing breaks.
TEST(InjectionWithoutDriver, DeviceLookupWithoutADriverSaysSoOnce) {
  if (driver_present()) GTEST_SKIP() << "an NVIDIA driver is present: the gpu tier covers this host";
  ::setenv("GPUTRACE_CUPTI_SOCKET", "", 1);  // a daemon on this host must not hear the test's status
  void* lib = ::dlopen(GPUTRACE_CUPTI_LIBRARY, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(lib, nullptr) << ::dlerror();
  auto describe = reinterpret_cast<void (*)(uint32_t)>(::dlsym(lib, "gputrace_cupti_test_describe_device"));
  ASSERT_NE(describe, nullptr);
  ::testing::internal::CaptureStderr();
  describe(0);
  describe(0);  // a second context on the same device
  describe(1);
  const std::string err = ::testing::internal::GetCapturedStderr();
  const std::string line = "cannot read the PCI address of CUDA device 0";
  const size_t at = err.find(line);
  EXPECT_NE(at, std::string::npos) << err;
  EXPECT_EQ(err.find(line, at + 1), std::string::npos) << err;  // once per device
  EXPECT_NE(err.find("cannot read the PCI address of CUDA device 1"), std::string::npos) << err;
  EXPECT_NE(err.find("not found in the loaded CUDA driver"), std::string::npos) << err;
}

}  // namespace
}  // namespace gputrace::cupti
