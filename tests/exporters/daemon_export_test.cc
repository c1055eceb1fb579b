// `gputrace daemon --replay` end to end, with the real tools the fleet uses:
//   - `promtool check metrics` on what /metrics serves and on the textfile;
//   - a real Prometheus server on loopback scrapes the daemon, and its HTTP query API returns
//     gputrace's series with the values the capture was built to produce;
//   - the OTLP file passes tests/otlp/check_otlp.mjs (the official .proto, strictly);
//   - the OTLP/HTTP POSTs reach a local receiver (method, path, content type, body), the first
//     one after a 503 and a retry.
// The capture is made here, with known content, so every expected value is known by
// construction. Needs promtool and prometheus (Debian's prometheus package) and node with
// the checker's packages (installed by the otlp_npm_ci fixture); skips only when a tool is
// missing, saying which.
#include "child_process.h"
#include "http_test_support.h"
#include "record_builder.h"

extern "C" {
#include "bpf/gc.h"
#include "bpf/gpu.h"
}

#include "userspace/capture/capture.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace gputrace {
namespace {

using json = nlohmann::json;
using test::kMs;
using test::kSec;
using test::MapOpts;
using test::TraceBuilder;

constexpr uint64_t kGpu = 0xffff888100a00000;
constexpr uint64_t kT0 = 5 * kSec;                            // first event, CLOCK_MONOTONIC
constexpr uint64_t kMono0 = 4 * kSec;                         // the capture's clock calibration
constexpr uint64_t kReal0 = 1'767'225'600'000'000'000;        // 2026-01-01T00:00:00Z at kMono0

gt_gc_pause_event hotspot_pause(uint32_t pid, uint64_t begin, uint64_t dur) {
  gt_gc_pause_event e{};
  e.begin_ns = begin;
  e.duration_ns = dur;
  e.span_ns = dur;
  e.collected = -1;
  e.ns_pid = pid;
  e.runtime = GT_GC_RT_HOTSPOT;
  e.cause = GT_GC_CAUSE_COLLECTION;
  e.stw_reason = GT_GO_NO_REASON;
  return e;
}

gt_gpu_memcpy_event memcpy_event(uint64_t end, uint64_t bytes) {
  gt_gpu_memcpy_event e{};
  e.end_ns = end;
  e.bytes = bytes;
  e.copy_kind = GT_GPU_COPY_HTOD;
  e.src_kind = 1;
  e.dst_kind = 3;
  e.stream_id = 7;
  e.correlation_id = 11;
  return e;
}

// A GPU server (pid 4242) maps four 64 KiB buffers, unmaps one and exits with three still
// mapped (three dma_leak_owner_exit findings after the 2 s grace); a JVM (pid 5000) pauses
// three times (80 us, 300 us, 3 ms); two host-to-device copies over a link trained to half its
// speed (the correlation makes the first a pcie_stall); the bulk ring lost 5 events.
TraceBuilder exporter_trace() {
  TraceBuilder t;
  t.facts(kT0, "0000:41:00.0", GT_IOMMU_STRICT, 12);
  t.device(kT0 + 1, kGpu, "0000:41:00.0", "nvidia");
  t.proc_info(kT0 + 2, 4242, kT0 - kSec, "python3", "/usr/bin/python3.11");
  t.proc_info(kT0 + 3, 5000, kT0 - kSec, "java", "/usr/bin/java");
  for (uint64_t i = 0; i < 4; ++i)
    t.map(kT0 + 10 * kMs + i * kMs, kGpu, 0xffe00000 + i * 0x10000, 65536, {.pid = 4242, .comm = "python3"});
  t.unmap(kT0 + 20 * kMs, kGpu, 0xffe00000, 65536, {.pid = 4242, .comm = "python3"});
  t.add(hotspot_pause(5000, kT0 + 30 * kMs, 80'000), GT_EV_GC_PAUSE, kT0 + 30 * kMs + 80'000, 5000);
  t.add(hotspot_pause(5000, kT0 + 40 * kMs, 300'000), GT_EV_GC_PAUSE, kT0 + 40 * kMs + 300'000, 5000);
  t.add(hotspot_pause(5000, kT0 + 50 * kMs, 3'000'000), GT_EV_GC_PAUSE, kT0 + 53 * kMs, 5000);
  t.add(memcpy_event(kT0 + 62 * kMs, 4 << 20), GT_EV_GPU_MEMCPY, kT0 + 60 * kMs, 4242);
  t.add(memcpy_event(kT0 + 71 * kMs, 1 << 20), GT_EV_GPU_MEMCPY, kT0 + 70 * kMs, 4242);
  t.exit(kT0 + 100 * kMs, 4242, kT0 - kSec, "python3");
  t.loss(kT0 + 3 * kSec, "ring_full_bulk", 5);
  return t;
}

class DaemonExport : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/gputrace-daemon-XXXXXX";
    dir_ = mkdtemp(tmpl);
    CaptureHostInfo host{.hostname = "infer-07", .kernel_release = "6.12.48+deb13-cloud-amd64",
                         .boot_id = "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0", .gputrace_version = "0.1.0",
                         .start_monotonic_ns = kMono0, .start_realtime_ns = kReal0};
    capture_ = dir_ + "/fixture.gtrace";
    auto w = CaptureWriter::create(capture_, host);
    ASSERT_TRUE(w) << w.error().describe();
    const TraceBuilder trace = exporter_trace();  // records view its bytes: keep it alive
    for (const Record& r : trace.records()) {
      auto appended = (*w)->append(r);
      ASSERT_TRUE(appended) << appended.error().describe();
    }
    ASSERT_TRUE((*w)->close());
  }
  void TearDown() override {
    // GPUTRACE_KEEP_TEST_DIRS=1 keeps the capture, the OTLP file and Prometheus's config to look at
    if (!HasFailure() && !std::getenv("GPUTRACE_KEEP_TEST_DIRS")) std::filesystem::remove_all(dir_);
    else std::fprintf(stderr, "artefacts kept in %s\n", dir_.c_str());
  }
  std::string read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
    return dir_ + "/" + name;
  }

