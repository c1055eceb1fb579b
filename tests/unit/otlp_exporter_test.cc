// The OTLP/JSON exporter: encoding rules (camelCase, 64-bit integers as strings, hex ids,
// integer enums, Unix times), the golden file (diffed in full; tests/otlp/check_otlp.mjs
// checks the same file against the official .proto), endpoint rules, and the POST path
// against a local receiver: method, path, content type, body, retries, drops.
// Regenerate the golden file after an intended change:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Otlp*'
#include "golden.h"
#include "http_test_support.h"
#include "telemetry_fixture.h"

#include "otlp/otlp_exporter.h"
#include "otlp/otlp_http.h"
#include "otlp/otlp_json.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <thread>

namespace gputrace {
namespace {

using json = nlohmann::ordered_json;
using otlp::OtlpEncoder;
using otlp::Signal;

constexpr uint64_t kSeed = 0x5eed;

std::vector<otlp::OtlpRequest> encode_fixture() {
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  OtlpEncoder enc({.service_version = "0.1.0", .id_seed = kSeed}, 2);
  return enc.encode(test::telemetry_batch(s, spans));
}

json request_of(Signal sig) {
  for (const auto& r : encode_fixture())
    if (r.signal == sig) return json::parse(r.body);
  return {};
}

const json* find_metric(const json& req, const std::string& name, const std::string& pid = "") {
  for (const auto& rm : req["resourceMetrics"]) {
    std::string rpid;
    for (const auto& a : rm["resource"]["attributes"])
      if (a["key"] == "process.pid") rpid = a["value"]["intValue"];
    if (rpid != pid) continue;
    for (const auto& m : rm["scopeMetrics"][0]["metrics"])
      if (m["name"] == name) return &m;
  }
  return nullptr;
}

std::string attr(const json& attributes, const std::string& key) {
  for (const auto& a : attributes)
    if (a["key"] == key) return a["value"].dump();
  return "";
}

TEST(OtlpJson, AnyValueFollowsTheJsonMapping) {
  EXPECT_EQ(otlp::any_value(json(42)).dump(), R"({"intValue":"42"})");
  EXPECT_EQ(otlp::any_value(json(-3)).dump(), R"({"intValue":"-3"})");
  EXPECT_EQ(otlp::any_value(json(0xffff888100a00000ull)).dump(), R"({"stringValue":"18446612686375485440"})");
  EXPECT_EQ(otlp::any_value(json(0.5)).dump(), R"({"doubleValue":0.5})");
  EXPECT_EQ(otlp::any_value(json(true)).dump(), R"({"boolValue":true})");
  EXPECT_EQ(otlp::any_value(json("x\xff")).dump(), "{\"stringValue\":\"x\xEF\xBF\xBD\"}");
  EXPECT_EQ(otlp::any_value(json::array({1, "a"})).dump(),
            R"({"arrayValue":{"values":[{"intValue":"1"},{"stringValue":"a"}]}})");
  EXPECT_EQ(otlp::any_value(json{{"k", 1}}).dump(), R"({"kvlistValue":{"values":[{"key":"k","value":{"intValue":"1"}}]}})");
}

TEST(OtlpJson, MetricsAreCumulativeWithUnixTimesAndStringInts) {
  const json req = request_of(Signal::Metrics);
  const json* maps = find_metric(req, "gputrace.device.dma.maps");
  ASSERT_TRUE(maps);
  EXPECT_EQ((*maps)["unit"], "{mapping}");
  EXPECT_EQ((*maps)["sum"]["aggregationTemporality"], 2);
  EXPECT_EQ((*maps)["sum"]["isMonotonic"], true);
  const json& dp = (*maps)["sum"]["dataPoints"][1];
  EXPECT_EQ(attr(dp["attributes"], "device"), R"({"stringValue":"0000:41:00.0"})");
  EXPECT_EQ(dp["asInt"], "3000");
  EXPECT_EQ(dp["startTimeUnixNano"], std::to_string(test::kUnixBase));
  EXPECT_EQ(dp["timeUnixNano"], std::to_string(test::kUnixBase + 60'000'000'000));
  const json* out = find_metric(req, "gputrace.device.dma.outstanding");
  ASSERT_TRUE(out);
  EXPECT_TRUE((*out).contains("gauge"));
  EXPECT_FALSE((*out)["gauge"]["dataPoints"][0].contains("startTimeUnixNano"));
}

TEST(OtlpJson, HistogramCountsPerBucketNotCumulative) {
  const json req = request_of(Signal::Metrics);
  const json* h = find_metric(req, "gputrace.process.gc.pause.duration", "4242");
  ASSERT_TRUE(h);
  const json& dp = (*h)["histogram"]["dataPoints"][0];
  EXPECT_EQ((*h)["histogram"]["aggregationTemporality"], 2);
  EXPECT_EQ(dp["count"], "3");
  ASSERT_EQ(dp["explicitBounds"].size(), 12u);
  ASSERT_EQ(dp["bucketCounts"].size(), 13u);
  EXPECT_EQ(dp["explicitBounds"][0], 5e-05);
  uint64_t total = 0;
  for (const auto& c : dp["bucketCounts"]) total += std::stoull(c.get<std::string>());
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(dp["bucketCounts"][1], "1");  // (50 us, 100 us]
  EXPECT_EQ(dp["bucketCounts"][3], "1");  // (250 us, 500 us]
  EXPECT_EQ(dp["bucketCounts"][6], "1");  // (2.5 ms, 5 ms]
  EXPECT_DOUBLE_EQ(dp["max"].get<double>(), 0.003);
}

TEST(OtlpJson, ProcessesHaveTheirOwnResourcesAndTheRestIsFolded) {
  const json req = request_of(Signal::Metrics);
  std::vector<std::string> resources;
  for (const auto& rm : req["resourceMetrics"]) {
    const auto& a = rm["resource"]["attributes"];
    EXPECT_EQ(attr(a, "service.name"), R"({"stringValue":"gputrace"})");
    EXPECT_EQ(attr(a, "host.name"), R"({"stringValue":"infer-07"})");
    resources.push_back(attr(a, "process.pid") + attr(a, "gputrace.process.group") + attr(a, "container.id"));
  }
  ASSERT_EQ(resources.size(), 4u);
  EXPECT_EQ(resources[0], "");  // the host
  const std::string server_container = json{{"stringValue", std::string(64, 'a')}}.dump();
  EXPECT_EQ(resources[1], R"({"intValue":"4242"})" + server_container);
  EXPECT_EQ(resources[2], R"({"intValue":"5000"})");
  EXPECT_EQ(resources[3], R"({"stringValue":"other"})");
}

TEST(OtlpJson, SpansHaveHexIdsEnumsAsIntegersAndEvidence) {
  const json req = request_of(Signal::Traces);
  std::set<std::string> ids;
  size_t spans = 0;
  for (const auto& rs : req["resourceSpans"]) {
    for (const auto& sp : rs["scopeSpans"][0]["spans"]) {
      ++spans;
      EXPECT_TRUE(std::regex_match(sp["traceId"].get<std::string>(), std::regex("[0-9a-f]{32}")));
      EXPECT_TRUE(std::regex_match(sp["spanId"].get<std::string>(), std::regex("[0-9a-f]{16}")));
      EXPECT_NE(sp["traceId"], std::string(32, '0'));
      ids.insert(sp["spanId"]);
      EXPECT_EQ(sp["kind"], 1);
      EXPECT_LE(std::stoull(sp["startTimeUnixNano"].get<std::string>()), std::stoull(sp["endTimeUnixNano"].get<std::string>()));
      if (sp["name"] == "gc.pause") {
        EXPECT_EQ(sp["startTimeUnixNano"], std::to_string(test::kUnixBase + 5'000'000'000));
        EXPECT_EQ(attr(sp["attributes"], "gputrace.duration_ns"), R"({"intValue":"3000000"})");
      }
      if (sp["name"] == "finding.iommu_fault") {
        EXPECT_EQ(sp["status"]["code"], 2);
        EXPECT_EQ(attr(sp["attributes"], "gputrace.evidence.address"), R"({"stringValue":"18446612686375485440"})");
        EXPECT_EQ(attr(sp["attributes"], "gputrace.device"), R"({"stringValue":"0000:41:00.0"})");
      }
    }
  }
  EXPECT_EQ(spans, 4u);  // pause, copy, and the two findings with a time range
  EXPECT_EQ(ids.size(), spans);
}

TEST(OtlpJson, OneLogRecordPerFindingLinkedToItsSpan) {
  const auto reqs = encode_fixture();
  json traces, logs;
  for (const auto& r : reqs) {
    if (r.signal == Signal::Traces) traces = json::parse(r.body);
    if (r.signal == Signal::Logs) logs = json::parse(r.body);
  }
  std::map<std::string, std::string> span_of;  // spanId -> name
  for (const auto& rs : traces["resourceSpans"])
    for (const auto& sp : rs["scopeSpans"][0]["spans"]) span_of[sp["spanId"]] = sp["name"];
  std::map<int, int> severities;
  size_t records = 0;
  for (const auto& rl : logs["resourceLogs"]) {
    for (const auto& rec : rl["scopeLogs"][0]["logRecords"]) {
      ++records;
      ++severities[rec["severityNumber"].get<int>()];
      EXPECT_TRUE(rec["body"].contains("stringValue"));
      EXPECT_EQ(rec["observedTimeUnixNano"], std::to_string(test::kUnixBase + 61'000'000'000));
      const std::string kind = json::parse(attr(rec["attributes"], "gputrace.finding.kind"))["stringValue"];
      if (kind == "dma_growth") {
        EXPECT_FALSE(rec.contains("traceId"));  // no time range, no span
        EXPECT_FALSE(rec.contains("timeUnixNano"));
      } else {
        ASSERT_TRUE(rec.contains("spanId")) << kind;
        EXPECT_EQ(span_of[rec["spanId"]], "finding." + kind);
      }
    }
  }
  EXPECT_EQ(records, 3u);
  EXPECT_EQ(severities, (std::map<int, int>{{9, 1}, {13, 1}, {17, 1}}));
}

TEST(OtlpJson, MatchesGoldenFile) {
  std::string text;
  for (const auto& r : encode_fixture()) text += r.body + "\n";
  test::expect_golden(text, "exporters_otlp.jsonl");
}

TEST(OtlpJson, LargeBatchesAreSplitAcrossRequests) {
  HostSnapshot s = test::telemetry_snapshot();
  std::vector<TimelineSpan> spans(25, TimelineSpan{.name = "gc.pause", .start_ns = test::kMonoBase, .end_ns = test::kMonoBase + 1, .pid = 4242});
  OtlpEncoder enc({.id_seed = 1}, 2);
  enc.max_items_per_request = 10;
  const auto reqs = enc.encode(test::telemetry_batch(s, spans));
  std::vector<uint64_t> span_counts;
  for (const auto& r : reqs)
    if (r.signal == Signal::Traces) span_counts.push_back(r.items);
  EXPECT_EQ(span_counts, (std::vector<uint64_t>{10, 10, 5}));
}

TEST(OtlpEndpoints, FlagEnvironmentAndSignalSpecificVariables) {
  std::map<std::string, std::string> env;
  auto get = [&](const char* n) -> const char* { return env.count(n) ? env[n].c_str() : nullptr; };
  auto none = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_TRUE(none);
  EXPECT_FALSE(none->any());

  env["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://collector:4318/";
  env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] = "http://tempo:4318/custom/traces";
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "authorization=Bearer%20x, x-tenant = a";
  env["OTEL_EXPORTER_OTLP_TIMEOUT"] = "2500";
  auto e = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_TRUE(e) << e.error().describe();
  EXPECT_EQ(e->metrics->text(), "http://collector:4318/v1/metrics");
  EXPECT_EQ(e->logs->text(), "http://collector:4318/v1/logs");
  EXPECT_EQ(e->traces->text(), "http://tempo:4318/custom/traces");  // used as it is
  EXPECT_EQ(e->headers, (otlp::Headers{{"authorization", "Bearer x"}, {"x-tenant", "a"}}));
  EXPECT_EQ(e->timeout, std::chrono::milliseconds(2500));

  auto flag = otlp::resolve_endpoints("http://[::1]:9999/base", get);  // the flag wins over both
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->traces->text(), "http://[::1]:9999/base/v1/traces");
  EXPECT_EQ(flag->metrics->port, 9999);

  auto tls = otlp::resolve_endpoints("https://collector:4318", get);
  ASSERT_FALSE(tls);
  EXPECT_NE(tls.error().message.find("Collector"), std::string::npos);
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  auto noted = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_TRUE(noted);
  ASSERT_EQ(noted->notes.size(), 1u);
  EXPECT_FALSE(otlp::parse_http_url("http://host:0"));
  EXPECT_FALSE(otlp::parse_http_url("collector:4318"));
}

otlp::OtlpOptions options_for(const test::ScriptedReceiver& rx, std::string file = "") {
  auto eps = otlp::resolve_endpoints(rx.base_url(), [](const char*) -> const char* { return nullptr; });
  otlp::OtlpOptions o{.file = std::move(file), .endpoints = *eps, .identity = {.service_version = "0.1.0", .id_seed = kSeed},
                      .top_processes = 2};
  o.retry = {.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(20), .max_backoff = std::chrono::milliseconds(50)};
  return o;
}

TEST(OtlpHttp, PostsEachSignalToItsPathAsJson) {
  test::ScriptedReceiver rx;
  auto e = otlp::OtlpExporter::create(options_for(rx));
  ASSERT_TRUE(e) << e.error().describe();
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  (*e)->publish(test::telemetry_batch(s, spans));
  (*e)->shutdown(std::chrono::seconds(5));
  const auto got = rx.requests();
  ASSERT_EQ(got.size(), 3u);
  const auto expected = encode_fixture();  // same seed: byte-identical bodies
  const std::vector<std::string> paths{"/v1/metrics", "/v1/traces", "/v1/logs"};
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].method, "POST");
    EXPECT_EQ(got[i].path, paths[i]);
    EXPECT_EQ(got[i].headers.at("content-type"), "application/json");
    EXPECT_EQ(got[i].headers.at("content-length"), std::to_string(got[i].body.size()));
    EXPECT_EQ(got[i].body, expected[i].body);
  }
  EXPECT_EQ((*e)->delivered(Signal::Metrics), 1u);
  for (const auto& [name, n] : (*e)->losses()) EXPECT_EQ(n, 0u) << name;
}

TEST(OtlpHttp, RetriesAfter503AndCountsWhatIsGivenUp) {
  // metrics: 503 then accepted; traces: 503 three times (retries exhausted); logs: 400 (final)
  test::ScriptedReceiver rx({503, 200, 503, 503, 503, 400});
  auto e = otlp::OtlpExporter::create(options_for(rx));
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  (*e)->publish(test::telemetry_batch(s, spans));
  (*e)->shutdown(std::chrono::seconds(5));
  const auto got = rx.requests();
  ASSERT_EQ(got.size(), 6u);
  EXPECT_EQ(got[0].path, "/v1/metrics");
  EXPECT_EQ(got[1].path, "/v1/metrics");
  EXPECT_EQ(got[1].body, got[0].body);
  EXPECT_EQ(got[4].path, "/v1/traces");
  EXPECT_EQ(got[5].path, "/v1/logs");
  EXPECT_EQ((*e)->delivered(Signal::Metrics), 1u);
  const auto losses = (*e)->losses();
  EXPECT_EQ(losses.at("otlp_http_dropped_metric_points"), 0u);
  EXPECT_EQ(losses.at("otlp_http_dropped_spans"), 4u);
  EXPECT_EQ(losses.at("otlp_http_dropped_log_records"), 3u);
}

TEST(OtlpHttp, AnUnreachableReceiverNeverBlocksPublishAndDropsAreCounted) {
  uint16_t dead_port;
  {
    test::ScriptedReceiver rx;  // take a free port, then let it go
    dead_port = rx.port();
  }
  auto eps = otlp::resolve_endpoints("http://127.0.0.1:" + std::to_string(dead_port), [](const char*) -> const char* { return nullptr; });
  otlp::OtlpOptions o{.endpoints = *eps, .identity = {.id_seed = 1}, .top_processes = 2, .queue_requests = 4};
  o.retry = {.max_attempts = 100, .initial_backoff = std::chrono::milliseconds(200), .max_backoff = std::chrono::milliseconds(200)};
  auto e = otlp::OtlpExporter::create(o);
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) (*e)->publish(test::telemetry_batch(s, spans));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500)) << "publish waited on the network";
  (*e)->shutdown(std::chrono::milliseconds(300));
  const auto losses = (*e)->losses();
  // every span and log record of 20 batches was given up, none was delivered
  EXPECT_EQ(losses.at("otlp_http_dropped_spans"), 20u * 4);
  EXPECT_EQ(losses.at("otlp_http_dropped_log_records"), 20u * 3);
  EXPECT_GT(losses.at("otlp_http_dropped_metric_points"), 0u);
  EXPECT_EQ((*e)->delivered(Signal::Metrics), 0u);
}

TEST(OtlpFile, OneRequestPerLine) {
  char tmpl[] = "/tmp/gputrace-otlp-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  otlp::OtlpOptions o{.file = dir + "/out.jsonl", .identity = {.service_version = "0.1.0", .id_seed = kSeed}, .top_processes = 2};
  auto e = otlp::OtlpExporter::create(o);
  ASSERT_TRUE(e) << e.error().describe();
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  (*e)->publish(test::telemetry_batch(s, spans));
  (*e)->shutdown(std::chrono::seconds(5));
  std::ifstream in(dir + "/out.jsonl");
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  const auto expected = encode_fixture();
  ASSERT_EQ(lines.size(), expected.size());
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i], expected[i].body);
  EXPECT_EQ((*e)->losses().at("otlp_file_dropped_spans"), 0u);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace gputrace
