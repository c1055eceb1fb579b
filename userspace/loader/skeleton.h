// Skeleton: one opened (and later loaded) BPF object from a generated libbpf skeleton,
// handled generically so one loader drives every concern. Owns the object and its links;
// links are destroyed in reverse order, then the object.
#pragma once

#include "userspace/util/result.h"

#include <bpf/libbpf.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace gputrace {

// How to open and destroy one generated skeleton type.
struct SkeletonOps {
  std::string_view name;
  void* (*open)();
  bpf_object* (*object)(void* skel);
  void (*destroy)(void* skel);
};

template <class Skel>
SkeletonOps skeleton_ops(std::string_view name) {
  return {name, []() -> void* { return Skel::open(); },
          [](void* s) { return static_cast<Skel*>(s)->obj; },
          [](void* s) { Skel::destroy(static_cast<Skel*>(s)); }};
}

class Skeleton {
 public:
  static Result<Skeleton> open(const SkeletonOps& ops);
  Skeleton(Skeleton&& o) noexcept;
  Skeleton& operator=(Skeleton&& o) noexcept;
  Skeleton(const Skeleton&) = delete;
  ~Skeleton();

  bpf_object* object() const { return ops_.object(skel_); }
  std::string_view name() const { return ops_.name; }
  bpf_program* program(std::string_view name) const;

  // Sets a `const volatile` global before load; false when the object has no such variable.
  bool set_rodata(std::string_view var, const void* value, size_t size);
  template <class T>
  bool set_rodata(std::string_view var, T value) {
    return set_rodata(var, &value, sizeof(value));
  }

  Result<void> load();
  void keep_link(bpf_link* link) { links_.push_back(link); }

 private:
  Skeleton(SkeletonOps ops, void* skel) : ops_(ops), skel_(skel) {}
  void release();
  SkeletonOps ops_;
  void* skel_ = nullptr;
  std::vector<bpf_link*> links_;
};

}  // namespace gputrace
