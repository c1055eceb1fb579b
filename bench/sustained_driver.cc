// sustained_driver: drives gputrace's DMA handlers at a sustained rate inside a running
// gputrace's own BPF maps, so the events take the real live path (bench/sustained.sh).
//
//   sustained_driver --pid PID [--seconds S] [--threads T] [--leakers N] [--long-every K]
//   sustained_driver --pid PID --hold N [--rate R] [--seconds S]
//
// PID is the gputrace (daemon, record, top) whose maps it joins: the maps PID holds are
// found in /proc/PID/fdinfo and reused by name. Each of T producer threads (pinned, one per
// CPU) maps 1000 short-lived addresses with getpid() and unmaps them with getppid(), over
// and over; every K-th round one long-lived mapping is made and unmapped 2 s later (the
// daemon's sweep promotes it); N child processes each map 3 leaks and exit. Prints one JSON
// object: events produced (every handler run), leakers' pids, leaks planted.
// With --hold N it instead makes N long-lived mappings at R per second (default 100000: the
// kernel's pairing table holds what arrives in half a second), holds them S seconds (the
// daemon's memory with N outstanding), then unmaps them all.
#include "bpf/dma_cost.h"
#include "sustained.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr int kLeaksPerChild = 3;
constexpr long kPhase = 1000;

struct Args {
  int pid = 0;
  double seconds = 60;
  int threads = 1;
  int leakers = 10;
  long long_every = 100;
  long hold = 0;
  long rate = 100000;
};

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "sustained_driver: %s\n", what.c_str());
  std::exit(1);
}

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--pid") a.pid = std::atoi(v);
    else if (k == "--seconds") a.seconds = std::atof(v);
    else if (k == "--threads") a.threads = std::atoi(v);
    else if (k == "--leakers") a.leakers = std::atoi(v);
    else if (k == "--long-every") a.long_every = std::atol(v);
    else if (k == "--hold") a.hold = std::atol(v);
    else if (k == "--rate") a.rate = std::atol(v);
    else die("unknown option " + k + " (see the comment atop bench/sustained_driver.cc)");
  }
  if (a.pid <= 0) die("--pid PID of a running gputrace is required");
  return a;
}

// The BPF maps PID holds, by kernel name (15 characters at most).
std::map<std::string, int> maps_of(int pid) {
  std::map<std::string, int> out;
  const std::string dir = "/proc/" + std::to_string(pid) + "/fdinfo";
  DIR* d = opendir(dir.c_str());
  if (!d) die("cannot read " + dir + ": is gputrace running as that pid?");
  while (dirent* e = readdir(d)) {
    std::ifstream f(dir + "/" + e->d_name);
    std::string line;
    while (std::getline(f, line)) {
      if (line.rfind("map_id:", 0) != 0) continue;
      const int fd = bpf_map_get_fd_by_id(static_cast<uint32_t>(std::atoi(line.c_str() + 7)));
      bpf_map_info info{};
      uint32_t len = sizeof(info);
      if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0 && std::strncmp(info.name, "gt_", 3) == 0)
        out.emplace(info.name, fd);
    }
  }
  closedir(d);
  return out;
}

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// One producer: rounds of short-lived pairs, and now and then a long-lived mapping.
void produce(int cpu, const Args& a, const std::atomic<bool>& stop) {
  pin(cpu);
  std::deque<std::chrono::steady_clock::time_point> held;  // long-lived, oldest first
  long sink = 0;
  for (long round = 0; !stop.load(std::memory_order_relaxed); ++round) {
    for (long i = 0; i < kPhase; ++i) sink += syscall(SYS_getpid);
    for (long i = 0; i < kPhase; ++i) sink += syscall(SYS_getppid);
    if (round % a.long_every != 0) continue;
    const auto now = std::chrono::steady_clock::now();
    sink += syscall(SYS_gettid);
    held.push_back(now);
    while (!held.empty() && now - held.front() > std::chrono::seconds(2)) {
      sink += syscall(SYS_getuid);
      held.pop_front();
    }
  }
  while (!held.empty()) {  // unmap the rest: only the leakers leak
    sink += syscall(SYS_getuid);
    held.pop_front();
  }
  if (sink == 42) std::puts("");
}

// A child that maps kLeaksPerChild addresses and exits without unmapping them.
pid_t plant_leaks(int leakers_fd) {
  int go[2];
  if (pipe(go) != 0) die("pipe");
  const pid_t child = fork();
  if (child == 0) {
    char c;
    (void)!read(go[0], &c, 1);
    for (int i = 0; i < kLeaksPerChild; ++i) (void)syscall(SYS_getgid);
    _exit(0);
  }
  const uint32_t key = static_cast<uint32_t>(child);
  const uint8_t one = 1;
  if (bpf_map_update_elem(leakers_fd, &key, &one, BPF_ANY) != 0) die("cannot register a leaker");
  (void)!write(go[1], "x", 1);
  close(go[0]);
  close(go[1]);
  return child;
}