  std::string dir_, capture_;
};

uint16_t free_port() {
  test::ScriptedReceiver probe;  // binds 127.0.0.1:0; the port is free again once it closes
  return probe.port();
}

std::string url_encode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '.' || c == '-') out += static_cast<char>(c);
    else out += fmt::format("%{:02X}", c);
  }
  return out;
}

// Prometheus's answer to an instant query: metric labels -> value.
std::map<std::string, std::string> query(uint16_t port, const std::string& promql) {
  std::map<std::string, std::string> out;
  const std::string body = test::body_of(test::http_get(port, "/api/v1/query?query=" + url_encode(promql)));
  const json j = json::parse(body, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success") return out;
  for (const auto& r : j["data"]["result"]) out[r["metric"].dump()] = r["value"][1].get<std::string>();
  return out;
}

std::string only_value(const std::map<std::string, std::string>& result) {
  return result.size() == 1 ? result.begin()->second : fmt::format("<{} series>", result.size());
}

TEST_F(DaemonExport, PrometheusScrapesItAndOtlpPayloadsMatchTheSchema) {
  for (const char* tool : {"promtool", "prometheus", "node"})
    if (!test::have_program(tool)) GTEST_SKIP() << tool << " is not installed (scripts/install-deps.sh installs it)";
  const std::string checker = GPUTRACE_OTLP_CHECK_DIR "/check_otlp.mjs";
  ASSERT_TRUE(std::filesystem::exists(GPUTRACE_OTLP_CHECK_DIR "/node_modules/protobufjs"))
      << "the OTLP checker's packages are not installed: run ctest with the otlp_npm_ci fixture";

  test::ScriptedReceiver receiver({503});  // the first POST must be retried
  const std::string otlp_file = dir_ + "/otlp.jsonl", textfile = dir_ + "/gputrace.prom";
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--replay", capture_, "--listen", "127.0.0.1:0", "--interval",
                             "1s", "--textfile", textfile, "--otlp-file", otlp_file, "--otlp-endpoint", receiver.base_url()},
                            {"OTEL_RESOURCE_ATTRIBUTES=deployment.environment=test"});
  ASSERT_TRUE(daemon.started());
  const auto line = daemon.wait_for_line("metrics at http://", std::chrono::seconds(30));
  ASSERT_TRUE(line) << daemon.stderr_text();
  const std::string address = line->substr(line->find("http://") + 7, line->find("/metrics") - line->find("http://") - 7);
  const uint16_t port = test::port_of(address);

  // promtool on the daemon's own output, served and written
  const std::string served = test::body_of(test::http_get(port, "/metrics"));
  ASSERT_NE(served.find("gputrace_device_dma_maps_total"), std::string::npos) << served.substr(0, 500);
  for (const std::string& file : {write("served.prom", served), textfile}) {
    const auto [rc, out] = test::run_shell("promtool check metrics < " + file);
    EXPECT_EQ(rc, 0) << file << ":\n" << out;
    EXPECT_EQ(out, "") << "promtool has lint remarks on " << file;
  }

  // a real Prometheus scrapes it
  const uint16_t prom_port = free_port();
  const std::string config = write("prometheus.yml", fmt::format(
      "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: gputrace\n"
      "    static_configs:\n      - targets: ['{}']\n", address));
  test::ChildProcess prometheus({"prometheus", "--config.file=" + config, "--storage.tsdb.path=" + dir_ + "/tsdb",
                                 "--web.listen-address=127.0.0.1:" + std::to_string(prom_port), "--log.level=warn"});
  ASSERT_TRUE(prometheus.started());
  std::map<std::string, std::string> up;
  for (int i = 0; i < 240 && only_value(up) != "1"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    up = query(prom_port, "up{job=\"gputrace\"}");
    if (!prometheus.running()) break;
  }
  ASSERT_EQ(only_value(up), "1") << "Prometheus did not scrape the daemon:\n" << prometheus.stderr_text();
  std::map<std::string, std::string> maps;
  for (int i = 0; i < 40 && maps.empty(); ++i) {  // the first scrape's samples become queryable shortly after
    maps = query(prom_port, "gputrace_device_dma_maps_total");
    if (maps.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(only_value(maps), "4");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_device_dma_unmaps_total{device=\"0000:41:00.0\"}")), "1");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_device_dma_outstanding_bytes{device=\"0000:41:00.0\"}")), "196608");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_process_dma_leaks_total{pid=\"4242\",comm=\"python3\"}")), "3");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_findings_total{kind=\"dma_leak_owner_exit\",severity=\"warning\"}")), "3");
  // the runtime is on gputrace_process_info, joined on pid as docs/metrics.md shows
  EXPECT_EQ(only_value(query(prom_port, "gputrace_process_gc_pause_duration_seconds_count * on(pid) group_left(runtime) "
                                        "gputrace_process_info{runtime=\"hotspot\"}")),
            "3");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_process_gc_pause_duration_seconds_bucket{pid=\"5000\",le=\"0.0001\"}")), "1");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_process_gc_pause_duration_seconds_bucket{pid=\"5000\",le=\"0.0005\"}")), "2");
  EXPECT_NEAR(std::stod(only_value(query(prom_port, "gputrace_process_gc_pause_duration_seconds_sum{pid=\"5000\"}"))), 0.00338, 1e-12);
  EXPECT_EQ(only_value(query(prom_port, "gputrace_losses_total{counter=\"ring_full_bulk\"}")), "5");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_device_pcie_link_downtrained{device=\"0000:41:00.0\"}")), "1");
  EXPECT_EQ(query(prom_port, "gputrace_build_info{version=\"" GPUTRACE_VERSION "\"}").size(), 1u);
  // the copies, and the stall the correlation concludes from the first one on a link trained
  // to half its speed
  EXPECT_EQ(only_value(query(prom_port, "gputrace_process_gpu_memcpys_total{pid=\"4242\"}")), "2");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_process_gpu_memcpy_transferred_bytes_total{pid=\"4242\"}")), "5242880");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_process_pcie_stalls_total{pid=\"4242\"}")), "1");
  // the 4 MiB copy is judged (2 ms: about 2.1 GB/s); the 1 MiB one is below the minimum
  EXPECT_EQ(only_value(query(prom_port, "gputrace_device_gpu_memcpy_bandwidth_bytes_per_second_count{device=\"0000:41:00.0\",direction=\"htod\"}")), "1");
  EXPECT_EQ(only_value(query(prom_port, "gputrace_device_gpu_memcpy_bandwidth_bytes_per_second_bucket{device=\"0000:41:00.0\",direction=\"htod\",le=\"3000000000\"}")), "1");

  daemon.signal(SIGTERM);
  const auto status = daemon.wait_exit(std::chrono::seconds(20));
  ASSERT_TRUE(status) << "the daemon did not stop on SIGTERM";
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << daemon.stderr_text();
  prometheus.signal(SIGTERM);

  // the POST path: method, path, content type, a retry after the 503, and bodies that are the
  // file's lines (which the schema checker passes below)
  const auto posts = receiver.requests();
  ASSERT_GE(posts.size(), 4u);
  EXPECT_EQ(posts[0].path, "/v1/metrics");
  EXPECT_EQ(posts[1].path, "/v1/metrics");
  EXPECT_EQ(posts[1].body, posts[0].body) << "the retry must resend the same request";
  std::map<std::string, int> paths;
  for (const auto& p : posts) {
    EXPECT_EQ(p.method, "POST");
    EXPECT_EQ(p.headers.at("content-type"), "application/json");
    ++paths[p.path];
  }
  EXPECT_EQ(paths["/v1/traces"], 1);
  EXPECT_EQ(paths["/v1/logs"], 1);
  std::vector<std::string> file_lines;
  {
    std::istringstream in(read(otlp_file));
    for (std::string l; std::getline(in, l);) file_lines.push_back(l);
  }
  // in order; a metrics request may be missing from the POSTs (superseded by a newer one while
  // the receiver was slow), nothing else
  size_t next = 0;
  auto skip_metrics_until = [&](const std::string* body) {
    while (next < file_lines.size() && (!body || file_lines[next] != *body)) {
      EXPECT_TRUE(file_lines[next].starts_with("{\"resourceMetrics\"")) << "not POSTed: " << file_lines[next].substr(0, 200);
      ++next;
    }
  };
  for (size_t i = 1; i < posts.size(); ++i) {
    skip_metrics_until(&posts[i].body);
    ASSERT_LT(next, file_lines.size()) << "POST " << i << " is no line of the OTLP file: " << posts[i].body.substr(0, 200);
    ++next;
  }
  skip_metrics_until(nullptr);

  // the file: every line against the official schema, and the content the capture implies
  const auto [rc, out] = test::run_shell("node " + checker + " " + otlp_file);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find(" 0 bad"), std::string::npos) << out;
  size_t pause_spans = 0, copy_spans = 0, leak_logs = 0;
  std::string stall_span_id, stall_log_span_id;
  std::istringstream lines(read(otlp_file));
  for (std::string l; std::getline(lines, l);) {
    const json j = json::parse(l);
    for (const auto& rs : j.value("resourceSpans", json::array()))
      for (const auto& sp : rs["scopeSpans"][0]["spans"]) {
        if (sp["name"] == "gc.pause") {
          ++pause_spans;
          if (pause_spans == 1) {  // CLOCK_MONOTONIC -> Unix time through the capture's calibration
            EXPECT_EQ(sp["startTimeUnixNano"], std::to_string(kReal0 + (kT0 + 40 * kMs) - kMono0));
          }
        }
        if (sp["name"] == "gpu.memcpy") ++copy_spans;
        if (sp["name"] == "pcie.stall") stall_span_id = sp["spanId"];
      }
    for (const auto& rl : j.value("resourceLogs", json::array()))
      for (const auto& rec : rl["scopeLogs"][0]["logRecords"])
        if (rec["attributes"].dump().find("dma_leak_owner_exit") != std::string::npos) ++leak_logs;
        else if (rec["attributes"].dump().find("\"pcie_stall\"") != std::string::npos) stall_log_span_id = rec.value("spanId", "");
  }
  EXPECT_EQ(pause_spans, 2u);  // the 80 us pause is below --min-span's default of 100 us
  EXPECT_EQ(copy_spans, 2u);
  EXPECT_EQ(leak_logs, 3u);
  EXPECT_FALSE(stall_span_id.empty()) << "no pcie.stall span";
  EXPECT_EQ(stall_log_span_id, stall_span_id) << "the stall's log record must point at its span";
}

