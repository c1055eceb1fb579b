#include "userspace/loader/shared_maps.h"

extern "C" {
#include "bpf/common.h"
}

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>

#include <cerrno>
#include <string_view>
#include <vector>

namespace gputrace {
namespace {

bool is_shared(const char* name) { return std::string_view(name).starts_with("gt_"); }

}  // namespace

Result<SharedMaps> SharedMaps::create(const RingSizes& sizes) {
  SharedMaps m;
  // bpf_map_create truncates names to 15 characters; the registry keys on the BPF-side name.
  int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "gt_ring_bulk", 0, 0, sizes.bulk_bytes, nullptr);
  if (fd < 0) return fail_errno(errno, "cannot create the {}-byte bulk ring buffer", sizes.bulk_bytes);
  m.maps_["gt_ring_bulk"].reset(fd);
  fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "gt_ring_crit", 0, 0, sizes.critical_bytes, nullptr);
  if (fd < 0) return fail_errno(errno, "cannot create the {}-byte critical ring buffer", sizes.critical_bytes);
  m.maps_["gt_ring_critical"].reset(fd);
  fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "gt_losses", sizeof(uint32_t), sizeof(uint64_t), GT_LOSS_BPF_MAX,
                      nullptr);
  if (fd < 0) return fail_errno(errno, "cannot create the loss counter map");
  m.maps_["gt_losses"].reset(fd);
  return m;
}

Result<void> SharedMaps::reuse_in(bpf_object* obj) const {
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj) {
    auto it = maps_.find(bpf_map__name(map));
    if (it == maps_.end()) continue;
    if (int err = bpf_map__reuse_fd(map, it->second.get()))
      return fail_errno(err, "cannot share map {} with BPF object {}", it->first, bpf_object__name(obj));
  }
  return {};
}

Result<void> SharedMaps::adopt(bpf_object* obj) {
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, obj) {
    const char* name = bpf_map__name(map);
    if (!is_shared(name) || maps_.count(name)) continue;
    int fd = fcntl(bpf_map__fd(map), F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return fail_errno(errno, "cannot keep shared map {}", name);
    maps_[name].reset(fd);
  }
  return {};
}

int SharedMaps::fd(const std::string& name) const {
  auto it = maps_.find(name);
  return it == maps_.end() ? -1 : it->second.get();
}

Result<std::array<uint64_t, kBpfLossSlots>> SharedMaps::read_losses() const {
  static_assert(GT_LOSS_BPF_MAX == kBpfLossSlots);
  std::array<uint64_t, kBpfLossSlots> total{};
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return fail_errno(ncpu, "cannot count possible CPUs");
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  for (uint32_t i = 0; i < GT_LOSS_BPF_MAX; ++i) {
    if (bpf_map_lookup_elem(losses_fd(), &i, per_cpu.data()) != 0)
      return fail_errno(errno, "cannot read loss counter {}", i);
    for (uint64_t v : per_cpu) total[i] += v;
  }
  return total;
}

Result<void> SharedMaps::set_shed_flags(uint32_t flags) const {
  const int map = fd("gt_shed");
  if (map < 0) return fail("no BPF object declared the gt_shed map");
  const uint32_t zero = 0;
  if (bpf_map_update_elem(map, &zero, &flags, BPF_ANY) != 0) return fail_errno(errno, "cannot set gt_shed");
  return {};
}

}  // namespace gputrace
