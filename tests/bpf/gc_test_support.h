// Shared by the GC bpf-tier tests: a live GC tracer on the shared rings, its records, and
// child processes (the workloads in tests/testprogs/gc/) driven through stdin/stdout.
#pragma once

#include "userspace/decode/decoder.h"
#include "userspace/gc/gc_tracer.h"
#include "userspace/loader/shared_maps.h"

extern "C" {
#include "bpf/gc.h"
}

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace gputrace::gc::testing {

inline uint64_t monotonic_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000u + static_cast<uint64_t>(ts.tv_nsec);
}

inline std::string source_path(const std::string& rel) { return std::string(GPUTRACE_SOURCE_DIR) + "/" + rel; }

// The machine that runs the bpf tier is shared and loaded; the reference clocks (gc.callbacks,
// -Xlog:gc, MemStats) are read inside the workload, so a preemption between the runtime's own
// timestamp and its probe would count against gputrace. Workloads run SCHED_FIFO so that the
// comparison measures the tracer, not the neighbours.
inline std::vector<std::string> realtime(std::vector<std::string> argv) {
  argv.insert(argv.begin(), {"/usr/bin/chrt", "-f", "10"});
  return argv;
}

inline int run_shell(const std::string& cmd) {
  const int rc = std::system(cmd.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A workload process: stdin and stdout are pipes; lines of output parsed as "key values...".
class Child {
 public:
  explicit Child(const std::vector<std::string>& argv) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      execv(args[0], args.data());
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (stdin_ >= 0) close(stdin_);
    if (stdout_ >= 0) close(stdout_);
  }

  int pid() const { return pid_; }
  void go() {
    (void)!write(stdin_, "go\n", 3);
    close(stdin_);
    stdin_ = -1;
  }
  // Reads stdout to EOF and waits for the exit status.
  int finish() {
    char buf[4096];
    ssize_t n;
    while ((n = read(stdout_, buf, sizeof(buf))) > 0) output_.append(buf, static_cast<size_t>(n));
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  // Its stdout, for a test that reads a line while the child keeps running.
  int stdout_fd() const { return stdout_; }
  const std::string& output() const { return output_; }
  std::vector<std::vector<std::string>> lines(const std::string& key) const {
    std::vector<std::vector<std::string>> out;
    std::istringstream in(output_);
    std::string line;
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::vector<std::string> f;
      std::string w;
      while (fields >> w) f.push_back(w);
      if (!f.empty() && f[0] == key) out.push_back(f);
    }
    return out;
  }

 private:
  int pid_ = -1, stdin_ = -1, stdout_ = -1;
  bool reaped_ = false;
  std::string output_;
};

// A GC tracer on fresh shared rings, with a consumer that keeps every GC record.
class LiveGcTracer {
 public:
  explicit LiveGcTracer(GcOptions options = {}) {
    options.rescan_period_ns = 100'000'000;  // tests wait on attachment: look often
    auto maps = SharedMaps::create(RingSizes{});
    if (!maps) {
      error_ = maps.error().describe();
      return;
    }
    maps_ = std::make_unique<SharedMaps>(std::move(*maps));
    auto tracer = GcTracer::start(*maps_, std::move(options));
    if (!tracer) {
      error_ = tracer.error().describe();
      return;
    }
    tracer_ = std::move(*tracer);
    ring_ = ring_buffer__new(maps_->bulk_ring_fd(), &LiveGcTracer::on_bytes, this, nullptr);
    if (!ring_) error_ = "cannot create the ring buffer consumer";
  }
  ~LiveGcTracer() {
    if (ring_) ring_buffer__free(ring_);
  }

  const std::string& error() const { return error_; }
  GcTracer& tracer() { return *tracer_; }

  // Bulk records are submitted without a wakeup: consume on a timer, as the daemon does.
  void poll(int ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    ring_buffer__consume(ring_);
    tracer_->tick(monotonic_ns());
  }
  // Pumps the tracer until `pid` is traced; false after the deadline.
  bool wait_traced(int pid, std::chrono::seconds deadline = std::chrono::seconds(15)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
      poll(50);
      if (tracer_->attachments().is_traced(pid)) return true;
    }
    return false;
  }
  // Pumps until `child` exits, then drains the ring.
  int finish(Child& child) {
    std::thread reader([&] { status_ = child.finish(); });
    while (!done(child)) poll(20);
    reader.join();
    for (int i = 0; i < 5; ++i) poll(10);
    return status_;
  }

  std::vector<gt_gc_pause_event> pauses(int pid) const {
    std::vector<gt_gc_pause_event> out;
    for (const auto& p : pauses_)
      if (static_cast<int>(p.hdr.pid) == pid) out.push_back(p);
    return out;
  }
  std::vector<gt_gc_cycle_event> cycles(int pid) const {
    std::vector<gt_gc_cycle_event> out;
    for (const auto& c : cycles_)
      if (static_cast<int>(c.hdr.pid) == pid) out.push_back(c);
    return out;
  }
  // When each pause of pid began, from its GT_EV_GC_BEGIN markers.
  std::vector<uint64_t> begins(int pid) const {
    std::vector<uint64_t> out;
    for (const auto& b : begins_)
      if (static_cast<int>(b.hdr.pid) == pid) out.push_back(b.hdr.ts_ns);
    return out;
  }
  // Every pause has its begin marker, stamped at or before the pause's own begin and after
  // the previous pause ended: "" when so, else what is wrong.
  std::string begin_markers_match(int pid) const {
    const auto b = begins(pid);
    const auto p = pauses(pid);
    if (b.size() != p.size()) return fmt::format("{} begin markers for {} pauses", b.size(), p.size());
    for (size_t i = 0; i < p.size(); ++i) {
      if (b[i] > p[i].begin_ns) return fmt::format("pause {}: marker at {} after its begin {}", i, b[i], p[i].begin_ns);
      if (i > 0 && b[i] < p[i - 1].hdr.ts_ns) return fmt::format("pause {}: marker before the previous pause ended", i);
    }
    return "";
  }
  // Replays every GC record seen, as the consumer would hand them to an analyzer.
  template <class F>
  void for_each_record(F&& f) const {
    for (const auto& bytes : storage_) {
      Record r;
      if (decode_one(bytes, r) == DecodeError::None) f(r);
    }
  }
  size_t decode_errors() const { return decode_errors_; }

 private:
  static int on_bytes(void* ctx, void* data, size_t size) {
    auto* self = static_cast<LiveGcTracer*>(ctx);
    std::span<const std::byte> bytes(static_cast<const std::byte*>(data), size);
    Record r;
    if (decode_one(bytes, r) != DecodeError::None) {
      ++self->decode_errors_;
      return 0;
    }
    if (r.kind() == static_cast<gt_event_kind>(GT_EV_GC_PAUSE)) self->pauses_.push_back(r.as<gt_gc_pause_event>());
    if (r.kind() == static_cast<gt_event_kind>(GT_EV_GC_CYCLE)) self->cycles_.push_back(r.as<gt_gc_cycle_event>());
    if (r.kind() == static_cast<gt_event_kind>(GT_EV_GC_BEGIN)) self->begins_.push_back(r.as<gt_gc_begin_event>());
    self->storage_.emplace_back(bytes.begin(), bytes.end());
    return 0;
  }
  bool done(const Child&) const { return status_ != -2; }  // set by the reader thread once reaped

  std::string error_;
  std::unique_ptr<SharedMaps> maps_;
  std::unique_ptr<GcTracer> tracer_;
  ring_buffer* ring_ = nullptr;
  std::vector<gt_gc_pause_event> pauses_;
  std::vector<gt_gc_cycle_event> cycles_;
  std::vector<gt_gc_begin_event> begins_;
  std::vector<std::vector<std::byte>> storage_;
  size_t decode_errors_ = 0;
  std::atomic<int> status_{-2};
};

