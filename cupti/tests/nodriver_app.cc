// nodriver_app: a CUDA runtime application that must run unaffected under the injection
// library on a host without a driver: it asks for devices, falls back to the CPU, and prints
// a result the test checks.
//
// Without a driver libcudart never reaches libcuda's cuInit, which is what loads the library
// named by CUDA_INJECTION64_PATH; so the application loads it first, as cuInit would
// (load_injection.h), and reports what InitializeInjection returned.
#include "load_injection.h"

#include <cuda_runtime_api.h>

#include <cstdio>

int main() {
  const int injection = gputrace::cupti::testing::load_injection_like_libcuda();
  int devices = -1;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  long long sum = 0;
  for (int i = 1; i <= 1000; ++i) sum += i;
  std::printf("cuda=%s devices=%d sum=%lld\n", err == cudaSuccess ? "ok" : "unavailable",
              err == cudaSuccess ? devices : 0, sum);
  std::fprintf(stderr, "nodriver_app: InitializeInjection=%d\n", injection);
  return 0;
}
