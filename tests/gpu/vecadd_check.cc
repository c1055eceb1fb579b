#include "vecadd_check.h"

#include "userspace/capture/capture.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

namespace gputrace::gpu_tier {
namespace {

// CUpti_ActivityMemoryKind values of the memcpy record's src_kind/dst_kind (bpf/gpu.h).
constexpr uint8_t kPageable = 1;
constexpr uint8_t kDevice = 3;

bool is_gpu_kind(uint16_t kind) { return kind >= GT_EV_GPU_BATCH && kind < GT_EV_GPU_BATCH + 20; }

template <class T>
Result<T> number(const std::string& out, const char* key) {
  const std::string text = value_of(out, key);
  T v{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size())
    return fail("gpu_vecadd printed no number for {}= (got \"{}\")", key, text);
  return v;
}

}  // namespace

std::string value_of(const std::string& out, const std::string& key) {
  // KEY= at the start of a line, so PCI_BUS_ID= is not found inside another key
  const std::string needle = key + "=";
  size_t at = out.rfind(needle, 0) == 0 ? 0 : out.find("\n" + needle);
  if (at == std::string::npos) return {};
  if (out[at] == '\n') ++at;
  const size_t from = at + needle.size();
  return out.substr(from, out.find('\n', from) - from);
}

Result<VecaddReport> parse_vecadd_output(const std::string& out) {
  VecaddReport r;
  // Each field in turn; the first that is missing is the error.
  auto take = [&](auto& field, const char* key) -> Result<void> {
    auto v = number<std::remove_reference_t<decltype(field)>>(out, key);
    if (!v) return tl::unexpected(v.error());
    field = *v;
    return {};
  };
  for (const auto& taken : {take(r.pid, "PID"), take(r.mono_begin, "MONO_BEGIN"), take(r.mono_end, "MONO_END"),
                  take(r.kernels, "KERNELS"), take(r.grid, "KERNEL_GRID"), take(r.block, "KERNEL_BLOCK"),
                  take(r.htod_copies, "HTOD_COPIES"), take(r.dtoh_copies, "DTOH_COPIES"),
                  take(r.copy_bytes, "COPY_BYTES"), take(r.memsets, "MEMSETS"), take(r.memset_bytes, "MEMSET_BYTES"),
                  take(r.cuda_device, "CUDA_DEVICE")})
    if (!taken) return tl::unexpected(taken.error());
  r.kernel_name = value_of(out, "KERNEL_NAME");
  r.pci_bus_id = value_of(out, "PCI_BUS_ID");
  if (r.kernel_name.empty() || r.pci_bus_id.empty()) return fail("gpu_vecadd printed no KERNEL_NAME= or PCI_BUS_ID=");
  if (r.mono_end <= r.mono_begin) return fail("MONO_END {} is not after MONO_BEGIN {}", r.mono_end, r.mono_begin);
  return r;
}

void GpuActivity::on(const Record& r) {
  const uint16_t kind = r.header.kind;
  if (!is_gpu_kind(kind)) return;
  if (r.header.pid != pid) {
    ++other_pid_records;
    return;
  }
  const size_t at = records++;
  if (kind == GT_EV_GPU_DEVICE) first_device_at = std::min(first_device_at, at);
  if (kind == GT_EV_GPU_KERNEL || kind == GT_EV_GPU_MEMCPY || kind == GT_EV_GPU_MEMSET)
    first_activity_at = std::min(first_activity_at, at);
  switch (kind) {
    case GT_EV_GPU_DEVICE: devices.push_back(r.as<gt_gpu_device_event>()); break;
    case GT_EV_GPU_KERNEL: kernels.push_back(r.as<gt_gpu_kernel_event>()); break;
    case GT_EV_GPU_MEMCPY: copies.push_back(r.as<gt_gpu_memcpy_event>()); break;
    case GT_EV_GPU_MEMSET: memsets.push_back(r.as<gt_gpu_memset_event>()); break;
    case GT_EV_GPU_STATUS: statuses.push_back(r.as<gt_gpu_status_event>()); break;
    case GT_EV_GPU_NAME: {
      const auto e = r.as<gt_gpu_name_event>();
      const auto tail = r.tail<gt_gpu_name_event>();
      names[e.name_id] = std::string(reinterpret_cast<const char*>(tail.data()), std::min<size_t>(e.name_len, tail.size()));
      break;
    }
  }
}

Result<void> read_capture(const std::string& path, GpuActivity& activity) {
  auto reader = CaptureReader::open(path);
  if (!reader) return tl::unexpected(reader.error());
  auto summary = (*reader)->for_each([&](const Record& r) { activity.on(r); });
  if (!summary) return tl::unexpected(summary.error());
  // gputrace record closes its capture: a cut-short file is itself a failure here
  if (summary->truncated) return fail("{} is truncated: {}", path, summary->truncation_note);
  return {};
}

std::vector<std::string> check_vecadd(const GpuActivity& a, const VecaddReport& want) {
  std::vector<std::string> problems;
  auto problem = [&](std::string s) { problems.push_back(std::move(s)); };
  // One problem per kind of mistake, not one per record: a shifted clock would otherwise
  // print a line for each of the program's records.
  size_t outside = 0;
  std::string first_outside;
  auto in_window = [&](const char* what, size_t i, uint64_t start, uint64_t end) {
    if (start >= want.mono_begin && end <= want.mono_end && end >= start) return;
    if (outside++ == 0)
      first_outside = fmt::format("{} #{} [{}, {}] is not inside the program's window [{}, {}]", what, i, start, end,
                                  want.mono_begin, want.mono_end);
  };

  if (a.kernels.size() != want.kernels)
    problem(fmt::format("{} kernel records, the program launched {}", a.kernels.size(), want.kernels));
  for (size_t i = 0; i < a.kernels.size(); ++i) {
    const auto& k = a.kernels[i];
    const auto name = a.names.find(k.name_id);
    if (name == a.names.end())
      problem(fmt::format("kernel #{}: no name record for name id {}", i, k.name_id));
    else if (name->second.find(want.kernel_name) == std::string::npos)
      problem(fmt::format("kernel #{} is named \"{}\", the program launched {}", i, name->second, want.kernel_name));
    if (k.grid[0] != want.grid || k.block[0] != want.block)
      problem(fmt::format("kernel #{}: grid {} block {}, the program used grid {} block {}", i, k.grid[0], k.block[0],
                          want.grid, want.block));
    in_window("kernel", i, k.hdr.ts_ns, k.end_ns);
  }

  uint32_t htod = 0, dtoh = 0;
  for (size_t i = 0; i < a.copies.size(); ++i) {
    const auto& c = a.copies[i];
    in_window("memcpy", i, c.hdr.ts_ns, c.end_ns);
    if (c.bytes != want.copy_bytes)
      problem(fmt::format("memcpy #{} moved {} bytes, the program copied {}", i, c.bytes, want.copy_bytes));
    // The program copies between pageable host memory (std::vector) and cudaMalloc memory.
    if (c.copy_kind == GT_GPU_COPY_HTOD && c.src_kind == kPageable && c.dst_kind == kDevice)
      ++htod;
    else if (c.copy_kind == GT_GPU_COPY_DTOH && c.src_kind == kDevice && c.dst_kind == kPageable)
      ++dtoh;
    else
      problem(fmt::format("memcpy #{}: kind {} from memory kind {} to {} is neither pageable->device HtoD nor "
                          "device->pageable DtoH",
                          i, c.copy_kind, c.src_kind, c.dst_kind));
  }
  if (htod != want.htod_copies || dtoh != want.dtoh_copies)
    problem(fmt::format("{} HtoD and {} DtoH copies, the program made {} and {}", htod, dtoh, want.htod_copies,
                        want.dtoh_copies));

  if (a.memsets.size() != want.memsets)
    problem(fmt::format("{} memset records, the program made {}", a.memsets.size(), want.memsets));
  for (size_t i = 0; i < a.memsets.size(); ++i) {
    in_window("memset", i, a.memsets[i].hdr.ts_ns, a.memsets[i].end_ns);
    if (a.memsets[i].bytes != want.memset_bytes)
      problem(fmt::format("memset #{} set {} bytes, the program set {}", i, a.memsets[i].bytes, want.memset_bytes));
  }
  if (outside > 0) problem(fmt::format("{} records outside the window, first: {}", outside, first_outside));

  if (a.statuses.empty()) {
    problem("no status record from the injection library");
  } else {
    const auto& first = a.statuses.front();
    const auto& last = a.statuses.back();
    if (first.state != GT_GPU_STATE_ACTIVE)
      problem(fmt::format("first status: state {} (CUPTI result {}, holder \"{}\"), not active", first.state,
                          first.cupti_result, first.holder));
    if (first.clock_mode != GT_GPU_CLOCK_MONOTONIC)
      problem(fmt::format("clock mode {}: CUPTI's timestamp callback did not take", first.clock_mode));
    if (last.state != GT_GPU_STATE_EXITING) problem(fmt::format("last status: state {}, not exiting", last.state));
    if (last.dropped_cupti != 0 || last.dropped_local != 0)
      problem(fmt::format("the library dropped records: {} by CUPTI, {} locally", last.dropped_cupti,
                          last.dropped_local));
  }

  // Which PCI device the program's CUDA device is: one record (one device, one receiver),
  // ahead of the first activity, for the device id the activity carries, at the address the
  // runtime itself reports.
  if (a.devices.size() != 1) {
    problem(fmt::format("{} device records, want 1", a.devices.size()));
    return problems;
  }
  const gt_gpu_device_event& d = a.devices[0];
  if (a.first_device_at > a.first_activity_at) problem("the device record came after the first activity");
  if (d.device_id != want.cuda_device)
    problem(fmt::format("device record for CUDA device {}, the program ran on {}", d.device_id, want.cuda_device));
  if (!a.kernels.empty() && a.kernels.front().device_id != d.device_id)
    problem(fmt::format("kernels ran on device {}, the device record names {}", a.kernels.front().device_id,
                        d.device_id));
  unsigned domain = 0, bus = 0, dev = 0, function = 0;
  if (std::sscanf(want.pci_bus_id.c_str(), "%x:%x:%x.%x", &domain, &bus, &dev, &function) != 4)
    problem(fmt::format("PCI_BUS_ID \"{}\" is not DDDD:BB:DD.F", want.pci_bus_id));
  else if (d.pci_domain != domain || d.pci_bus != bus || d.pci_device != dev)
    problem(fmt::format("device record at {:04x}:{:02x}:{:02x}, the runtime says {}", d.pci_domain, d.pci_bus,
                        d.pci_device, want.pci_bus_id));
  const std::string name(d.name, strnlen(d.name, sizeof(d.name)));
  if (name.find("NVIDIA") == std::string::npos) problem(fmt::format("device name \"{}\" lacks NVIDIA", name));
  return problems;
}

}  // namespace gputrace::gpu_tier