// |a - b| within 5 % of b or `floor_ns`, whichever is larger.
inline bool agrees(double ours, double theirs, double floor_ns) {
  return std::abs(ours - theirs) <= std::max(0.05 * theirs, floor_ns);
}

// Pause-by-pause agreement of gputrace's durations with a runtime's own timer.
//
// The reference reads its clock outside the probes (a Python callback, a log line), so an
// interrupt or a stolen vCPU slice that lands between its clock read and the probe stretches
// the reference alone. On this shared 2-core VM that happens to about one pause in a few
// hundred, by 50-70 us, in roughly one run of six. A real error of the tracer (a wrong
// timestamp, a begin paired with the wrong end) shifts most pauses, not one: so all but 2 %
// of the pauses (at least one) must agree, and so must the median difference.
class DurationAgreement {
 public:
  explicit DurationAgreement(double floor_ns) : floor_ns_(floor_ns) {}

  void add(std::string label, double ours, double theirs) {
    diffs_.push_back(std::abs(ours - theirs));
    if (!agrees(ours, theirs, floor_ns_))
      outliers_.push_back(fmt::format("{}: gputrace {} ns, reference {} ns", label, ours, theirs));
  }

  size_t allowed_outliers() const { return std::max<size_t>(1, diffs_.size() / 50); }
  double median_diff() const {
    auto d = diffs_;
    std::nth_element(d.begin(), d.begin() + static_cast<std::ptrdiff_t>(d.size() / 2), d.end());
    return d.empty() ? 0 : d[d.size() / 2];
  }
  double worst_diff() const { return diffs_.empty() ? 0 : *std::max_element(diffs_.begin(), diffs_.end()); }

  // Empty when the durations agree, else why not.
  std::string verdict() const {
    std::string why;
    if (median_diff() > floor_ns_) why += fmt::format("median difference {} ns > {} ns\n", median_diff(), floor_ns_);
    if (outliers_.size() > allowed_outliers()) {
      why += fmt::format("{} of {} pauses disagree (at most {} may):\n", outliers_.size(), diffs_.size(),
                         allowed_outliers());
      for (const auto& o : outliers_) why += "  " + o + "\n";
    }
    return why;
  }

  std::string summary() const {
    return fmt::format("median difference {:.1f} us, worst {:.1f} us, {} outlier(s) of {}", median_diff() / 1000,
                       worst_diff() / 1000, outliers_.size(), diffs_.size());
  }

 private:
  double floor_ns_;
  std::vector<double> diffs_;
  std::vector<std::string> outliers_;
};

}  // namespace gputrace::gc::testing