// Report files for an incident: on SIGUSR1 while it runs, and again at exit.
TEST_F(DaemonExport, WritesReportFilesOnSigusr1AndAtExit) {
  const std::string reports = dir_ + "/reports";
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--replay", capture_, "--listen", "127.0.0.1:0",
                             "--report-dir", reports});
  ASSERT_TRUE(daemon.started());
  ASSERT_TRUE(daemon.wait_for_line("metrics at http://", std::chrono::seconds(30))) << daemon.stderr_text();
  daemon.signal(SIGUSR1);
  ASSERT_TRUE(daemon.wait_for_line("report.json", std::chrono::seconds(30))) << daemon.stderr_text();
  for (const char* name : {"summary.md", "report.html", "trace.json", "report.json"})
    EXPECT_TRUE(std::filesystem::exists(reports + "/" + name)) << name;
  EXPECT_NE(read(reports + "/summary.md").find("dma_leak_owner_exit"), std::string::npos);
  std::filesystem::remove_all(reports);
  daemon.signal(SIGTERM);
  EXPECT_EQ(daemon.wait_exit(std::chrono::seconds(30)), 0) << daemon.stderr_text();
  EXPECT_TRUE(std::filesystem::exists(reports + "/report.html")) << "no report files at exit";
}

// A busy host fills --max-spans with copies and pauses every interval; the stall, the span an
// on-call engineer opens the trace for, has a budget of its own, and its log record points at it.
TEST_F(DaemonExport, FindingSpansHaveABudgetOfTheirOwn) {
  const std::string otlp_file = dir_ + "/otlp.jsonl";
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--replay", capture_, "--listen", "none", "--otlp-file", otlp_file,
                             "--max-spans", "1", "--duration", "1s"});
  ASSERT_TRUE(daemon.started());
  ASSERT_EQ(daemon.wait_exit(std::chrono::seconds(30)), 0) << daemon.stderr_text();
  std::map<std::string, int> spans;
  std::string stall_span_id, stall_log_span_id, spans_not_kept;
  std::istringstream lines(read(otlp_file));
  for (std::string l; std::getline(lines, l);) {
    const json j = json::parse(l);
    for (const auto& rs : j.value("resourceSpans", json::array()))
      for (const auto& sp : rs["scopeSpans"][0]["spans"]) {
        ++spans[sp["name"]];
        if (sp["name"] == "pcie.stall") stall_span_id = sp["spanId"];
      }
    for (const auto& rl : j.value("resourceLogs", json::array()))
      for (const auto& rec : rl["scopeLogs"][0]["logRecords"])
        if (rec["attributes"].dump().find("\"pcie_stall\"") != std::string::npos) stall_log_span_id = rec.value("spanId", "");
    for (const auto& rm : j.value("resourceMetrics", json::array()))
      for (const auto& m : rm["scopeMetrics"][0]["metrics"])
        if (m["name"] == "gputrace.losses")
          for (const auto& dp : m["sum"]["dataPoints"])
            if (dp["attributes"].dump().find("\"spans_not_kept\"") != std::string::npos) spans_not_kept = dp["asInt"];
  }
  EXPECT_EQ(spans["gc.pause"] + spans["gpu.memcpy"], 1) << "--max-spans 1";
  EXPECT_EQ(spans_not_kept, "3");  // two pauses and two copies above --min-span, one kept
  EXPECT_EQ(spans["pcie.stall"], 1);
  EXPECT_EQ(spans["finding.dma_leak_owner_exit"], 3);
  EXPECT_FALSE(stall_span_id.empty());
  EXPECT_EQ(stall_log_span_id, stall_span_id);
}

