#include "loader/shared_maps.h"

extern "C" {
#include "common.h"
}

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <string_view>
#include <vector>

namespace gputrace {

Result<SharedMaps> SharedMaps::create(const RingSizes& sizes) {
  SharedMaps m;
  int fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "gt_ring_bulk", 0, 0, sizes.bulk_bytes, nullptr);
  if (fd < 0) return fail_errno(errno, "cannot create the {}-byte bulk ring buffer", sizes.bulk_bytes);
  m.bulk_.reset(fd);
  fd = bpf_map_create(BPF_MAP_TYPE_RINGBUF, "gt_ring_crit", 0, 0, sizes.critical_bytes, nullptr);
  if (fd < 0) return fail_errno(errno, "cannot create the {}-byte critical ring buffer", sizes.critical_bytes);
  m.critical_.reset(fd);
  fd = bpf_map_create(BPF_MAP_TYPE_PERCPU_ARRAY, "gt_losses", sizeof(uint32_t), sizeof(uint64_t), GT_LOSS_BPF_MAX,
                      nullptr);
  if (fd < 0) return fail_errno(errno, "cannot create the loss counter map");
  m.losses_.reset(fd);
  return m;
}

Result<void> SharedMaps::reuse_in(bpf_object* obj) const {
  struct Shared {
    std::string_view name;
    int fd;
  };
  const Shared shared[] = {{"gt_ring_bulk", bulk_.get()}, {"gt_ring_critical", critical_.get()}, {"gt_losses", losses_.get()}};
  for (const auto& s : shared) {
    bpf_map* map = bpf_object__find_map_by_name(obj, s.name.data());
    if (!map) continue;  // an object that never writes to this map does not declare it
    if (int err = bpf_map__reuse_fd(map, s.fd))
      return fail_errno(err, "cannot share map {} with BPF object {}", s.name, bpf_object__name(obj));
  }
  return {};
}

Result<std::array<uint64_t, 8>> SharedMaps::read_losses() const {
  static_assert(GT_LOSS_BPF_MAX == 8);
  std::array<uint64_t, 8> total{};
  const int ncpu = libbpf_num_possible_cpus();
  if (ncpu <= 0) return fail_errno(ncpu, "cannot count possible CPUs");
  std::vector<uint64_t> per_cpu(static_cast<size_t>(ncpu));
  for (uint32_t i = 0; i < GT_LOSS_BPF_MAX; ++i) {
    if (bpf_map_lookup_elem(losses_.get(), &i, per_cpu.data()) != 0)
      return fail_errno(errno, "cannot read loss counter {}", i);
    for (uint64_t v : per_cpu) total[i] += v;
  }
  return total;
}

}  // namespace gputrace
