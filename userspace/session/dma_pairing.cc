#include "userspace/session/dma_pairing.h"

#include "dma_sweep.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace gputrace {
namespace {

// bpf/dma_table.bpf.h's struct gt_sweep (BPF-only there)
struct SweepOutcome {
  uint64_t now_ns, now_jiffies, promote_jiffies;
  uint32_t tombstone_jiffies, mode, dev, promoted, expired, deferred, live, dead;
};
static_assert(sizeof(SweepOutcome) == 56);

constexpr uint32_t kMaxDeviceSlots = 256;  // GT_DMA_MAX_DEVICES
constexpr int kFlushRounds = 64;

bool same(const gt_dma_counts& a, const gt_dma_counts& b) { return std::memcmp(&a, &b, sizeof(a)) == 0; }

}  // namespace

Result<DmaPairing> DmaPairing::start(const SharedMaps& maps, PairingConfig config) {
  if (maps.fd("gt_dma_table") < 0 || maps.fd("gt_dma_counts") < 0 || maps.fd("gt_device_slots") < 0)
    return fail("the DMA collector did not load: DMA mappings cannot be paired in the kernel");
  auto skel = Skeleton::open(skeleton_ops<dma_sweep_bpf>("dma_sweep"));
  if (!skel) return tl::unexpected(skel.error());
  if (auto r = maps.reuse_in(skel->object()); !r) return tl::unexpected(r.error());
  if (auto r = skel->load(); !r) return tl::unexpected(r.error());
  DmaPairing p(std::move(*skel), config);
  p.counts_fd_ = maps.fd("gt_dma_counts");
  p.slots_fd_ = maps.fd("gt_device_slots");
  if (auto first = p.sweep(); !first) return tl::unexpected(first.error());  // starts measuring the tick
  return p;
}

Result<SweepResult> DmaPairing::sweep(Mode mode) {
  const uint64_t ms = 1'000'000;
  std::array<uint64_t, 3> args{static_cast<uint64_t>(mode), config_.promote_after.count() * ms,
                               config_.tombstone.count() * ms};
  LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args.data(), .ctx_size_in = sizeof(args));
  bpf_program* prog = skel_.program("dma_sweep");
  if (!prog || bpf_prog_test_run_opts(bpf_program__fd(prog), &opts) != 0)
    return fail_errno(errno, "cannot run the DMA pairing sweep");
  SweepOutcome out{};
  const uint32_t zero = 0;
  bpf_map* result = bpf_object__find_map_by_name(skel_.object(), "sweep_result");
  if (!result || bpf_map_lookup_elem(bpf_map__fd(result), &zero, &out) != 0)
    return fail_errno(errno, "cannot read the DMA pairing sweep's result");
  ++sweeps_;
  promoted_ += out.promoted;
  return SweepResult{out.promoted, out.expired, out.deferred, out.live, out.dead};
}

Result<SweepResult> DmaPairing::flush(const std::function<void()>& drain) {
  SweepResult total;
  for (int round = 0; round < kFlushRounds; ++round) {
    auto r = sweep(Mode::All);
    if (!r) return r;
    total.promoted += r->promoted;
    total.live = r->live;
    total.deferred = r->deferred;
    drain();
    if (r->deferred == 0) break;
  }
  return total;
}

Result<std::vector<OwnedRecord>> DmaPairing::counts(uint64_t ts) {
  std::vector<OwnedRecord> out;
  const uint32_t zero = 0;
  uint64_t used = 0;
  if (bpf_map_lookup_elem(slots_fd_, &zero, &used) != 0) return fail_errno(errno, "cannot read the device slots");
  used = std::min<uint64_t>(used, kMaxDeviceSlots);
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return fail_errno(-ncpu, "cannot count possible CPUs");
  std::vector<gt_dma_counts> per_cpu(static_cast<size_t>(ncpu));
  if (last_.size() < used) last_.resize(used);
  for (uint32_t slot = 0; slot < used; ++slot) {
    if (bpf_map_lookup_elem(counts_fd_, &slot, per_cpu.data()) != 0)
      return fail_errno(errno, "cannot read the DMA counters of slot {}", slot);
    gt_dma_counts sum{};
    for (const auto& c : per_cpu) {
      for (size_t i = 0; i < 3; ++i) {
        sum.maps[i] += c.maps[i];
        sum.unmaps[i] += c.unmaps[i];
        sum.map_bytes[i] += c.map_bytes[i];
        sum.unmap_bytes[i] += c.unmap_bytes[i];
      }
    }
    if (same(sum, last_[slot])) continue;
    last_[slot] = sum;
    gt_dma_counts_event e{};
    fill_user_header(e.hdr, GT_EV_DMA_COUNTS, ts);
    const uint32_t index = slot + 1;
    if (bpf_map_lookup_elem(slots_fd_, &index, &e.dev) != 0)
      return fail_errno(errno, "cannot read the device of slot {}", slot);
    e.counts = sum;
    e.slot = slot;
    out.push_back(OwnedRecord::of(e));
  }
  return out;
}

}  // namespace gputrace
