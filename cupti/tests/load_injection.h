// What libcuda does inside cuInit when CUDA_INJECTION64_PATH is set: dlopen the library and
// call its InitializeInjection. On a host without a driver libcuda is never there to do it,
// so the test applications do it themselves, to run the real library in a real process.
#pragma once

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace gputrace::cupti::testing {

// -1: CUDA_INJECTION64_PATH unset; -2: the library or its entry point could not be loaded;
// otherwise what InitializeInjection returned.
inline int load_injection_like_libcuda() {
  const char* path = std::getenv("CUDA_INJECTION64_PATH");
  if (path == nullptr || *path == '\0') return -1;
  void* lib = ::dlopen(path, RTLD_NOW | RTLD_GLOBAL);
  if (lib == nullptr) {
    std::fprintf(stderr, "load_injection: %s\n", ::dlerror());
    return -2;
  }
  auto init = reinterpret_cast<int (*)()>(::dlsym(lib, "InitializeInjection"));
  if (init == nullptr) return -2;
  return init();
}

}  // namespace gputrace::cupti::testing
