// gpu_batch_emitter: a stand-in for a CUDA application, for the bridge tests. It links
// libgputrace_cupti.so, registers CUDA device 0 as the context-created callback would (PCI
// 0000:41:00.0, kEmitterDeviceName), pushes a hand-made CUPTI buffer (3 kernels, a memcpy, a
// memset, all on device 0) through the library's real processing path, then, with --malformed, sends the malformed
// batches listed in malformed_batches.h through the same transport, and prints which copy of
// the library it loaded. Whether the batches go
// out on the USDT probe or the socket is the library's own choice, as in an application.
#include "handmade_buffer.h"
#include "malformed_batches.h"

#include <dlfcn.h>

#include <cstdio>
#include <cstring>

extern "C" void gputrace_cupti_test_process_buffer(uint8_t* buffer, size_t valid);
extern "C" int gputrace_cupti_test_send_raw(const void* bytes, size_t len);
extern "C" int gputrace_cupti_test_add_device(uint32_t device_id, uint32_t pci_domain, uint32_t pci_bus,
                                              uint32_t pci_device, const char* name);

int main(int argc, char** argv) {
  if (!gputrace_cupti_test_add_device(0, 0, gputrace::cupti::testing::kEmitterDeviceBus, 0,
                                      gputrace::cupti::testing::kEmitterDeviceName))
    return 2;
  gputrace::cupti::testing::HandmadeBuffer buf;
  gputrace::cupti::testing::fill_reference_activity(buf);
  gputrace_cupti_test_process_buffer(buf.data(), buf.size());
  int sent = 0;
  if (argc > 1 && std::strcmp(argv[1], "--malformed") == 0) {
    for (const auto& m : gputrace::cupti::testing::malformed_batches())
      sent += gputrace_cupti_test_send_raw(m.bytes.data(), m.bytes.size());
  }
  // Which copy of the library this process runs: the probe reaches only the one gputrace
  // attached to, so a test of the socket route checks that it ran another.
  Dl_info where{};
  if (dladdr(reinterpret_cast<void*>(&gputrace_cupti_test_process_buffer), &where) && where.dli_fname)
    std::printf("library=%s\n", where.dli_fname);
  std::printf("malformed_sent=%d\n", sent);
  return 0;
}