TEST_F(DaemonExport, RefusesBadOptionsWithAMessage) {
  const auto [rc, out] = test::run_shell(std::string(GPUTRACE_BINARY) + " daemon --replay " + capture_ +
                                         " --otlp-endpoint collector:4318 --listen none");
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("http:// or https://"), std::string::npos) << out;
  const auto [rc2, out2] = test::run_shell(std::string(GPUTRACE_BINARY) + " daemon --replay " + capture_ + " --listen nope");
  EXPECT_EQ(rc2, 1);
  EXPECT_NE(out2.find("HOST:PORT"), std::string::npos) << out2;
  const auto [rc3, out3] = test::run_shell(std::string(GPUTRACE_BINARY) + " daemon --replay " + capture_ + " --listen none");
  EXPECT_EQ(rc3, 2);
  EXPECT_NE(out3.find("nothing to export"), std::string::npos) << out3;
  // node_exporter reads only *.prom: a textfile it would never read is an error, not a warning
  const auto [rc4, out4] = test::run_shell(std::string(GPUTRACE_BINARY) + " daemon --replay " + capture_ +
                                           " --listen none --textfile " + dir_ + "/gputrace.txt");
  EXPECT_EQ(rc4, 2);
  EXPECT_NE(out4.find(".prom"), std::string::npos) << out4;
}

}  // namespace
}  // namespace gputrace
