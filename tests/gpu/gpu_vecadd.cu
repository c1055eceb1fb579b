// gpu_vecadd: the gpu tier's workload.
//
// gpu_vecadd           GPU activity the checker (vecadd_check.h) can match exactly:
//                        kernels  10 launches of vecadd
//                        memcpy   2 x 4 MiB host-to-device, 1 x 4 MiB device-to-host (pageable)
//                        memset   1 x 4 MiB on the device
//                      It prints what it did as KEY=VALUE lines, counting calls as they succeed,
//                      and MONO_BEGIN/MONO_END (CLOCK_MONOTONIC ns) around all GPU work: every
//                      traced record must fall inside that window. PCI_BUS_ID is the runtime's
//                      own word on where its device is, for GT_EV_GPU_DEVICE to be checked.
// gpu_vecadd --loop N  launch overhead: warm-up, then N launches of an empty kernel and one
//                      synchronize, timed: prints LOOP_NS (the gpu tier compares runs with and
//                      without the injection library).
#include <cuda_runtime.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

constexpr int kN = 1 << 20;  // floats: 4 MiB per buffer
constexpr int kLaunches = 10;
constexpr int kBlock = 256;
constexpr int kWarmupLaunches = 1000;

unsigned long long monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000ull + t.tv_nsec;
}

// CUPTI converts GPU timestamps to CLOCK_MONOTONIC with some error (microseconds): a margin
// on each side keeps a correct record from landing outside the window by that error alone.
void window_margin() { usleep(1000); }

__global__ void vecadd(const float* a, const float* b, float* c, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

__global__ void empty() {}

bool check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  std::fprintf(stderr, "gpu_vecadd: %s: %s\n", what, cudaGetErrorString(e));
  return false;
}

int run_vecadd() {
  std::vector<float> ha(kN), hb(kN), hc(kN);
  for (int i = 0; i < kN; ++i) {
    ha[i] = static_cast<float>(i);
    hb[i] = 2.0f * static_cast<float>(i);
  }
  const size_t bytes = kN * sizeof(float);
  const int grid = (kN + kBlock - 1) / kBlock;
  // cudaFree(0) creates the context (and loads the injection library) before the window opens.
  if (!check(cudaFree(nullptr), "cudaFree(0)")) return 1;
  int device = 0;
  char pci[32] = {};
  if (!check(cudaGetDevice(&device), "cudaGetDevice") ||
      !check(cudaDeviceGetPCIBusId(pci, sizeof(pci), device), "cudaDeviceGetPCIBusId"))
    return 1;
  std::printf("PID=%d\nCUDA_DEVICE=%d\nPCI_BUS_ID=%s\n", static_cast<int>(getpid()), device, pci);
  float *a = nullptr, *b = nullptr, *c = nullptr;
  if (!check(cudaMalloc(&a, bytes), "cudaMalloc") || !check(cudaMalloc(&b, bytes), "cudaMalloc") ||
      !check(cudaMalloc(&c, bytes), "cudaMalloc"))
    return 1;

  std::printf("MONO_BEGIN=%llu\n", monotonic_ns());
  window_margin();
  int htod = 0, dtoh = 0, memsets = 0, kernels = 0;
  if (!check(cudaMemcpy(a, ha.data(), bytes, cudaMemcpyHostToDevice), "memcpy HtoD")) return 1;
  ++htod;
  if (!check(cudaMemcpy(b, hb.data(), bytes, cudaMemcpyHostToDevice), "memcpy HtoD")) return 1;
  ++htod;
  if (!check(cudaMemset(c, 0, bytes), "memset")) return 1;
  ++memsets;
  for (int i = 0; i < kLaunches; ++i) {
    vecadd<<<grid, kBlock>>>(a, b, c, kN);
    if (!check(cudaGetLastError(), "launch")) return 1;
    ++kernels;
  }
  if (!check(cudaMemcpy(hc.data(), c, bytes, cudaMemcpyDeviceToHost), "memcpy DtoH")) return 1;
  ++dtoh;
  if (!check(cudaDeviceSynchronize(), "synchronize")) return 1;
  window_margin();
  std::printf("MONO_END=%llu\n", monotonic_ns());

  std::printf("KERNELS=%d\nKERNEL_NAME=vecadd\nKERNEL_GRID=%d\nKERNEL_BLOCK=%d\n", kernels, grid, kBlock);
  std::printf("HTOD_COPIES=%d\nDTOH_COPIES=%d\nCOPY_BYTES=%zu\n", htod, dtoh, bytes);
  std::printf("MEMSETS=%d\nMEMSET_BYTES=%zu\n", memsets, bytes);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  const bool ok = hc[12345] == 3.0f * 12345;
  std::printf("RESULT=%s\n", ok ? "ok" : "wrong");
  return ok ? 0 : 2;
}

// Launch-bound on purpose: an empty kernel costs the GPU almost nothing, so the time is the
// host's launch path, which is where an injected CUPTI subscriber adds its cost.
int run_loop(long launches) {
  if (!check(cudaFree(nullptr), "cudaFree(0)")) return 1;
  // Warm-up: module load, first-launch setup and CUPTI's first buffers are not what is measured.
  for (int i = 0; i < kWarmupLaunches; ++i) empty<<<1, 1>>>();
  if (!check(cudaDeviceSynchronize(), "warm-up")) return 1;
  const unsigned long long t0 = monotonic_ns();
  for (long i = 0; i < launches; ++i) empty<<<1, 1>>>();
  if (!check(cudaGetLastError(), "launch") || !check(cudaDeviceSynchronize(), "synchronize")) return 1;
  const unsigned long long t1 = monotonic_ns();
  std::printf("PID=%d\nLOOP_LAUNCHES=%ld\nLOOP_NS=%llu\n", static_cast<int>(getpid()), launches, t1 - t0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 1) return run_vecadd();
  if (argc == 3 && std::strcmp(argv[1], "--loop") == 0) {
    char* end = nullptr;
    const long n = std::strtol(argv[2], &end, 10);
    if (*end == '\0' && n > 0) return run_loop(n);
  }
  std::fprintf(stderr, "usage: gpu_vecadd [--loop LAUNCHES]\n");
  return 2;
}
