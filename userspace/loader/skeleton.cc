#include "userspace/loader/skeleton.h"

#include <bpf/btf.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace gputrace {

Result<Skeleton> Skeleton::open(const SkeletonOps& ops) {
  void* skel = ops.open();
  if (!skel) return fail_errno(errno, "cannot open BPF object {}", ops.name);
  return Skeleton(ops, skel);
}

Skeleton::Skeleton(Skeleton&& o) noexcept
    : ops_(o.ops_), skel_(std::exchange(o.skel_, nullptr)), links_(std::move(o.links_)) {}

Skeleton& Skeleton::operator=(Skeleton&& o) noexcept {
  if (this != &o) {
    release();
    ops_ = o.ops_;
    skel_ = std::exchange(o.skel_, nullptr);
    links_ = std::move(o.links_);
  }
  return *this;
}

Skeleton::~Skeleton() { release(); }

void Skeleton::release() {
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) bpf_link__destroy(*it);
  links_.clear();
  if (skel_) ops_.destroy(std::exchange(skel_, nullptr));
}

bpf_program* Skeleton::program(std::string_view name) const {
  return bpf_object__find_program_by_name(object(), std::string(name).c_str());
}

bool Skeleton::set_rodata(std::string_view var, const void* value, size_t size) {
  // Walk the .rodata datasec's BTF to find the variable's offset in the initial image.
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, object()) {
    const char* name = bpf_map__name(map);
    if (std::strstr(name, ".rodata")) break;
  }
  const btf* btf = bpf_object__btf(object());
  if (!map || !btf) return false;
  size_t image_size = 0;
  // libbpf 1.1 returns the mmap-ed initial image as const; it is writable until load
  auto* image = const_cast<char*>(static_cast<const char*>(bpf_map__initial_value(map, &image_size)));
  int sec_id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
  if (!image || sec_id < 0) return false;
  const btf_type* sec = btf__type_by_id(btf, sec_id);
  const btf_var_secinfo* info = btf_var_secinfos(sec);
  for (int i = 0; i < btf_vlen(sec); ++i, ++info) {
    const btf_type* v = btf__type_by_id(btf, info->type);
    if (var != btf__name_by_offset(btf, v->name_off)) continue;
    if (info->size != size || info->offset + size > image_size) return false;
    std::memcpy(image + info->offset, value, size);
    return true;
  }
  return false;
}

Result<void> Skeleton::load() {
  if (int err = bpf_object__load(object())) return fail_errno(err, "cannot load BPF object {}", ops_.name);
  return {};
}

}  // namespace gputrace
