#include "views/top/top_model.h"

#include "userspace/model/loss_counters.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <map>

namespace gputrace::top {
namespace {

// The interval two snapshots span, in ns: without a previous snapshot, since the first record.
double interval_ns(const HostSnapshot& now, const HostSnapshot* before) {
  if (before && now.taken_ns > before->taken_ns) return static_cast<double>(now.taken_ns - before->taken_ns);
  if (!before && now.taken_ns > now.first_ns) return static_cast<double>(now.taken_ns - now.first_ns);
  return 0;
}

uint64_t delta(uint64_t now, uint64_t before) { return now > before ? now - before : 0; }

double per_second(uint64_t count, double ns) { return ns > 0 ? static_cast<double>(count) * 1e9 / ns : 0; }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_text_column(Column c) { return c == Column::Command || c == Column::Container || c == Column::Runtime; }

double numeric_value(const ProcessView& r, Column c) {
  switch (c) {
    case Column::Pid: return r.pid;
    case Column::GcShare: return r.gc_share;
    case Column::GcP99: return static_cast<double>(r.gc_p99_ns);
    case Column::DmaRate: return r.dma_maps_per_s;
    case Column::Outstanding: return static_cast<double>(r.outstanding);
    case Column::OutstandingBytes: return static_cast<double>(r.outstanding_bytes);
    case Column::Leaks: return static_cast<double>(r.leaks);
    case Column::Faults: return static_cast<double>(r.iommu_faults);
    case Column::Memcpy: return r.memcpy_gbps;
    case Column::Stalls: return static_cast<double>(r.stalls);
    case Column::Findings: return static_cast<double>(r.findings);
    default: return 0;
  }
}

const std::string& text_value(const ProcessView& r, Column c) {
  return c == Column::Command ? r.comm : c == Column::Container ? r.container : r.runtime;
}

}  // namespace

const std::vector<ColumnSpec>& column_specs() {
  static const std::vector<ColumnSpec> specs = {
      {Column::Pid, "PID", 7, true, 0, "process id (host pid namespace)"},
      {Column::Command, "COMMAND", 15, false, 0, "command name; '*' marks a process that has exited"},
      {Column::Container, "CONTAINER", 12, false, 4, "container id (docker, containerd, podman), empty on the host"},
      {Column::Runtime, "RUNTIME", 8, false, 3, "managed runtime whose GC is traced: cpython, hotspot, go"},
      {Column::GcShare, "GC%", 6, true, 1, "share of wall time stopped for GC pauses, over the interval"},
      {Column::GcP99, "GC-P99", 8, true, 2, "99th percentile GC pause since tracing began"},
      {Column::DmaRate, "MAPS/s", 7, true, 1, "DMA mappings made per second in this process's context"},
      {Column::Outstanding, "OUTST", 6, true, 1, "DMA mappings it made that are still mapped"},
      {Column::OutstandingBytes, "OUT-BYTES", 10, true, 2, "bytes of those mappings"},
      {Column::Leaks, "LEAKS", 6, true, 0, "its mappings reported leaked (dma_leak_* findings)"},
      {Column::Faults, "FAULTS", 7, true, 2, "IOMMU fault findings naming it"},
      {Column::Memcpy, "MEMCPY", 7, true, 3, "GPU copy bandwidth while copying, GB/s, over the interval (CUPTI)"},
      {Column::Stalls, "STALLS", 7, true, 3, "PCIe stall findings"},
      {Column::Findings, "FIND", 5, true, 1, "all findings naming it"},
  };
  return specs;
}

const ColumnSpec& spec(Column c) {
  for (const auto& s : column_specs())
    if (s.id == c) return s;
  return column_specs().front();
}

std::vector<ProcessView> process_views(const HostSnapshot& now, const HostSnapshot* before) {
  const double ns = interval_ns(now, before);
  std::map<uint32_t, const ProcessRow*> prev;
  if (before)
    for (const auto& r : before->processes) prev[r.pid] = &r;
  static const ProcessRow kZero{};
  std::vector<ProcessView> out;
  out.reserve(now.processes.size());
  for (const ProcessRow& r : now.processes) {
    auto it = prev.find(r.pid);
    const ProcessRow& b = it != prev.end() ? *it->second : kZero;
    ProcessView v{.pid = r.pid, .comm = r.comm, .container = r.container, .runtime = r.runtime, .exited = r.exited};
    v.gc_share = ns > 0 ? std::min(1.0, static_cast<double>(delta(r.gc_pause_ns, b.gc_pause_ns)) / ns) : 0;
    v.gc_p99_ns = r.gc_pause_p99_ns;
    v.gc_pauses = r.gc_pauses;
    v.dma_maps_per_s = per_second(delta(r.dma_maps, b.dma_maps), ns);
    v.outstanding = r.dma_outstanding;
    v.outstanding_bytes = r.dma_outstanding_bytes;
    v.leaks = r.dma_leaks;
    v.iommu_faults = r.iommu_faults;
    const uint64_t copy_ns = delta(r.memcpy_ns, b.memcpy_ns);
    v.memcpy_seen = delta(r.memcpys, b.memcpys) > 0;
    v.memcpy_gbps = copy_ns ? static_cast<double>(delta(r.memcpy_bytes, b.memcpy_bytes)) / static_cast<double>(copy_ns) : 0;
    v.stalls = r.stalls;
    v.findings = r.findings;
    out.push_back(std::move(v));
  }
  return out;
}

HostRates host_rates(const HostSnapshot& now, const HostSnapshot* before) {
  const double ns = interval_ns(now, before);
  HostRates h;
  h.interval_s = ns / 1e9;
  h.records_per_s = per_second(delta(now.records.processed, before ? before->records.processed : 0), ns);
  for (const auto& [source, count] : now.records.by_source) {
    uint64_t was = 0;
    if (before)
      if (auto it = before->records.by_source.find(source); it != before->records.by_source.end()) was = it->second;
    h.per_source[source] = per_second(delta(count, was), ns);
  }
  uint64_t before_total = 0;
  if (before)
    for (const auto& [name, count] : losses_by_name(before->losses)) before_total += counts_late_records(name) ? 0 : count;
  for (const auto& [name, count] : losses_by_name(now.losses)) {
    if (counts_late_records(name)) {
      h.late_records += count;
      continue;
    }
    h.losses_total += count;
    if (count) h.nonzero_losses.emplace_back(name, count);
  }
  h.losses_new = before ? delta(h.losses_total, before_total) : h.losses_total;
  std::stable_sort(h.nonzero_losses.begin(), h.nonzero_losses.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::map<std::string, uint64_t> prev_maps;
  if (before)
    for (const auto& d : before->devices) prev_maps[d.name] = d.dma_maps;
  for (const auto& d : now.devices) h.device_maps_per_s[d.name] = per_second(delta(d.dma_maps, prev_maps[d.name]), ns);
  return h;
}

TopModel::TopModel() = default;

void TopModel::update(HostSnapshot snapshot) {
  if (paused_) {
    pending_ = std::move(snapshot);
    return;
  }
  if (!shown_ || snapshot.taken_ns > shown_->taken_ns) previous_ = std::move(shown_);
  shown_ = std::move(snapshot);
  rebuild();
}

void TopModel::rebuild() {
  if (!shown_) return;
  all_rows_ = process_views(*shown_, previous_ ? &*previous_ : nullptr);
  rates_ = host_rates(*shown_, previous_ ? &*previous_ : nullptr);
  rows_.clear();
  const std::string needle = lower(filter_);
  for (const auto& r : all_rows_) {
    if (!needle.empty() &&
        lower(fmt::format("{} {} {} {}", r.pid, r.comm, r.container, r.runtime)).find(needle) == std::string::npos)
      continue;
    rows_.push_back(r);
  }
  const Column c = sort_;
  const bool desc = descending_;
  std::stable_sort(rows_.begin(), rows_.end(), [c, desc](const ProcessView& a, const ProcessView& b) {
    if (is_text_column(c)) {
      const std::string &x = text_value(a, c), &y = text_value(b, c);
      if (x != y) return desc ? x > y : x < y;
    } else {
      const double x = numeric_value(a, c), y = numeric_value(b, c);
      if (x != y) return desc ? x > y : x < y;
    }
    return a.pid < b.pid;  // ties: a stable, predictable order
  });
  if (!selected_index()) selected_pid_ = rows_.empty() ? std::nullopt : std::optional<uint32_t>(rows_.front().pid);
  if (rows_.empty()) detail_ = false;
}

std::optional<size_t> TopModel::selected_index() const {
  if (!selected_pid_) return std::nullopt;
  for (size_t i = 0; i < rows_.size(); ++i)
    if (rows_[i].pid == *selected_pid_) return i;
  return std::nullopt;
}

const ProcessView* TopModel::selected() const {
  auto i = selected_index();
  return i ? &rows_[*i] : nullptr;
}

const ProcessRow* TopModel::selected_detail() const {
  if (!shown_ || !selected_pid_) return nullptr;
  for (const auto& r : shown_->processes)
    if (r.pid == *selected_pid_) return &r;
  return nullptr;
}

// Newest by the time the finding covers up to (its end_ns); among equal times, the one
// concluded last first. A fault burst is concluded when its window closes, after newer
// events: ordering by conclusion alone would list it above them.
std::vector<const Finding*> TopModel::findings_newest_first(size_t max, std::optional<uint32_t> pid) const {
  std::vector<const Finding*> out;
  if (!shown_) return out;
  for (auto it = shown_->findings.rbegin(); it != shown_->findings.rend(); ++it)
    if (!pid || it->pid == *pid) out.push_back(&*it);
  std::stable_sort(out.begin(), out.end(), [](const Finding* a, const Finding* b) { return a->end_ns > b->end_ns; });
  if (out.size() > max) out.resize(max);
  return out;
}

void TopModel::fit_scroll(size_t visible) {
  page_ = std::max<size_t>(1, visible);
  const size_t max_scroll = rows_.size() > visible ? rows_.size() - visible : 0;
  if (auto i = selected_index()) {
    if (*i < scroll_) scroll_ = *i;
    if (visible && *i >= scroll_ + visible) scroll_ = *i - visible + 1;
  }
  scroll_ = std::min(scroll_, max_scroll);
}

void TopModel::move_selection(long delta) {
  if (rows_.empty()) return;
  const long current = static_cast<long>(selected_index().value_or(0));
  const long next = std::clamp(current + delta, 0L, static_cast<long>(rows_.size()) - 1);
  selected_pid_ = rows_[static_cast<size_t>(next)].pid;
}

void TopModel::set_sort(Column c) {
  if (sort_ == c) {
    descending_ = !descending_;
  } else {
    sort_ = c;
    descending_ = !(is_text_column(c) || c == Column::Pid);  // numbers: biggest first
  }
  rebuild();
}

KeyResult TopModel::handle(const Key& key) {
  if (key.kind == KeyKind::Resize) return KeyResult::Changed;
  if (editing_) {
    switch (key.kind) {
      case KeyKind::Enter:
        filter_ = draft_;
        editing_ = false;
        scroll_ = 0;
        rebuild();
        return KeyResult::Changed;
      case KeyKind::Escape: editing_ = false; return KeyResult::Changed;
      case KeyKind::Backspace:
        if (!draft_.empty()) draft_.pop_back();
        return KeyResult::Changed;
      case KeyKind::Char:
        if (key.ch >= 32 && key.ch < 127 && draft_.size() < 64) {
          draft_ += static_cast<char>(key.ch);
          return KeyResult::Changed;
        }
        return KeyResult::Ignored;
      default: return KeyResult::Ignored;
    }
  }
  if (key.kind == KeyKind::Char && (key.ch == 'q' || key.ch == 'Q')) return KeyResult::Quit;
  if (help_) {  // any other key closes help
    help_ = false;
    return KeyResult::Changed;
  }
  const std::vector<ColumnSpec>& specs = column_specs();
  // Steps through the columns on screen: sorting by a hidden one would look like no order.
  auto sort_step = [&](int step) {
    auto shown = [&](Column c) {
      return visible_columns_.empty() || std::find(visible_columns_.begin(), visible_columns_.end(), c) != visible_columns_.end();
    };
    size_t i = 0;
    while (i < specs.size() && specs[i].id != sort_) ++i;
    for (size_t tries = 0; tries < specs.size(); ++tries) {
      i = step > 0 ? (i + 1) % specs.size() : (i + specs.size() - 1) % specs.size();
      if (shown(specs[i].id)) break;
    }
    sort_ = specs[i].id;
    descending_ = !(is_text_column(sort_) || sort_ == Column::Pid);
    rebuild();
    return KeyResult::Changed;
  };
  switch (key.kind) {
    case KeyKind::Up: move_selection(-1); return KeyResult::Changed;
    case KeyKind::Down: move_selection(1); return KeyResult::Changed;
    case KeyKind::PageUp: move_selection(-static_cast<long>(page_)); return KeyResult::Changed;
    case KeyKind::PageDown: move_selection(static_cast<long>(page_)); return KeyResult::Changed;
    case KeyKind::Home: move_selection(-static_cast<long>(rows_.size())); return KeyResult::Changed;
    case KeyKind::End: move_selection(static_cast<long>(rows_.size())); return KeyResult::Changed;
    case KeyKind::Enter:
      if (!selected()) return KeyResult::Ignored;
      detail_ = !detail_;
      return KeyResult::Changed;
    case KeyKind::Escape:
      if (detail_) {
        detail_ = false;
        return KeyResult::Changed;
      }
      if (!filter_.empty()) {
        filter_.clear();
        rebuild();
        return KeyResult::Changed;
      }
      return KeyResult::Ignored;
    case KeyKind::Backspace: return KeyResult::Ignored;
    case KeyKind::Char: break;
    default: return KeyResult::Ignored;
  }
  switch (key.ch) {
    case '?':
    case 'h': help_ = true; return KeyResult::Changed;
    case '/':
      editing_ = true;
      draft_ = filter_;
      return KeyResult::Changed;
    case 's':
    case '>': return sort_step(1);
    case 'S':
    case '<': return sort_step(-1);
    case 'r':
      descending_ = !descending_;
      rebuild();
      return KeyResult::Changed;
    case 'P': set_sort(Column::Pid); return KeyResult::Changed;
    case 'N': set_sort(Column::Command); return KeyResult::Changed;
    case 'G': set_sort(Column::GcShare); return KeyResult::Changed;
    case 'D': set_sort(Column::DmaRate); return KeyResult::Changed;
    case 'O': set_sort(Column::Outstanding); return KeyResult::Changed;
    case 'L': set_sort(Column::Leaks); return KeyResult::Changed;
    case 'F': set_sort(Column::Findings); return KeyResult::Changed;
    case 'p':
    case ' ':
      paused_ = !paused_;
      if (!paused_ && pending_) {
        previous_ = std::move(shown_);
        shown_ = std::move(pending_);
        pending_.reset();
        rebuild();
      }
      return KeyResult::Changed;
    case 'k': move_selection(-1); return KeyResult::Changed;
    case 'j': move_selection(1); return KeyResult::Changed;
    case 'g': move_selection(-static_cast<long>(rows_.size())); return KeyResult::Changed;
    default: return KeyResult::Ignored;
  }
}

}  // namespace gputrace::top
