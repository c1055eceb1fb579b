#include "userspace/session/live_source.h"

extern "C" {
#include "bpf/dma.h"
#include "bpf/gc.h"
#include "bpf/gpu.h"
#include "bpf/host.h"
}

#include "userspace/attach/announce.h"
#include "userspace/gpu/cupti_socket.h"
#include "userspace/gpu/injection_env.h"
#include "userspace/host/pci_devices.h"
#include "userspace/host/proc_snapshot.h"
#include "userspace/model/loss_counters.h"
#include "userspace/model/shedding.h"
#include "userspace/util/log.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <string_view>

namespace gputrace {
namespace {

OwnedRecord loss_record(std::string_view name, uint64_t value, uint64_t ts) {
  gt_loss_event e{};
  fill_user_header(e.hdr, GT_EV_LOSS, ts);
  e.value = value;
  copy_cstr(e.name, name);
  return OwnedRecord::of(e);
}

// Hundredths of a percent, or GT_SHED_UNKNOWN.
uint32_t centi(const std::optional<double>& pct) {
  return pct ? static_cast<uint32_t>(std::clamp(*pct, 0.0, 100.0) * 100 + 0.5) : GT_SHED_UNKNOWN;
}

OwnedRecord shed_record(uint32_t level, uint32_t reasons, uint32_t flags, const PressureSample& s, uint64_t ts) {
  gt_shed_event e{};
  fill_user_header(e.hdr, GT_EV_SHED, ts);
  e.level = level;
  e.reasons = reasons;
  e.flags = flags;
  e.cpu_busy = centi(s.host.cpu_busy_pct);
  e.memory_psi = centi(s.host.memory_some_avg10);
  e.memory_available = centi(s.host.memory_available_pct);
  e.longest_gc_pause_ns = s.longest_gc_pause_ns;
  return OwnedRecord::of(e);
}

}  // namespace

Result<std::unique_ptr<LiveSource>> LiveSource::start(const Features& features, const TraceConfig& config,
                                                       std::optional<gc::GcOptions> gc, Sink sink,
                                                       std::string cupti_socket) {
  std::unique_ptr<LiveSource> s(new LiveSource(config));
  s->sink_ = std::move(sink);
  s->cupti_socket_path_ = std::move(cupti_socket);
  // Host facts first: they describe everything that follows.
  const uint64_t t0 = monotonic_ns();
  const auto devices = read_pci_devices();
  for (const auto& d : devices) s->forward(facts_record(d, t0).view());
  s->links_.changes(devices);
  s->last_link_check_ = std::chrono::steady_clock::now();
  for (const auto& p : snapshot_processes(t0)) s->forward(p.view());

  auto tracer = KernelTracer::start(features, config);
  if (!tracer) return tl::unexpected(tracer.error());
  s->tracer_ = std::move(*tracer);
  s->stacks_.emplace(s->tracer_->maps().fd("gt_stacks"));
  if (config.kernel_pairing) {
    // Without it every DMA event crosses the ring, as with --no-kernel-pairing: slower, still exact.
    if (auto p = DmaPairing::start(s->tracer_->maps(), config.pairing))
      s->pairing_.emplace(std::move(*p));
    else
      log_warning("DMA mappings will not be paired in the kernel: {}", p.error().describe());
  }
  LiveSource* self = s.get();
  auto consumer = RingConsumer::create(s->tracer_->maps().bulk_ring_fd(), s->tracer_->maps().critical_ring_fd(),
                                       [self](const Record& r) { self->forward(r); });
  if (!consumer) return tl::unexpected(consumer.error());
  s->consumer_ = std::move(*consumer);
  if (gc) {
    // GC probes share the rings; a host without traceable runtimes still records the rest
    if (auto g = gc::GcTracer::start(s->tracer_->maps(), std::move(*gc)))
      s->gc_ = std::move(*g);
    else
      log_warning("GC pauses will not be traced: {}", g.error().describe());
  }
  // GPU timelines need the injection library (built with the CUDA toolkit); without it the
  // probe has nothing to attach to and the rest records as usual.
  if (auto lib = find_injection_library()) {
    if (auto probe = GpuProbe::attach(s->tracer_->maps(), *lib, -1)) {
      // Without its ring the probe is dropped: the library then falls back to the socket.
      if (auto added = s->consumer_->add_ring(probe->ring_fd(), "GPU"))
        s->gpu_probe_.emplace(std::move(*probe));
      else
        log_warning("GPU activity over USDT will not be traced: {}", added.error().describe());
    } else {
      log_warning("GPU activity over USDT will not be traced: {}", probe.error().describe());
    }
  } else {
    log_v1("GPU activity will not be traced: {}", lib.error().describe());
  }
  s->serve_socket();
  // Libraries `gputrace attach` started before this session: they know no new tracer came.
  if (s->gpu_probe_ || s->cupti_socket_) attach::announce_to_attached_libraries();
  if (auto k = KmsgFaultReader::open())
    s->kmsg_.emplace(std::move(*k));
  else
    log_warning("{}", k.error().describe());
  return s;
}

Result<void> LiveSource::add_gpu_probe(const std::string& path, int pid) {
  auto probe = GpuProbe::attach(tracer_->maps(), path, pid);
  if (!probe) return tl::unexpected(probe.error());
  if (auto added = consumer_->add_ring(probe->ring_fd(), "GPU copy"); !added) return tl::unexpected(added.error());
  copy_probes_.push_back(std::move(*probe));
  return {};
}

void LiveSource::forward_gpu_batch(const Record& r) {
  if (!gpu_sender_wanted(r.header.pid)) {
    ++gpu_batches_unwanted_;
    return;
  }
  // only the records inside a batch that validates travel on
  gpu_ingest_.ingest_ring_record(r, monotonic_ns(), [this](const Record& inner) { emit_gpu(inner); });
}

// The library's fallback route (docs/cupti.md): without the socket, a process the probe does
// not reach (another copy of the library, a container's own) would go unheard. Said once: a
// retry every ten seconds must not repeat it.
void LiveSource::serve_socket() {
  PeerPolicy policy{.only_uid = std::nullopt, .accept_pid = [this](pid_t pid) { return gpu_sender_wanted(pid); }};
  auto listener = serve_cupti_socket(cupti_socket_path_, std::move(policy));
  if (listener) {
    if (cupti_socket_failed_before_) log_v1("now serving the CUPTI socket {}", cupti_socket_path_);
    cupti_socket_.emplace(std::move(*listener));
    return;
  }
  if (!cupti_socket_failed_before_) {
    // Another gputrace (a daemon beside `top`) serving it is normal, not a problem to report.
    if (listener.error().errnum == EADDRINUSE)
      log_v1("GPU activity over the socket goes to another gputrace: {}", listener.error().describe());
    else
      log_warning("GPU activity over the socket will not be received: {}", listener.error().describe());
  }
  cupti_socket_failed_before_ = true;
}

// Returns how many datagrams it read.
size_t LiveSource::read_cupti_socket() {
  if (!cupti_socket_) return 0;
  auto read = cupti_socket_->poll_once(0, [this](std::span<const std::byte> datagram, pid_t peer, uid_t) {
    gpu_ingest_.ingest_datagram(datagram, static_cast<uint32_t>(peer), monotonic_ns(),
                                [this](const Record& inner) { emit_gpu(inner); });
  });
  if (!read) {
    log_warning("{}", read.error().describe());
    return 0;
  }
  return *read;
}

// A validated GPU record; CUDA API records are the first GPU work shed under pressure.
void LiveSource::emit_gpu(const Record& r) {
  if (r.header.kind == GT_EV_GPU_API && (shed_flags_ & GT_SHED_GPU_API)) {
    ++gpu_api_records_shed_;
    return;
  }
  emit(r);
}

void LiveSource::forward(const Record& r) {
  if (r.header.kind == GT_EV_GPU_BATCH) {
    forward_gpu_batch(r);
    return;
  }
  if (r.header.kind == GT_EV_GC_PAUSE)
    longest_gc_pause_ns_ = std::max<uint64_t>(longest_gc_pause_ns_, r.as<gt_gc_pause_event>().duration_ns);
  if (gpu_tree_) gpu_tree_->on_record(r);
  if (stacks_) {
    int32_t stack_id = -1;
    if (r.kind() == GT_EV_DMA_MAP) stack_id = r.as<gt_dma_event>().stack_id;
    if (r.kind() == GT_EV_DMA_OUTSTANDING || r.kind() == GT_EV_DMA_CLOSED)
      stack_id = r.as<gt_dma_mapping_event>().stack_id;
    if (auto stack = stacks_->record_for(stack_id, r.ts() > 0 ? r.ts() - 1 : 0)) emit(stack->view());
  }
  emit(r);
  if (gc_) gc_->on_record(r);  // exec and exit records drive GC attach and detach
}

Result<void> LiveSource::pump(std::chrono::milliseconds timeout) {
  if (auto r = consumer_->poll(timeout); !r) return tl::unexpected(r.error());
  read_cupti_socket();
  if (gc_) gc_->tick(monotonic_ns());
  auto now = std::chrono::steady_clock::now();
  if (pairing_ && now - last_sweep_ >= pairing_->config().sweep_period) {
    last_sweep_ = now;
    sweep_pairing_table();
  }
  if (now - last_periodic_ >= std::chrono::seconds(1)) {
    last_periodic_ = now;
    emit_faults();
    emit_dma_counts();
    emit_losses();
    shed_load_if_pressed();
  }
  if (now - last_link_check_ >= std::chrono::seconds(10)) {
    last_link_check_ = now;
    emit_link_changes();
    if (!cupti_socket_) serve_socket();
  }
  return {};
}

Result<void> LiveSource::stop() {
  if (auto r = consumer_->drain(); !r) return tl::unexpected(r.error());
  // Every mapping still young in the kernel's table goes to userspace: outstanding at the end.
  if (pairing_) {
    auto flushed = pairing_->flush([this] { (void)consumer_->drain(); });
    if (!flushed)
      log_warning("{}", flushed.error().describe());
    else if (flushed->deferred)
      log_warning("{} DMA mappings still in the kernel's table at the end were not shipped (ring full)",
                  flushed->live + flushed->deferred);
  }
  // Everything the socket holds: a client may have sent its last batches just now. Bounded,
  // since a live client could keep sending.
  for (int pass = 0; pass < 64 && read_cupti_socket() > 0; ++pass) {
  }
  emit_faults();
  emit_dma_counts();
  emit_losses();
  return {};
}

// Once a second: the shedder judges the host's pressure; a change of level flips the switches
// (BPF's through gt_shed, the GPU ingest's here) and is recorded, so a capture and its report
// say what was given up and when.
void LiveSource::shed_load_if_pressed() {
  const PressureSample sample{.host = pressure_.read(), .longest_gc_pause_ns = longest_gc_pause_ns_};
  longest_gc_pause_ns_ = 0;
  const uint64_t now = monotonic_ns();
  const auto level = shedder_.update(sample, now);
  if (!level) return;
  shed_flags_ = shed_flags_of(*level);
  if (auto set = tracer_->maps().set_shed_flags(shed_flags_); !set) log_warning("{}", set.error().describe());
  if (*level > 0)
    log_warning("host under pressure ({}): shedding level {} ({})", describe_shed_reasons(shedder_.reasons()),
                *level, fmt::join(shed_work_names(shed_flags_), ", "));
  else
    log_warning("host pressure passed: nothing shed any more");
  forward(shed_record(*level, shedder_.reasons(), shed_flags_, sample, now).view());
}

void LiveSource::sweep_pairing_table() {
  if (auto r = pairing_->sweep(); !r) log_warning("{}", r.error().describe());
}

void LiveSource::emit_dma_counts() {
  if (!pairing_) return;
  auto counts = pairing_->counts(monotonic_ns());
  if (!counts) {
    log_warning("{}", counts.error().describe());
    return;
  }
  for (const auto& c : *counts) forward(c.view());
}

void LiveSource::emit_faults() {
  if (!kmsg_) return;
  for (const auto& f : kmsg_->read_new()) forward(f.view());
}

void LiveSource::emit_link_changes() {
  const uint64_t ts = monotonic_ns();
  for (const auto& d : links_.changes(read_pci_devices())) forward(facts_record(d, ts).view());
}

// The counters this source measures, as GT_EV_LOSS records (model/loss_counters.h names
// them): those of the BPF programs and the USDT probe, of decoding, of the GPU ingest and of
// the socket route; the probe's and the socket's only while they exist.
void LiveSource::emit_losses() {
  const uint64_t ts = monotonic_ns();
  auto emit = [&](std::string_view name, uint64_t value) { forward(loss_record(name, value, ts).view()); };
#define GT_EMIT_BPF_LOSS(NAME, INDEX, ID, HELP) emit(#ID, counters[INDEX]);
  if (auto losses = tracer_->maps().read_losses()) {
    const auto& counters = *losses;
    GT_BPF_LOSSES(GT_EMIT_BPF_LOSS)
  }
  emit(loss_name(Loss::ring_decode_errors), consumer_->decode_errors());
  const GpuIngestStats& gpu = gpu_ingest_.stats();
  for (size_t i = 0; i < kBatchRejectCount; ++i) emit(loss_name(loss_of(static_cast<BatchReject>(i))), gpu.rejected[i]);
  emit(loss_name(Loss::gpu_batches_lost), gpu.batches_lost);
  emit(loss_name(Loss::gpu_records_misdated), gpu.records_misdated);
  emit(loss_name(Loss::gpu_batches_unwanted), gpu_batches_unwanted_);
  emit(loss_name(Loss::gpu_api_records_shed), gpu_api_records_shed_);
  if (gpu_probe_ || !copy_probes_.empty()) {
    // Every probe's counters together: one set of loss names however many copies are read.
    std::array<uint64_t, GT_GPU_PROBE_STAT_MAX> counters{};
    const auto add = [&](const GpuProbe& p) {
      if (auto stats = p.read_stats())
        for (uint32_t i = 0; i < GT_GPU_PROBE_STAT_MAX; ++i) counters[i] += (*stats)[i];
    };
    if (gpu_probe_) add(*gpu_probe_);
    for (const GpuProbe& p : copy_probes_) add(p);
    GT_GPU_PROBE_LOSSES(GT_EMIT_BPF_LOSS)
  }
#undef GT_EMIT_BPF_LOSS
  if (cupti_socket_) {
    const ListenerStats& sock = cupti_socket_->stats();
    emit(loss_name(Loss::gpu_socket_refused_peer), sock.refused_peer);
    emit(loss_name(Loss::gpu_socket_refused_sender), sock.refused_sender);
    emit(loss_name(Loss::gpu_socket_refused_too_many), sock.refused_too_many);
    emit(loss_name(Loss::gpu_socket_oversize), sock.oversize);
    emit(loss_name(Loss::gpu_socket_refused_uid_limit), sock.refused_uid_limit);
    emit(loss_name(Loss::gpu_socket_closed_silent), sock.closed_silent);
    emit(loss_name(Loss::gpu_socket_over_budget), sock.over_budget);
    emit(loss_name(Loss::gpu_socket_empty), sock.empty);
  }
  for (const auto& p : tracer_->program_stats())
    emit(fmt::format("{}{}", kRecursionMissPrefix, p.name), p.recursion_misses);
}

}  // namespace gputrace