// --hold: N long-lived mappings at a bounded rate, held, then released.
int hold(sustained_bpf* skel, bpf_link* link, const Args& a) {
  pin(0);
  const auto t0 = std::chrono::steady_clock::now();
  long sink = 0;
  for (long made = 0; made < a.hold;) {
    const long batch = std::min<long>(1000, a.hold - made);
    for (long i = 0; i < batch; ++i) sink += syscall(SYS_gettid);
    made += batch;
    const auto due = t0 + std::chrono::duration<double>(static_cast<double>(made) / static_cast<double>(a.rate));
    std::this_thread::sleep_until(due);
  }
  const double planted = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::fprintf(stderr, "sustained_driver: %ld mappings made in %.1f s; holding them %.0f s\n", a.hold, planted, a.seconds);
  std::fflush(stderr);
  std::this_thread::sleep_for(std::chrono::duration<double>(a.seconds));
  for (long i = 0; i < a.hold; ++i) sink += syscall(SYS_getuid);
  bpf_link__destroy(link);
  std::printf("{\"held\": %ld, \"plant_seconds\": %.2f}\n", a.hold, planted);
  sustained_bpf::destroy(skel);
  return sink == 42;
}

}  // namespace

int main(int argc, char** argv) {
  const Args a = parse(argc, argv);
  libbpf_set_print([](libbpf_print_level level, const char* fmt, va_list ap) {
    return level == LIBBPF_WARN ? std::vfprintf(stderr, fmt, ap) : 0;
  });
  const auto daemon = maps_of(a.pid);
  sustained_bpf* skel = sustained_bpf::open();
  if (!skel) die("cannot open the BPF object");
  bpf_map* m = nullptr;
  int reused = 0;
  bpf_object__for_each_map(m, skel->obj) {
    std::string name = bpf_map__name(m);
    if (name == "gt_ring_critical") name = "gt_ring_crit";  // as SharedMaps names it
    auto it = daemon.find(name.substr(0, 15));
    if (it == daemon.end()) continue;
    if (bpf_map__reuse_fd(m, it->second) != 0) die("cannot reuse the daemon's map " + name);
    ++reused;
  }
  if (!daemon.count("gt_dma_table") || !daemon.count("gt_ring_bulk"))
    die("pid " + std::to_string(a.pid) + " holds no gt_dma_table/gt_ring_bulk: not a gputrace with kernel pairing");
  skel->rodata->driver_tgid = static_cast<uint32_t>(getpid());
  if (sustained_bpf::load(skel) != 0) die("cannot load the BPF object");
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.describe_device), &opts) != 0 || opts.retval != 0)
    die("cannot describe the benchmark device");
  bpf_link* link = bpf_program__attach_raw_tracepoint(skel->progs.drive, "sys_enter");
  if (!link) die("cannot attach to sys_enter");

  if (a.hold > 0) return hold(skel, link, a);
  std::atomic<bool> stop{false};
  std::vector<std::thread> producers;
  const int ncpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  for (int t = 0; t < a.threads; ++t) producers.emplace_back(produce, t % ncpu, std::cref(a), std::cref(stop));
  std::vector<pid_t> leakers;
  const auto t0 = std::chrono::steady_clock::now();
  const auto every = std::chrono::duration<double>(a.seconds / (a.leakers + 1));
  while (std::chrono::steady_clock::now() - t0 < std::chrono::duration<double>(a.seconds)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const auto due = every * (static_cast<double>(leakers.size()) + 1);
    if (static_cast<int>(leakers.size()) < a.leakers && std::chrono::steady_clock::now() - t0 >= due)
      leakers.push_back(plant_leaks(bpf_map__fd(skel->maps.leakers)));
  }
  stop = true;
  for (auto& p : producers) p.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (pid_t p : leakers) waitpid(p, nullptr, 0);
  bpf_link__destroy(link);

  const int ncpus = libbpf_num_possible_cpus();
  struct Seq {
    uint64_t maps, unmaps, long_maps, long_unmaps, produced;
  };
  std::vector<Seq> per_cpu(static_cast<size_t>(ncpus));
  const uint32_t zero = 0;
  uint64_t produced = 0;
  if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.seqs), &zero, per_cpu.data()) == 0)
    for (const Seq& q : per_cpu) produced += q.produced;
  std::string pids;
  for (pid_t p : leakers) pids += (pids.empty() ? "" : ",") + std::to_string(p);
  std::printf("{\"produced\": %llu, \"seconds\": %.2f, \"events_per_s\": %.0f, \"maps_reused\": %d, "
              "\"leaks_planted\": %llu, \"leaker_pids\": [%s]}\n",
              static_cast<unsigned long long>(produced + skel->bss->leaks_made), elapsed,
              static_cast<double>(produced) / elapsed, reused, static_cast<unsigned long long>(skel->bss->leaks_made),
              pids.c_str());
  sustained_bpf::destroy(skel);
  return 0;
}
