#include "userspace/loader/kernel_tracer.h"

extern "C" {
#include "bpf/common.h"
}

#include "userspace/loader/flavour_choice.h"
#include "userspace/loader/objects.h"
#include "userspace/util/log.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>

namespace gputrace {
namespace {

// A hook being loaded: its status and the flavours still to try.
struct Candidate {
  HookStatus* status;
  std::vector<FlavourOption> options;
  size_t next = 0;
  const FlavourOption* current() const { return next < options.size() ? &options[next] : nullptr; }
};

void configure(Skeleton& skel, const std::vector<Candidate*>& chosen, const TraceConfig& config) {
  bpf_program* prog = nullptr;
  bpf_object__for_each_program(prog, skel.object()) bpf_program__set_autoload(prog, false);
  for (const Candidate* c : chosen) {
    const FlavourOption* opt = c->current();
    for (auto name : opt->programs->programs) {
      bpf_program* p = skel.program(name);
      bpf_program__set_autoload(p, true);
      // tp_btf and trampolines resolve their target at load; raw_tp/kprobe name it at attach
      if (opt->programs->flavour == Flavour::TpBtf || opt->programs->flavour == Flavour::Fentry)
        bpf_program__set_attach_target(p, 0, opt->target.c_str());
    }
    if (c->status->spec->id == "iommu_map_latency")
      skel.set_rodata<uint32_t>("map_size_arg", opt->target == "iommu_dma_map_phys" ? 2 : 3);
  }
  skel.set_rodata<bool>("gt_all_devices", config.all_devices);
  skel.set_rodata<bool>("gt_dma_pairing", config.kernel_pairing);
}

// Opens, configures and loads the object with exactly these hooks.
Result<Skeleton> try_load(const SkeletonOps& ops, const std::vector<Candidate*>& chosen, const TraceConfig& config,
                          const SharedMaps& maps) {
  auto skel = Skeleton::open(ops);
  if (!skel) return tl::unexpected(skel.error());
  configure(*skel, chosen, config);
  if (auto r = maps.reuse_in(skel->object()); !r) return tl::unexpected(r.error());
  if (auto r = skel->load(); !r) return tl::unexpected(r.error());
  return skel;
}

Result<bpf_link*> attach_program(bpf_program* prog, Flavour flavour, const std::string& target) {
  bpf_link* link = nullptr;
  switch (flavour) {
    case Flavour::TpBtf:
    case Flavour::Fentry: link = bpf_program__attach(prog); break;
    case Flavour::RawTp: link = bpf_program__attach_raw_tracepoint(prog, target.c_str()); break;
    case Flavour::Kprobe: {
      bool ret = std::strncmp(bpf_program__section_name(prog), "kretprobe", 9) == 0;
      link = bpf_program__attach_kprobe(prog, ret, target.c_str());
      break;
    }
  }
  if (!link) return fail_errno(errno, "attaching {} to {}", bpf_program__name(prog), target);
  return link;
}

}  // namespace

Result<std::unique_ptr<KernelTracer>> KernelTracer::start(const Features& features, const TraceConfig& config) {
  auto maps = SharedMaps::create(config.rings);
  if (!maps) return tl::unexpected(maps.error());
  std::unique_ptr<KernelTracer> t(new KernelTracer(std::move(*maps)));
  for (const HookSpec& spec : all_hooks()) t->hooks_.push_back(HookStatus{&spec, std::nullopt, {}, {}});
  for (const char* object : {"proc", "dma", "driver", "iommu", "pcie"})
    if (auto r = t->load_object(features, config, object); !r) return tl::unexpected(r.error());
  if (auto r = t->fill_device_names(config); !r) return tl::unexpected(r.error());
  t->attach_all();
  bool any = false;
  for (const auto& h : t->hooks_) any |= h.attached();
  if (!any) return fail("no kernel hook could be attached: run `gputrace doctor` to see why for each one");
  return t;
}

Result<void> KernelTracer::load_object(const Features& features, const TraceConfig& config, std::string_view object) {
  std::vector<Candidate> candidates;
  for (auto& h : hooks_) {
    if (h.spec->object != object) continue;
    candidates.push_back({&h, offered_flavours(*h.spec, features, config.prefer, h.notes)});
  }
  const SkeletonOps* ops = find_kernel_object(object);
  if (object == "dma" && !features.percpu_ksyms()) ops = find_kernel_object("dma_noirq");
  for (int attempt = 0; attempt < 5; ++attempt) {
    std::vector<Candidate*> chosen;
    for (auto& c : candidates)
      if (c.current()) chosen.push_back(&c);
    if (chosen.empty()) return {};
    const auto t0 = std::chrono::steady_clock::now();
    auto skel = try_load(*ops, chosen, config, maps_);
    // the verifier's time: seconds on an emulated CPU, so worth seeing with -v
    log_v1("BPF object {}: {} after {} ms (attempt {})", ops->name, skel ? "loaded" : "refused",
           std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(),
           attempt + 1);
    if (skel) {
      for (Candidate* c : chosen) {
        c->status->flavour = c->current()->programs->flavour;  // provisional until attached
        c->status->target = c->current()->target;
      }
      if (auto r = maps_.adopt(skel->object()); !r) return r;
      objects_.push_back(std::move(*skel));
      object_index_[object] = objects_.size() - 1;  // "dma" may be served by dma_noirq
      return {};
    }
    // Find the hooks whose flavour does not load here, and move them to their next flavour.
    bool isolated = false;
    for (Candidate* c : chosen) {
      auto alone = try_load(*ops, {c}, config, maps_);
      if (alone) continue;
      c->status->notes.push_back(fmt::format("{}: {}", to_string(c->current()->programs->flavour),
                                             alone.error().describe()));
      log_v1("hook {}: {}", c->status->spec->id, c->status->notes.back());
      ++c->next;
      isolated = true;
    }
    if (!isolated) {
      for (Candidate* c : chosen) c->status->notes.push_back("load failed: " + skel.error().describe());
      return {};
    }
  }
  return {};
}

Result<void> KernelTracer::fill_device_names(const TraceConfig& config) {
  int fd = maps_.fd("gt_device_names");
  if (fd < 0) return {};
  for (const auto& name : config.devices) {
    char key[GT_DEVNAME_LEN] = {};
    if (name.size() >= sizeof(key)) return fail("device name '{}' is longer than {} characters", name, sizeof(key) - 1);
    std::memcpy(key, name.data(), name.size());
    uint8_t one = 1;
    if (bpf_map_update_elem(fd, key, &one, BPF_ANY)) return fail_errno(errno, "cannot add device '{}' to the filter", name);
  }
  return {};
}

void KernelTracer::attach_all() {
  for (auto& h : hooks_) {
    if (!h.flavour) continue;
    Skeleton* skel = &objects_[object_index_.at(h.spec->object)];
    const FlavourPrograms* programs = nullptr;
    for (const auto& fp : h.spec->flavours)
      if (fp.flavour == *h.flavour) programs = &fp;
    std::vector<bpf_link*> links;
    for (auto name : programs->programs) {
      auto link = attach_program(skel->program(name), *h.flavour, h.target);
      if (!link) {
        h.notes.push_back(fmt::format("{}: {}", to_string(*h.flavour), link.error().describe()));
        for (auto* l : links) bpf_link__destroy(l);
        links.clear();
        h.flavour.reset();
        log_warning("hook {} not attached: {}", h.spec->id, link.error().describe());
        break;
      }
      links.push_back(*link);
    }
    for (auto* l : links) skel->keep_link(l);
  }
}

bpf_program* KernelTracer::program(std::string_view object, std::string_view name) const {
  auto it = object_index_.find(object);
  if (it == object_index_.end()) return nullptr;
  bpf_program* p = objects_[it->second].program(name);
  return p && bpf_program__fd(p) >= 0 ? p : nullptr;
}

std::vector<ProgramStats> KernelTracer::program_stats() const {
  std::vector<ProgramStats> out;
  for (const auto& o : objects_) {
    bpf_program* prog = nullptr;
    bpf_object__for_each_program(prog, o.object()) {
      if (!bpf_program__autoload(prog) || bpf_program__fd(prog) < 0) continue;
      bpf_prog_info info{};
      uint32_t len = sizeof(info);
      if (bpf_obj_get_info_by_fd(bpf_program__fd(prog), &info, &len)) continue;
      out.push_back({bpf_program__name(prog), info.run_cnt, info.recursion_misses});
    }
  }
  return out;
}

}  // namespace gputrace
