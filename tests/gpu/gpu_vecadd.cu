// gpu_vecadd: the gpu tier's workload, with activity the checker knows exactly:
//   kernels   10 launches of vecadd
//   memcpy    2 x 4 MiB host-to-device (pageable), 1 x 4 MiB device-to-host
//   memset    1 x 4 MiB on the device
// It prints MONO_BEGIN/MONO_END (CLOCK_MONOTONIC ns) around all GPU work: every traced
// record must fall inside that window. PCI_BUS_ID is the runtime's own word on where its
// device is, for the library's GT_EV_GPU_DEVICE record to be checked against.
#include <cuda_runtime.h>
#include <time.h>

#include <cstdio>
#include <vector>

namespace {

constexpr int kN = 1 << 20;  // floats: 4 MiB per buffer
constexpr int kLaunches = 10;

unsigned long long monotonic_ns() {
  timespec t{};
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1000000000ull + t.tv_nsec;
}

__global__ void vecadd(const float* a, const float* b, float* c, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) c[i] = a[i] + b[i];
}

bool check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  std::fprintf(stderr, "gpu_vecadd: %s: %s\n", what, cudaGetErrorString(e));
  return false;
}

}  // namespace

int main() {
  std::vector<float> ha(kN), hb(kN), hc(kN);
  for (int i = 0; i < kN; ++i) {
    ha[i] = static_cast<float>(i);
    hb[i] = 2.0f * static_cast<float>(i);
  }
  const size_t bytes = kN * sizeof(float);
  // cudaFree(0) creates the context (and loads the injection library) before the window opens.
  if (!check(cudaFree(nullptr), "cudaFree(0)")) return 1;
  int device = 0;
  char pci[32] = {};
  if (!check(cudaGetDevice(&device), "cudaGetDevice") ||
      !check(cudaDeviceGetPCIBusId(pci, sizeof(pci), device), "cudaDeviceGetPCIBusId"))
    return 1;
  std::printf("CUDA_DEVICE=%d\nPCI_BUS_ID=%s\n", device, pci);
  std::printf("MONO_BEGIN=%llu\n", monotonic_ns());
  float *a = nullptr, *b = nullptr, *c = nullptr;
  if (!check(cudaMalloc(&a, bytes), "cudaMalloc") || !check(cudaMalloc(&b, bytes), "cudaMalloc") ||
      !check(cudaMalloc(&c, bytes), "cudaMalloc"))
    return 1;
  if (!check(cudaMemcpy(a, ha.data(), bytes, cudaMemcpyHostToDevice), "memcpy HtoD") ||
      !check(cudaMemcpy(b, hb.data(), bytes, cudaMemcpyHostToDevice), "memcpy HtoD") ||
      !check(cudaMemset(c, 0, bytes), "memset"))
    return 1;
  for (int i = 0; i < kLaunches; ++i) vecadd<<<(kN + 255) / 256, 256>>>(a, b, c, kN);
  if (!check(cudaGetLastError(), "launch") ||
      !check(cudaMemcpy(hc.data(), c, bytes, cudaMemcpyDeviceToHost), "memcpy DtoH") ||
      !check(cudaDeviceSynchronize(), "synchronize"))
    return 1;
  std::printf("MONO_END=%llu\n", monotonic_ns());
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  const bool ok = hc[12345] == 3.0f * 12345;
  std::printf("result=%s\n", ok ? "ok" : "wrong");
  return ok ? 0 : 2;
}
