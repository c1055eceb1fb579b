// TopModel: everything `gputrace top` shows and every key it takes, without a terminal.
// It holds the newest HostSnapshot and the one before (rates are their difference), turns
// them into rows with the numbers ready, and keeps the view state: sort column and order,
// filter, pause, selected process, detail and help panes. The ncurses screen
// (top_screen.h) and the --batch printer only draw what top_layout.h makes of it, so all of
// this is unit-tested without a terminal.
#pragma once

#include "userspace/model/host_snapshot.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace gputrace::top {

enum class Column {
  Pid,
  Command,
  Container,
  Runtime,
  GcShare,
  GcP99,
  DmaRate,
  Outstanding,
  OutstandingBytes,
  Leaks,
  Faults,
  Memcpy,
  Stalls,
  Findings,
};

struct ColumnSpec {
  Column id;
  const char* title;
  int width;         // cells, without the separating space; room for the title and the sort mark
  bool right_align;  // numbers
  int priority;      // 0 is always shown; higher ones go first when the terminal is narrow
  const char* help;  // what the column means (help pane, docs/views.md)
};
const std::vector<ColumnSpec>& column_specs();
const ColumnSpec& spec(Column c);

// One process row, with its rates computed over the last interval.
struct ProcessView {
  uint32_t pid = 0;
  std::string comm;
  std::string container;
  std::string runtime;
  bool exited = false;
  double gc_share = 0;          // GC pause time / wall time, over the interval
  uint64_t gc_p99_ns = 0;       // since tracing began
  uint64_t gc_pauses = 0;
  double dma_maps_per_s = 0;
  uint64_t outstanding = 0;
  uint64_t outstanding_bytes = 0;
  uint64_t leaks = 0;
  uint64_t iommu_faults = 0;
  double memcpy_gbps = 0;       // bytes copied / time copies were in flight, over the interval
  bool memcpy_seen = false;     // any copy in the interval (else the cell shows "-")
  uint64_t stalls = 0;
  uint64_t findings = 0;
};

// Host-wide numbers for the header.
struct HostRates {
  double interval_s = 0;                         // what the rates are over
  double records_per_s = 0;
  std::map<std::string, double> per_source;      // "dma", "gc", ... per second
  // Records and facts dropped; late records (processed after the reorder window) apart.
  uint64_t losses_total = 0;
  uint64_t losses_new = 0;                       // since the previous snapshot
  std::vector<std::pair<std::string, uint64_t>> nonzero_losses;  // name, count
  uint64_t late_records = 0;                     // late_records + late_gpu_records
  std::map<std::string, double> device_maps_per_s;  // by device name
};

// Rows and rates from two snapshots. Without a previous one (the first, or a replay shown
// at its end), rates are averages since the first record.
std::vector<ProcessView> process_views(const HostSnapshot& now, const HostSnapshot* before);
HostRates host_rates(const HostSnapshot& now, const HostSnapshot* before);

enum class KeyKind { Char, Up, Down, PageUp, PageDown, Home, End, Enter, Escape, Backspace, Resize };
struct Key {
  KeyKind kind = KeyKind::Char;
  int ch = 0;  // for Char
  static Key chr(int c) { return Key{KeyKind::Char, c}; }
};

enum class KeyResult { Ignored, Changed, Quit };

class TopModel {
 public:
  TopModel();

  // A new snapshot. While paused it is kept but not shown (the view stays still). One taken
  // at the same event time as the shown one (a replay's end state after its last step)
  // replaces it but keeps the previous one, so rates stay over a real interval.
  void update(HostSnapshot snapshot);
  KeyResult handle(const Key& key);

  // What to show.
  bool has_snapshot() const { return shown_.has_value(); }
  const HostSnapshot& shown() const { return *shown_; }
  const std::vector<ProcessView>& rows() const { return rows_; }  // filtered and sorted
  const HostRates& rates() const { return rates_; }
  size_t total_processes() const { return all_rows_.size(); }
  std::optional<size_t> selected_index() const;
  const ProcessView* selected() const;
  const ProcessRow* selected_detail() const;  // the snapshot's full row for the selection
  // Findings by the time they cover up to, newest first (all, or those naming pid).
  std::vector<const Finding*> findings_newest_first(size_t max, std::optional<uint32_t> pid = std::nullopt) const;

  // View state.
  Column sort_column() const { return sort_; }
  bool descending() const { return descending_; }
  const std::string& filter() const { return filter_; }
  bool editing_filter() const { return editing_; }
  const std::string& filter_draft() const { return draft_; }
  bool paused() const { return paused_; }
  bool help_open() const { return help_; }
  bool detail_open() const { return detail_; }
  size_t scroll() const { return scroll_; }
  // The table shows `visible` rows: keeps the selection among them (layout calls it).
  void fit_scroll(size_t visible);
  // The columns the terminal shows (layout calls it): s and S step through these only.
  void set_visible_columns(std::vector<Column> columns) { visible_columns_ = std::move(columns); }

  // Where the data comes from, for the title line: "live" or "replay of FILE".
  void set_source(std::string source) { source_ = std::move(source); }
  const std::string& source() const { return source_; }
  void set_status(std::string status) { status_ = std::move(status); }  // e.g. "report files written to ..."
  const std::string& status() const { return status_; }
  // What stays true of the data, shown in every frame (--batch too): a truncated capture.
  void set_notice(std::string notice) { notice_ = std::move(notice); }
  const std::string& notice() const { return notice_; }

 private:
  void rebuild();
  void move_selection(long delta);
  void set_sort(Column c);

  std::optional<HostSnapshot> shown_, previous_, pending_;
  std::vector<ProcessView> all_rows_, rows_;
  HostRates rates_;
  Column sort_ = Column::Findings;
  bool descending_ = true;
  std::string filter_, draft_;
  bool editing_ = false;
  bool paused_ = false;
  bool help_ = false;
  bool detail_ = false;
  std::optional<uint32_t> selected_pid_;
  size_t scroll_ = 0;
  size_t page_ = 10;
  std::vector<Column> visible_columns_;  // empty: all
  std::string source_ = "live";
  std::string status_;
  std::string notice_;
};

}  // namespace gputrace::top
