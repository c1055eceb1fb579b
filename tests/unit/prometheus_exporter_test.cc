// The Prometheus exporter: text format rules, cardinality fold, the golden file (diffed in
// full), the atomic textfile and the /metrics server. Regenerate the golden file after an
// intended change:  GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Prometheus*'
#include "golden.h"
#include "http_test_support.h"
#include "telemetry_fixture.h"

#include "exporters/prometheus/exposition.h"
#include "exporters/prometheus/http_server.h"
#include "exporters/prometheus/prometheus_exporter.h"
#include "exporters/prometheus/textfile.h"
#include "exporters/telemetry/metric_model.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

namespace gputrace {
namespace {

using prometheus::escape_label_value;
using prometheus::render_prometheus_text;
using telemetry::build_metric_model;
using telemetry::ProcessSelection;

std::string render(const HostSnapshot& s, size_t top) { return render_prometheus_text(test::telemetry_model(s, top)); }

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

// The value of the one sample whose line starts with `series` followed by a space.
std::string sample(const std::string& text, const std::string& series) {
  for (const auto& l : lines_of(text))
    if (l.starts_with(series + " ")) return l.substr(series.size() + 1);
  return "<missing " + series + ">";
}

std::string temp_dir() {
  char tmpl[] = "/tmp/gputrace-prom-XXXXXX";
  return mkdtemp(tmpl);
}

TEST(PrometheusText, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(escape_label_value("bad\xff"), "bad\xEF\xBF\xBD");  // invalid UTF-8 would fail the scrape
  EXPECT_EQ(escape_label_value("\xC0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong NUL
  EXPECT_EQ(escape_label_value("h\xC3\xA9"), "h\xC3\xA9");
  EXPECT_EQ(prometheus::escape_help("a\\b\nc \"q\""), "a\\\\b\\nc \"q\"");
  EXPECT_EQ(prometheus::format_value(0.25), "0.25");
  EXPECT_EQ(prometheus::format_value(5e-05), "5e-05");
  EXPECT_EQ(prometheus::format_value(1.0 / 0.0), "+Inf");
}

TEST(PrometheusText, EveryFamilyHasOneHelpAndTypeBeforeItsSamples) {
  const std::string text = render(test::telemetry_snapshot(), 2);
  std::map<std::string, int> helps, types;
  std::string family, type;
  for (const auto& l : lines_of(text)) {
    if (l.starts_with("# HELP ")) {
      family = l.substr(7, l.find(' ', 7) - 7);
      ++helps[family];
      continue;
    }
    if (l.starts_with("# TYPE ")) {
      const std::string name = l.substr(7, l.find(' ', 7) - 7);
      ASSERT_EQ(name, family) << "TYPE without its HELP: " << l;
      type = l.substr(l.rfind(' ') + 1);
      ++types[name];
      continue;
    }
    const std::string series = l.substr(0, l.find_first_of("{ "));
    std::set<std::string> allowed{family};
    if (type == "histogram") allowed = {family + "_bucket", family + "_sum", family + "_count"};
    EXPECT_TRUE(allowed.count(series)) << "sample outside its family " << family << ": " << l;
  }
  ASSERT_FALSE(helps.empty());
  for (const auto& [name, n] : helps) {
    EXPECT_EQ(n, 1) << name;
    EXPECT_EQ(types[name], 1) << name;
    EXPECT_TRUE(prometheus::valid_metric_name(name)) << name;
    EXPECT_TRUE(name.starts_with("gputrace_")) << name;
  }
}

TEST(PrometheusText, NamesFollowConventions) {
  ProcessSelection sel(2);
  const HostSnapshot s = test::telemetry_snapshot();
  sel.update(s);
  for (const auto& f : build_metric_model(s, sel).families) {
    const std::string name = f.prometheus_name();
    EXPECT_EQ(f.kind == telemetry::MetricKind::Counter, name.ends_with("_total")) << name;
    if (f.unit == "s") {
      EXPECT_TRUE(name.find("_seconds") != std::string::npos) << name;
    }
    if (f.unit == "By") {
      EXPECT_TRUE(name.find("_bytes") != std::string::npos) << name;
    }
    for (const auto& p : f.points)
      for (const auto& [k, v] : p.labels) EXPECT_TRUE(prometheus::valid_label_name(k)) << name << " " << k;
  }
}

TEST(PrometheusText, FoldsProcessesBeyondTopN) {
  const std::string text = render(test::telemetry_snapshot(), 2);
  // the server and the sidecar are busiest; the two exited helpers fold into "other"
  EXPECT_EQ(sample(text, "gputrace_process_dma_maps_total{pid=\"4242\",comm=\"python3\"}"), "3000");
  EXPECT_EQ(sample(text, "gputrace_process_dma_maps_total{pid=\"other\",comm=\"other\"}"), "7");
  EXPECT_EQ(sample(text, "gputrace_process_dma_outstanding_bytes{pid=\"other\",comm=\"other\"}"), "4096");
  EXPECT_EQ(sample(text, "gputrace_processes_folded"), "2");
  EXPECT_EQ(sample(text, "gputrace_processes_tracked"), "4");
  EXPECT_EQ(text.find("pid=\"6001\""), std::string::npos);
  // with room for all, the odd comm appears, escaped
  const std::string all = render(test::telemetry_snapshot(), 10);
  EXPECT_NE(all.find("comm=\"we\\\"ird\\\\na\\nme\xEF\xBF\xBD\""), std::string::npos);
  EXPECT_EQ(sample(all, "gputrace_processes_folded"), "0");
}

TEST(PrometheusText, HistogramBucketsAreCumulativeInSeconds) {
  const std::string text = render(test::telemetry_snapshot(), 2);
  const std::string base = "gputrace_process_gc_pause_duration_seconds_bucket{pid=\"4242\",comm=\"python3\",le=";
  EXPECT_EQ(sample(text, base + "\"5e-05\"}"), "0");
  EXPECT_EQ(sample(text, base + "\"0.0001\"}"), "1");
  EXPECT_EQ(sample(text, base + "\"0.005\"}"), "3");
  EXPECT_EQ(sample(text, base + "\"+Inf\"}"), "3");
  EXPECT_EQ(sample(text, "gputrace_process_gc_pause_duration_seconds_sum{pid=\"4242\",comm=\"python3\"}"), "0.00338");
}

TEST(PrometheusText, LatenciesAndCopyBandwidthAreHistograms) {
  const std::string text = render(test::telemetry_snapshot(), 2);
  const std::string map = "gputrace_device_iommu_latency_seconds_bucket{device=\"0000:01:00.0\",op=\"map\",le=";
  EXPECT_EQ(sample(text, map + "\"1e-06\"}"), "0");
  EXPECT_EQ(sample(text, map + "\"2.5e-06\"}"), "5000");
  EXPECT_EQ(sample(text, map + "\"5e-06\"}"), "5990");
  EXPECT_EQ(sample(text, map + "\"+Inf\"}"), "6000");
  EXPECT_EQ(sample(text, "gputrace_device_iommu_latency_seconds_count{device=\"0000:01:00.0\",op=\"map\"}"), "6000");
  EXPECT_EQ(sample(text, "# TYPE gputrace_device_iommu_latency_seconds"), "histogram");
  const std::string htod = "gputrace_device_gpu_memcpy_bandwidth_bytes_per_second_bucket{device=\"0000:41:00.0\",direction=\"htod\",le=";
  EXPECT_EQ(sample(text, htod + "\"2000000000\"}"), "1");
  EXPECT_EQ(sample(text, htod + "\"8000000000\"}"), "8");
  EXPECT_EQ(sample(text, "# TYPE gputrace_device_gpu_memcpy_bandwidth_bytes_per_second"), "histogram");
  // a device that copied nothing has no bandwidth series, and no direction without copies
  EXPECT_EQ(text.find("bandwidth_bytes_per_second_count{device=\"0000:01:00.0\""), std::string::npos);
  EXPECT_EQ(text.find("direction=\"dtoh\""), std::string::npos);
}

// A series that gains or loses a label is a new series that starts at the cumulative value:
// increase() over it misses what happened. A process keeps pid and comm; what comes later
// (its runtime, at its first GC pause) or goes (its container id, once it exited) is on
// gputrace_process_info only.
TEST(PrometheusText, ProcessSeriesKeepTheirLabelsThroughAFirstGcPauseAndAnExit) {
  const std::string container(64, 'c');
  ProcessRow p{.pid = 4242, .comm = "python3", .container = container};
  p.dma_maps = 4;
  p.dma_map_bytes = 4 * 65536;
  p.dma_outstanding = 4;
  p.dma_outstanding_bytes = 4 * 65536;
  HostSnapshot s;
  ProcessSelection sel(20);
  std::vector<std::map<std::string, std::string>> steps;  // process data series -> value
  std::vector<std::string> infos;
  auto take = [&] {
    s.processes = {p};
    sel.update(s);
    std::map<std::string, std::string> series;
    for (const auto& l : lines_of(render_prometheus_text(build_metric_model(s, sel)))) {
      if (l.starts_with("gputrace_process_info")) infos.push_back(l);
      else if (l.starts_with("gputrace_process_")) series[l.substr(0, l.rfind(' '))] = l.substr(l.rfind(' ') + 1);
    }
    steps.push_back(series);
  };
  take();  // alive, in a container, no GC seen yet
  p.runtime = "cpython";
  p.gc_pauses = 1;
  p.gc_pause_ns = p.gc_pause_max_ns = 2'000'000;
  p.gc_histogram = {.cumulative = {0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1}, .count = 1, .sum_ns = 2'000'000};
  take();  // its first pause: now the runtime is known
  p.exited = true;
  p.container.clear();  // the snapshot resolves containers of live processes only
  p.dma_leaks = 3;      // dma_leak_owner_exit
  p.dma_outstanding = 0;
  p.dma_outstanding_bytes = 0;
  take();

  const std::string leaks = "gputrace_process_dma_leaks_total{pid=\"4242\",comm=\"python3\"}";
  EXPECT_EQ(steps[0].at(leaks), "0");
  EXPECT_EQ(steps[2].at(leaks), "3") << "the leaks land in the series that counted the process before";
  for (size_t i = 0; i + 1 < steps.size(); ++i)
    for (const auto& [series, value] : steps[i]) EXPECT_TRUE(steps[i + 1].count(series)) << series << " vanished after step " << i;
  for (const auto& step : steps)
    for (const auto& [series, value] : step) {
      EXPECT_EQ(series.find("container="), std::string::npos) << series;
      EXPECT_EQ(series.find("runtime="), std::string::npos) << series;
    }
  EXPECT_EQ(infos, (std::vector<std::string>{
                       "gputrace_process_info{pid=\"4242\",comm=\"python3\",container=\"" + container + "\"} 1",
                       "gputrace_process_info{pid=\"4242\",comm=\"python3\",container=\"" + container + "\",runtime=\"cpython\"} 1",
                       "gputrace_process_info{pid=\"4242\",comm=\"python3\",runtime=\"cpython\"} 1"}));
}

TEST(PrometheusText, ProcessInfoCarriesContainerAndRuntimeForEveryGroup) {
  const std::string text = render(test::telemetry_snapshot(), 2);
  EXPECT_EQ(sample(text, "gputrace_process_info{pid=\"4242\",comm=\"python3\",container=\"" + std::string(64, 'a') +
                             "\",runtime=\"cpython\"}"),
            "1");
  EXPECT_EQ(sample(text, "gputrace_process_info{pid=\"5000\",comm=\"envoy-go\",runtime=\"go\"}"), "1");
  // "other" too: a join on pid would drop series without a partner
  EXPECT_EQ(sample(text, "gputrace_process_info{pid=\"other\",comm=\"other\"}"), "1");
}

TEST(PrometheusText, UnknownLinkWidthIsLeftOut) {
  HostSnapshot s = test::telemetry_snapshot();
  s.devices[1].max_link_width = 255;  // sysfs's "unknown", as older captures carry it
  s.devices[1].link_speed_mts = s.devices[1].max_link_speed_mts;
  s.devices[1].link_downtrained = false;  // what the analysis concludes of it (PciFacts.DowntrainedNeedsKnownReadings)
  const std::string text = render(s, 2);
  EXPECT_EQ(text.find("gputrace_device_pcie_link_max_width_lanes{device=\"0000:41:00.0\"}"), std::string::npos);
  EXPECT_EQ(sample(text, "gputrace_device_pcie_link_width_lanes{device=\"0000:41:00.0\"}"), "8");
  EXPECT_EQ(sample(text, "gputrace_device_pcie_link_downtrained{device=\"0000:41:00.0\"}"), "0");
}

TEST(PrometheusText, EveryLossCounterIsExportedEvenAtZero) {
  const std::string text = render(test::telemetry_snapshot(), 2);
  EXPECT_EQ(sample(text, "gputrace_losses_total{counter=\"ring_full_bulk\"}"), "7");
  EXPECT_EQ(sample(text, "gputrace_losses_total{counter=\"decode_errors\"}"), "0");
  EXPECT_EQ(sample(text, "gputrace_losses_total{counter=\"spans_not_kept\"}"), "0");
}

TEST(PrometheusText, MatchesGoldenFile) {
  const std::string text = render(test::telemetry_snapshot(), 2);
  test::expect_golden(text, "exporters_metrics.prom");
}

TEST(ProcessSelection, StickyNamesAndExitedSlotsFreedForLiveProcesses) {
  HostSnapshot s;
  auto row = [](uint32_t pid, uint64_t busy_ns, bool exited = false) {
    ProcessRow p{.pid = pid, .comm = "p" + std::to_string(pid), .exited = exited};
    p.gc_pause_ns = busy_ns;
    p.gc_pauses = 1;
    return p;
  };
  s.processes = {row(1, 10), row(2, 20), row(3, 30)};
  ProcessSelection sel(2);
  sel.update(s);
  EXPECT_FALSE(sel.named(1));
  EXPECT_TRUE(sel.named(2));
  EXPECT_TRUE(sel.named(3));
  // pid 1 becomes the busiest: names stay put (a promotion would lower "other")
  s.processes = {row(1, 1000), row(2, 21), row(3, 31)};
  sel.update(s);
  EXPECT_FALSE(sel.named(1));
  EXPECT_TRUE(sel.named(2));
  // pid 2 exits: its slot goes to the busiest live process
  s.processes = {row(1, 1000), row(2, 21, true), row(3, 31)};
  sel.update(s);
  EXPECT_TRUE(sel.named(1));
  EXPECT_FALSE(sel.named(2));
  EXPECT_TRUE(sel.named(3));
  // an exited process already folded is not named again when a slot frees
  s.processes = {row(1, 1000), row(2, 21, true)};
  sel.update(s);
  EXPECT_TRUE(sel.named(1));
  EXPECT_FALSE(sel.named(2));
  // exited processes keep their names while nobody needs the slots (a replay)
  HostSnapshot replay;
  replay.processes = {row(7, 1, true), row(8, 2, true)};
  ProcessSelection sel2(5);
  sel2.update(replay);
  EXPECT_TRUE(sel2.named(7));
  EXPECT_TRUE(sel2.named(8));
}

TEST(PrometheusTextfile, ReplacesAtomicallyAndLeavesNoTemporaryFile) {
  const std::string dir = temp_dir();
  const std::string path = dir + "/gputrace.prom";
  const std::string a(200'000, 'a'), b(300'000, 'b');
  ASSERT_TRUE(prometheus::write_textfile_atomically(path, a));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::thread reader([&] {
    while (!done) {
      std::ifstream in(path);
      std::stringstream ss;
      ss << in.rdbuf();
      const std::string got = ss.str();
      if (got != a && got != b) ++torn;
      ++reads;
    }
  });
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(prometheus::write_textfile_atomically(path, i % 2 ? a : b));
  done = true;
  reader.join();
  EXPECT_EQ(torn.load(), 0) << "a reader saw a partly written file in " << reads.load() << " reads";
  EXPECT_GT(reads.load(), 0);
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    ++entries;
    EXPECT_EQ(e.path().filename(), "gputrace.prom");
  }
  EXPECT_EQ(entries, 1u);
  // a symbolic link in its place is refused, not followed
  const std::string link = dir + "/link.prom";
  ASSERT_EQ(symlink("/etc/passwd", link.c_str()), 0);
  auto r = prometheus::write_textfile_atomically(link, a);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("not a regular file"), std::string::npos);
  EXPECT_FALSE(prometheus::write_textfile_atomically(dir + "/missing/x.prom", a));
  std::filesystem::remove_all(dir);
}

TEST(PrometheusTextfile, APlantedLinkIsNeitherTruncatedNorExposed) {
  // a daemon running as root writes into a directory others may write: a hard link planted
  // where the temporary file used to go (".NAME.tmp.PID") pointed at a private file
  const std::string dir = temp_dir();
  const std::string victim = dir + "/private";
  std::ofstream(victim) << "secret\n";
  ASSERT_EQ(chmod(victim.c_str(), 0600), 0);
  const std::string planted = dir + "/.gputrace.prom.tmp." + std::to_string(getpid());
  ASSERT_EQ(link(victim.c_str(), planted.c_str()), 0);
  ASSERT_TRUE(prometheus::write_textfile_atomically(dir + "/gputrace.prom", "gputrace_up 1\n"));
  std::ifstream in(victim);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "secret\n");
  struct stat st {};
  ASSERT_EQ(stat(victim.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::filesystem::remove_all(dir);
}

TEST(PrometheusServer, AnswersUnavailableUntilTheFirstSnapshot) {
  auto server = prometheus::MetricsHttpServer::start("127.0.0.1:0");
  ASSERT_TRUE(server) << server.error().describe();
  const uint16_t port = test::port_of((*server)->address());
  const std::string before = test::http_get(port, "/metrics");
  EXPECT_TRUE(before.starts_with("HTTP/1.1 503")) << before;  // a scrape that fails: up=0, not an empty success
  EXPECT_EQ((*server)->scrapes(), 0u);
  (*server)->set_metrics("gputrace_up 1\n");
  EXPECT_TRUE(test::http_get(port, "/metrics").starts_with("HTTP/1.1 200"));
}

TEST(PrometheusServer, AnEmptyHostServesIPv4AndIPv6) {
  auto server = prometheus::MetricsHttpServer::start(":0");
  ASSERT_TRUE(server) << server.error().describe();
  (*server)->set_metrics("gputrace_up 1\n");
  const uint16_t port = test::port_of((*server)->address());
  EXPECT_EQ(test::body_of(test::http_get(port, "/metrics")), "gputrace_up 1\n");
  if (!test::have_ipv6_loopback()) GTEST_SKIP() << "this host has no IPv6 loopback (::1)";
  EXPECT_EQ(test::body_of(test::http_get6(port, "/metrics")), "gputrace_up 1\n");
}

TEST(PrometheusServer, ServesMetricsAndRefusesTheRest) {
  auto server = prometheus::MetricsHttpServer::start("127.0.0.1:0");
  ASSERT_TRUE(server) << server.error().describe();
  const uint16_t port = test::port_of((*server)->address());
  EXPECT_TRUE((*server)->address().starts_with("127.0.0.1:"));
  (*server)->set_metrics("gputrace_up 1\n");
  const std::string ok = test::http_get(port, "/metrics");
  EXPECT_TRUE(ok.starts_with("HTTP/1.1 200 OK\r\n")) << ok;
  EXPECT_NE(ok.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos);
  EXPECT_EQ(test::body_of(ok), "gputrace_up 1\n");
  (*server)->set_metrics("gputrace_up 2\n");
  EXPECT_EQ(test::body_of(test::http_get(port, "/metrics?x=1")), "gputrace_up 2\n");
  const std::string head = test::http_get(port, "/metrics", "HEAD");
  EXPECT_TRUE(head.starts_with("HTTP/1.1 200")) << head;
  EXPECT_EQ(test::body_of(head), "");
  EXPECT_TRUE(test::http_get(port, "/").starts_with("HTTP/1.1 404")) << test::http_get(port, "/");
  const std::string post = test::http_get(port, "/metrics", "POST");
  EXPECT_TRUE(post.starts_with("HTTP/1.1 405")) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD"), std::string::npos);
  // refused: cpp-httplib answers 400 to a header line over 8 KiB
  const std::string huge = test::raw_http(port, "GET /metrics HTTP/1.1\r\nX: " + std::string(20000, 'x') + "\r\n\r\n");
  EXPECT_TRUE(huge.starts_with("HTTP/1.1 400")) << huge.substr(0, 80);
  EXPECT_TRUE(test::raw_http(port, "garbage\r\n\r\n").starts_with("HTTP/1.1 400"));
  EXPECT_EQ((*server)->scrapes(), 3u);
  EXPECT_EQ((*server)->rejected(), 4u);
}

TEST(PrometheusServer, ABusyPortIsAnErrorThatSaysWhatToDo) {
  auto first = prometheus::MetricsHttpServer::start("127.0.0.1:0");
  ASSERT_TRUE(first);
  auto second = prometheus::MetricsHttpServer::start((*first)->address());
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("--listen"), std::string::npos);
  EXPECT_FALSE(prometheus::MetricsHttpServer::start("9478"));
  EXPECT_FALSE(prometheus::MetricsHttpServer::start("127.0.0.1:99999"));
}

TEST(PrometheusExporter, PublishServesAndWritesTheTextfile) {
  const std::string dir = temp_dir();
  auto e = prometheus::PrometheusExporter::create({.listen = "127.0.0.1:0", .textfile = dir + "/g.prom"});
  ASSERT_TRUE(e) << e.error().describe();
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto model = test::telemetry_model(s);
  (*e)->publish(test::telemetry_batch(s, model, spans));
  EXPECT_EQ(test::body_of(test::http_get(test::port_of((*e)->address()), "/metrics")), render(s, 2));
  (*e)->shutdown(std::chrono::milliseconds(1000));
  std::ifstream in(dir + "/g.prom");
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), render(s, 2));
  EXPECT_EQ((*e)->losses().at("prometheus_textfile_errors"), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gputrace
