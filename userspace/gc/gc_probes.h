// GcProbes: owns the loaded gc.bpf.c object and attaches its programs to one runtime file
// (an interpreter, libjvm.so or a Go executable), for one process or for every process
// that maps the file, now or later.
#pragma once

#include "userspace/gc/runtime_detect.h"
#include "userspace/util/result.h"

#include <memory>
#include <vector>

struct bpf_link;
struct bpf_program;
struct gc_bpf;

namespace gputrace {
class SharedMaps;
}

namespace gputrace::gc {

// The links of one attachment, destroyed in reverse order of creation.
class ProbeLinks {
 public:
  ProbeLinks() = default;
  ProbeLinks(ProbeLinks&& o) noexcept : links_(std::move(o.links_)) {}
  ProbeLinks& operator=(ProbeLinks&& o) noexcept;
  ProbeLinks(const ProbeLinks&) = delete;
  ProbeLinks& operator=(const ProbeLinks&) = delete;
  ~ProbeLinks() { reset(); }

  void add(bpf_link* link) { links_.push_back(link); }
  void absorb(ProbeLinks&& other) {
    links_.insert(links_.end(), other.links_.begin(), other.links_.end());
    other.links_.clear();
  }
  size_t size() const { return links_.size(); }
  void reset();

 private:
  std::vector<bpf_link*> links_;
};

class GcProbes {
 public:
  // Opens gc.bpf.c, points its rings at `maps`, loads it. Attaches nothing.
  static Result<std::unique_ptr<GcProbes>> load(const SharedMaps& maps);
  ~GcProbes();

  // pid -1: every process mapping the file, including those started later.
  // Pause ends are attached before pause begins, so no begin is ever left without its end.
  Result<ProbeLinks> attach(const Detection& d, int pid);

  gc_bpf* skeleton() { return skel_; }

 private:
  explicit GcProbes(gc_bpf* skel) : skel_(skel) {}
  Result<ProbeLinks> attach_usdt(const Detection& d, int pid, const char* provider,
                                 std::initializer_list<std::pair<bpf_program*, const char*>> probes);
  Result<ProbeLinks> attach_go(const Detection& d, int pid);

  gc_bpf* skel_ = nullptr;
};

}  // namespace gputrace::gc
