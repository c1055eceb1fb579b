// PairingConfig: the timing of DMA pairing in the kernel (bpf/dma_table.bpf.h), set when
// the tracer loads and used by the live session's sweep (userspace/session/dma_pairing.h).
#pragma once

#include <chrono>

namespace gputrace {

struct PairingConfig {
  // Below the owner-exit grace (2 s) by a margin: every mapping that can become an
  // owner-exit leak has been promoted, and its record delivered, before it is judged.
  std::chrono::milliseconds promote_after{500};
  std::chrono::milliseconds sweep_period{100};
  // How long a closed pair is kept to recognise a second unmap of its address.
  std::chrono::milliseconds tombstone{500};
};

}  // namespace gputrace
