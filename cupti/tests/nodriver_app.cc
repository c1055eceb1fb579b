// nodriver_app: a CUDA runtime application that must run unaffected under the injection
// library on a host without a driver: it asks for devices, falls back to the CPU, and prints
// a result the test checks.
#include <cuda_runtime_api.h>

#include <cstdio>

int main() {
  int devices = -1;
  const cudaError_t err = cudaGetDeviceCount(&devices);
  long long sum = 0;
  for (int i = 1; i <= 1000; ++i) sum += i;
  std::printf("cuda=%s devices=%d sum=%lld\n", err == cudaSuccess ? "ok" : "unavailable",
              err == cudaSuccess ? devices : 0, sum);
  return 0;
}
