#include "userspace/gc/gc_probes.h"

#include "userspace/loader/shared_maps.h"
#include "userspace/util/log.h"

extern "C" {
#include "bpf/gc.h"
}
#include "gc.skel.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <optional>

namespace gputrace::gc {

ProbeLinks& ProbeLinks::operator=(ProbeLinks&& o) noexcept {
  if (this != &o) {
    reset();
    links_ = std::move(o.links_);
  }
  return *this;
}

void ProbeLinks::reset() {
  for (auto it = links_.rbegin(); it != links_.rend(); ++it) bpf_link__destroy(*it);
  links_.clear();
}

Result<std::unique_ptr<GcProbes>> GcProbes::load(const SharedMaps& maps) {
  gc_bpf* skel = gc_bpf::open();
  if (!skel) return fail_errno(errno, "cannot open the GC BPF object (gc.bpf.c)");
  std::unique_ptr<GcProbes> probes(new GcProbes(skel));
  if (auto shared = maps.reuse_in(skel->obj); !shared) return tl::unexpected(shared.error());
  if (int err = gc_bpf::load(skel))
    return fail_errno(err, "cannot load the GC BPF object (gc.bpf.c); run with -vv for the verifier log");
  return probes;
}

GcProbes::~GcProbes() { gc_bpf::destroy(skel_); }

Result<ProbeLinks> GcProbes::attach_usdt(const Detection& d, int pid, const char* provider,
                                         std::initializer_list<std::pair<bpf_program*, const char*>> probes) {
  ProbeLinks links;
  for (const auto& [prog, name] : probes) {
    bpf_link* link = bpf_program__attach_usdt(prog, pid, d.probe_path.c_str(), provider, name, nullptr);
    if (!link)
      return fail_errno(errno, "cannot attach USDT {}:{} in {} (pid {})", provider, name, d.probe_path, pid);
    links.add(link);
  }
  return links;
}

namespace {

// A uprobe at a file offset, or at a symbol through .symtab when no offset is known.
bpf_link* attach_uprobe(bpf_program* prog, int pid, const std::string& path, std::optional<uint64_t> offset,
                        const std::string& symbol, uint64_t cookie) {
  LIBBPF_OPTS(bpf_uprobe_opts, opts, .bpf_cookie = cookie);
  if (!offset) opts.func_name = symbol.c_str();
  return bpf_program__attach_uprobe_opts(prog, pid, path.c_str(), offset.value_or(0), &opts);
}

// Where a probe on `symbol` goes: its entry; or, for the pause end (`at_restart`), where the
// world has restarted — each CALL to runtime.wakep (just after the runtime reads the clock that
// ends its own pause account) and each RET (in case a path skips wakep; the first to fire
// ends the pause, the others find none open). Never a uretprobe: Go moves stacks.
std::vector<std::optional<uint64_t>> probe_offsets(const Detection& d, std::string_view symbol, bool at_restart) {
  const auto site = d.go_sites.find(symbol);
  if (site == d.go_sites.end()) return {std::nullopt};
  std::vector<std::optional<uint64_t>> out;
  if (at_restart) {
    if (auto wakep = site->second.calls.find(kGoWakepSym); wakep != site->second.calls.end())
      out.insert(out.end(), wakep->second.begin(), wakep->second.end());
    out.insert(out.end(), site->second.return_offsets.begin(), site->second.return_offsets.end());
  }
  if (out.empty()) out.push_back(site->second.entry_offset);
  return out;
}

}  // namespace

Result<ProbeLinks> GcProbes::attach_go(const Detection& d, int pid) {
  struct Probe {
    bpf_program* prog;
    std::string_view symbol;
    bool required;
    bool at_restart = false;
  };
  uint64_t cookie = d.go_cookie;
  ProbeLinks links;
  auto attach_one = [&](const Probe& p) -> Result<bool> {
    const std::string symbol(p.symbol);
    for (const auto offset : probe_offsets(d, p.symbol, p.at_restart)) {
      bpf_link* link = attach_uprobe(p.prog, pid, d.probe_path, offset, symbol, cookie);
      if (!link && p.required)
        return fail_errno(errno, "cannot attach a uprobe to {} in {} (pid {})", symbol, d.probe_path, pid);
      if (!link) {
        log_v1("gc: no uprobe on {} in {}: {}", symbol, d.probe_path, strerror(errno));
        return false;
      }
      links.add(link);
    }
    return true;
  };
  // Ends and classifiers first: once a pause can begin, everything that closes it is in place.
  // The pause ends inside startTheWorldWithSema, once it has woken the Ps and read its clock
  // (probe_offsets); at its entry when the pclntab could not be read.
  if (auto r = attach_one({skel_->progs.go_stw_end, kGoStartSym, true, true}); !r) return tl::unexpected(r.error());
  if (d.go_markers) {
    auto sweep = attach_one({skel_->progs.go_marker_sweep_term, kGoSweepTermSym, false});
    auto mark = attach_one({skel_->progs.go_marker_mark_term, kGoMarkTermSym, false});
    if (sweep && *sweep && mark && *mark) cookie |= GT_GO_COOKIE_MARKERS;
  }
  if (!(cookie & (GT_GO_COOKIE_MARKERS | GT_GO_COOKIE_STW_REASON)))
    log_warning("gc: {} ({}): stop-the-world pauses cannot be told apart from GC pauses (no {} / {})", d.probe_path,
                d.version, kGoSweepTermSym, kGoMarkTermSym);
  // Optional: the non-GC stop's reason text (Go < 1.21) and the cycle's trigger.
  (void)attach_one({skel_->progs.go_stop_the_world, kGoStopReasonSym, false});
  (void)attach_one({skel_->progs.go_gc_start, kGoGcStartSym, false});
  if (auto r = attach_one({skel_->progs.go_stw_begin, kGoStopSym, true}); !r) return tl::unexpected(r.error());
  return links;
}

Result<ProbeLinks> GcProbes::attach(const Detection& d, int pid) {
  if (!d.traceable) return fail("{}", d.problem);
  switch (d.runtime) {
    case Runtime::CPython:
      return attach_usdt(d, pid, "python", {{skel_->progs.py_gc_done, "gc__done"}, {skel_->progs.py_gc_start, "gc__start"}});
    case Runtime::HotSpot: {
      auto links = attach_usdt(d, pid, "hotspot", {{skel_->progs.jvm_gc_end, "gc__end"}});
      if (!links) return links;
      // Optional: without them a pause spans the whole gc__begin..gc__end scope.
      if (d.hotspot_mem_pool_probes) {
        auto pools = attach_usdt(d, pid, "hotspot", {{skel_->progs.jvm_mem_pool_gc_end, "mem__pool__gc__end"},
                                                     {skel_->progs.jvm_mem_pool_gc_begin, "mem__pool__gc__begin"}});
        if (pools)
          links->absorb(std::move(*pools));
        else
          log_v1("gc: {}", pools.error().describe());
      }
      auto begin = attach_usdt(d, pid, "hotspot", {{skel_->progs.jvm_gc_begin, "gc__begin"}});
      if (!begin) return begin;
      links->absorb(std::move(*begin));
      return links;
    }
    case Runtime::Go:
      return attach_go(d, pid);
    case Runtime::None:
      break;
  }
  return fail("no GC runtime to attach to");
}

}  // namespace gputrace::gc
