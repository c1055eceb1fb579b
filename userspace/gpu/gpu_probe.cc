#include "userspace/gpu/gpu_probe.h"

#include "gpu.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <utility>
#include <vector>

namespace gputrace {

Result<GpuProbe> GpuProbe::attach(const SharedMaps& maps, const std::string& library_path, int pid) {
  GpuProbe probe;
  probe.skel_ = gpu_bpf::open();
  if (!probe.skel_) return fail_errno(errno, "cannot open the GPU batch BPF object");
  if (auto shared = maps.reuse_in(probe.skel_->obj); !shared) return tl::unexpected(shared.error());
  if (int err = gpu_bpf::load(probe.skel_))
    return fail_errno(err, "cannot load the GPU batch BPF program (it needs CONFIG_UPROBE_EVENTS and Linux 5.12 or "
                           "newer for its atomic exchange)");
  probe.link_ = bpf_program__attach_usdt(probe.skel_->progs.gt_gpu_batch_probe, pid, library_path.c_str(),
                                         "gputrace", "batch", nullptr);
  if (!probe.link_)
    return fail_errno(errno, "cannot attach to USDT gputrace:batch in {} (is it libgputrace_cupti.so?)",
                      library_path);
  return probe;
}

GpuProbe::GpuProbe(GpuProbe&& other) noexcept
    : skel_(std::exchange(other.skel_, nullptr)), link_(std::exchange(other.link_, nullptr)) {}

GpuProbe& GpuProbe::operator=(GpuProbe&& other) noexcept {
  if (this != &other) {
    destroy();
    skel_ = std::exchange(other.skel_, nullptr);
    link_ = std::exchange(other.link_, nullptr);
  }
  return *this;
}

GpuProbe::~GpuProbe() { destroy(); }

void GpuProbe::destroy() {
  // The link before the object: detaching first stops the program from running on a freed map.
  if (link_) bpf_link__destroy(link_);
  if (skel_) gpu_bpf::destroy(skel_);
  link_ = nullptr;
  skel_ = nullptr;
}

int GpuProbe::ring_fd() const { return bpf_map__fd(skel_->maps.gt_ring_gpu); }

Result<std::array<uint64_t, GT_GPU_PROBE_STAT_MAX>> GpuProbe::read_stats() const {
  std::array<uint64_t, GT_GPU_PROBE_STAT_MAX> total{};
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return fail_errno(ncpu, "cannot count possible CPUs");
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  const int fd = bpf_map__fd(skel_->maps.gt_gpu_probe_stats);
  for (uint32_t i = 0; i < GT_GPU_PROBE_STAT_MAX; ++i) {
    if (bpf_map_lookup_elem(fd, &i, per_cpu.data()) != 0) return fail_errno(errno, "cannot read GPU probe counter {}", i);
    for (uint64_t v : per_cpu) total[i] += v;
  }
  return total;
}

}  // namespace gputrace
