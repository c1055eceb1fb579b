// The OTLP/JSON exporter: encoding rules (camelCase, 64-bit integers as strings, hex ids,
// integer enums, Unix times), the golden file (diffed in full; tests/otlp/check_otlp.mjs
// checks the same file against the official .proto), endpoint rules, and the POST path
// against a local receiver: method, path, content type, body, retries, drops.
// Regenerate the golden file after an intended change:
//   GPUTRACE_UPDATE_GOLDEN=1 ./unit_tests --gtest_filter='Otlp*'
#include "golden.h"
#include "http_test_support.h"
#include "telemetry_fixture.h"

#include "exporters/otlp/otlp_exporter.h"
#include "exporters/otlp/otlp_http.h"
#include "exporters/otlp/otlp_json.h"

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

const otlp::OtlpIdentity kIdentity{.service_version = "0.1.0", .service_instance_id = "infer-07", .id_seed = kSeed};

std::vector<otlp::OtlpRequest> encode_fixture() {
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto model = test::telemetry_model(s);
  OtlpEncoder enc(kIdentity);
  return enc.encode(test::telemetry_batch(s, model, spans));
}

json request_of(Signal sig) {
  for (const auto& r : encode_fixture())
    if (r.signal == sig) return json::parse(r.body);
  return {};
}

const json* find_metric(const json& req, const std::string& name) {
  for (const auto& rm : req["resourceMetrics"])
    for (const auto& m : rm["scopeMetrics"][0]["metrics"])
      if (m["name"] == name) return &m;
  return nullptr;
}

std::string attr(const json& attributes, const std::string& key) {
  for (const auto& a : attributes)
    if (a["key"] == key) return a["value"].dump();
  return "";
}

// The data point of a metric whose attribute `key` has the string value `value`.
const json* point_with(const json& metric, const std::string& key, const std::string& value) {
  for (const char* kind : {"sum", "gauge", "histogram"}) {
    if (!metric.contains(kind)) continue;
    for (const auto& dp : metric[kind]["dataPoints"])
      if (attr(dp.value("attributes", json::array()), key) == json{{"stringValue", value}}.dump()) return &dp;
  }
  return nullptr;
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
  EXPECT_EQ(dp["timeUnixNano"], std::to_string(test::kUnixBase + 61'000'000'000));  // when it was sent
  const json* out = find_metric(req, "gputrace.device.dma.outstanding");
  ASSERT_TRUE(out);
  EXPECT_TRUE((*out).contains("gauge"));
  EXPECT_FALSE((*out)["gauge"]["dataPoints"][0].contains("startTimeUnixNano"));
}

// A live daemon on an idle host: no new record, so the snapshot's newest record stays put, while
// the exporters' own counters move. Stamped with the record's time, two different samples of
// one series would share a timestamp and the receiver would refuse the second with a 400.
TEST(OtlpJson, LiveMetricsAreStampedWhenSentAndAReplayWithItsCaptureTime) {
  const HostSnapshot s = test::telemetry_snapshot();
  const auto model = test::telemetry_model(s);
  OtlpEncoder enc(kIdentity);
  auto batch = test::telemetry_batch(s, model, {});
  std::vector<std::string> times;
  for (uint64_t now : {test::kUnixBase + 70'000'000'000, test::kUnixBase + 80'000'000'000}) {
    batch.now_unix_ns = now;
    const json req = enc.encode_metrics(batch);
    times.push_back((*find_metric(req, "gputrace.records.processed"))["sum"]["dataPoints"][0]["timeUnixNano"]);
  }
  EXPECT_EQ(times, (std::vector<std::string>{std::to_string(test::kUnixBase + 70'000'000'000),
                                             std::to_string(test::kUnixBase + 80'000'000'000)}));
  batch.replay = true;  // a replay's series line up with its spans, at the capture's dates
  const json replayed = enc.encode_metrics(batch);
  EXPECT_EQ((*find_metric(replayed, "gputrace.records.processed"))["sum"]["dataPoints"][0]["timeUnixNano"],
            std::to_string(test::kUnixBase + 60'000'000'000));
}

TEST(OtlpJson, HistogramCountsPerBucketNotCumulative) {
  const json req = request_of(Signal::Metrics);
  const json* h = find_metric(req, "gputrace.process.gc.pause.duration");
  ASSERT_TRUE(h);
  const json* server = point_with(*h, "pid", "4242");
  ASSERT_TRUE(server);
  const json& dp = *server;
  EXPECT_EQ((*h)["histogram"]["aggregationTemporality"], 2);
  EXPECT_EQ(dp["count"], "3");
  ASSERT_EQ(dp["explicitBounds"].size(), 14u);
  ASSERT_EQ(dp["bucketCounts"].size(), 15u);
  EXPECT_EQ(dp["explicitBounds"][0], 5e-05);
  uint64_t total = 0;
  for (const auto& c : dp["bucketCounts"]) total += std::stoull(c.get<std::string>());
  EXPECT_EQ(total, 3u);
  EXPECT_EQ(dp["bucketCounts"][1], "1");  // (50 us, 100 us]
  EXPECT_EQ(dp["bucketCounts"][3], "1");  // (250 us, 500 us]
  EXPECT_EQ(dp["bucketCounts"][6], "1");  // (2.5 ms, 5 ms]
  EXPECT_DOUBLE_EQ(dp["max"].get<double>(), 0.003);
}

TEST(OtlpJson, LatenciesAreHistograms) {
  const json req = request_of(Signal::Metrics);
  const json* latency = find_metric(req, "gputrace.device.iommu.latency");
  ASSERT_TRUE(latency);
  ASSERT_TRUE(latency->contains("histogram"));
  const json& dp = (*latency)["histogram"]["dataPoints"][0];
  EXPECT_EQ(attr(dp["attributes"], "device"), R"({"stringValue":"0000:01:00.0"})");
  EXPECT_EQ(attr(dp["attributes"], "op"), R"({"stringValue":"map"})");
  EXPECT_EQ(dp["count"], "6000");
  EXPECT_EQ(dp["explicitBounds"][0], 1e-06);
  EXPECT_EQ(dp["bucketCounts"][1], "5000");  // (1 us, 2.5 us]
  EXPECT_EQ(dp["bucketCounts"][2], "990");   // (2.5 us, 5 us]
  const json* bandwidth = find_metric(req, "gputrace.device.gpu.memcpy.bandwidth");
  ASSERT_TRUE(bandwidth);
  EXPECT_EQ((*bandwidth)["unit"], "By/s");
  EXPECT_EQ((*bandwidth)["histogram"]["dataPoints"][0]["count"], "8");
  // the NVMe disk never unmapped through the IOMMU here: an empty histogram leaves count out
  const json* empty = nullptr;
  for (const auto& p : (*latency)["histogram"]["dataPoints"])
    if (attr(p["attributes"], "device") == R"({"stringValue":"0000:01:00.0"})" && attr(p["attributes"], "op") == R"({"stringValue":"unmap"})")
      empty = &p;
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->contains("count"));
}

// Prometheus's OTLP receiver and the collector's Prometheus exporters make a series of the job
// and instance (service.name, service.instance.id) and the point's attributes: a process is
// told from another, and a host from another, only if those say so.
TEST(OtlpJson, OneResourceWithAnInstanceIdAndProcessPointsCarryPidAndComm) {
  const json req = request_of(Signal::Metrics);
  ASSERT_EQ(req["resourceMetrics"].size(), 1u);
  const auto& a = req["resourceMetrics"][0]["resource"]["attributes"];
  EXPECT_EQ(attr(a, "service.name"), R"({"stringValue":"gputrace"})");
  EXPECT_EQ(attr(a, "service.instance.id"), R"({"stringValue":"infer-07"})");
  EXPECT_EQ(attr(a, "host.name"), R"({"stringValue":"infer-07"})");
  EXPECT_EQ(attr(a, "process.pid"), "");
  const json* maps = find_metric(req, "gputrace.process.dma.maps");
  ASSERT_TRUE(maps);
  std::vector<std::string> identities;
  for (const auto& dp : (*maps)["sum"]["dataPoints"])
    identities.push_back(attr(dp["attributes"], "pid") + attr(dp["attributes"], "comm") + attr(dp["attributes"], "container"));
  EXPECT_EQ(identities, (std::vector<std::string>{R"({"stringValue":"4242"}{"stringValue":"python3"})",
                                                  R"({"stringValue":"other"}{"stringValue":"other"})"}));
  const json* info = find_metric(req, "gputrace.process.info");
  ASSERT_TRUE(info);
  const json* server = point_with(*info, "pid", "4242");
  ASSERT_TRUE(server);
  const std::string container = json{{"stringValue", std::string(64, 'a')}}.dump();
  EXPECT_EQ(attr((*server)["attributes"], "container"), container);
  EXPECT_EQ(attr((*server)["attributes"], "runtime"), R"({"stringValue":"cpython"})");
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
      if (kind == "dma_mapping_growth") {
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
  const auto model = test::telemetry_model(s);
  OtlpEncoder enc({.id_seed = 1});
  enc.max_items_per_request = 10;
  const auto reqs = enc.encode(test::telemetry_batch(s, model, spans));
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

  auto tls = otlp::resolve_endpoints("https://collector", get);  // TLS: tests/deploy/otlp_tls_test.cc
  ASSERT_TRUE(tls) << tls.error().describe();
  EXPECT_EQ(tls->metrics->text(), "https://collector:443/v1/metrics");
  EXPECT_FALSE(otlp::parse_http_url("ftp://collector:4318"));
  env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
  auto noted = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_TRUE(noted);
  ASSERT_EQ(noted->notes.size(), 1u);
  EXPECT_FALSE(otlp::parse_http_url("http://host:0"));
  EXPECT_FALSE(otlp::parse_http_url("collector:4318"));
}

TEST(OtlpEndpoints, HeadersThatWouldInjectOthersAreRefused) {
  std::map<std::string, std::string> env{{"OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"}};
  auto get = [&](const char* n) -> const char* { return env.count(n) ? env[n].c_str() : nullptr; };
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "authorization=Bearer%20x%0D%0AX-Injected: 1";
  auto crlf = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_FALSE(crlf);
  EXPECT_NE(crlf.error().message.find("'authorization'"), std::string::npos) << crlf.error().message;
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "bad%20name=x";
  EXPECT_FALSE(otlp::resolve_endpoints(std::nullopt, get));
  env["OTEL_EXPORTER_OTLP_HEADERS"] = "x-tenant=a%09b";  // a tab is allowed in a value
  EXPECT_TRUE(otlp::resolve_endpoints(std::nullopt, get));
  // settings an SDK honours that gputrace does not are named in a note, not silently ignored
  env["OTEL_EXPORTER_OTLP_TRACES_HEADERS"] = "a=b";
  auto noted = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_TRUE(noted);
  ASSERT_EQ(noted->notes.size(), 1u);
  EXPECT_NE(noted->notes[0].find("OTEL_EXPORTER_OTLP_TRACES_HEADERS"), std::string::npos);
}

otlp::OtlpOptions options_for(const test::ScriptedReceiver& rx, std::string file = "") {
  auto eps = otlp::resolve_endpoints(rx.base_url(), [](const char*) -> const char* { return nullptr; });
  otlp::OtlpOptions o{.file = std::move(file), .endpoints = *eps, .identity = kIdentity};
  o.retry = {.max_attempts = 3, .initial_backoff = std::chrono::milliseconds(20), .max_backoff = std::chrono::milliseconds(50)};
  return o;
}

TEST(OtlpHttp, PostsEachSignalToItsPathAsJson) {
  test::ScriptedReceiver rx;
  auto e = otlp::OtlpExporter::create(options_for(rx));
  ASSERT_TRUE(e) << e.error().describe();
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto model = test::telemetry_model(s);
  (*e)->publish(test::telemetry_batch(s, model, spans));
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
  const auto model = test::telemetry_model(s);
  (*e)->publish(test::telemetry_batch(s, model, spans));
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

TEST(OtlpHttp, WhatAnUnreachableReceiverCannotTakeIsCounted) {
  uint16_t dead_port;
  {
    test::ScriptedReceiver rx;  // take a free port, then let it go
    dead_port = rx.port();
  }
  auto eps = otlp::resolve_endpoints("http://127.0.0.1:" + std::to_string(dead_port), [](const char*) -> const char* { return nullptr; });
  otlp::OtlpOptions o{.endpoints = *eps, .identity = {.id_seed = 1}, .queue_requests = 4};
  o.retry = {.max_attempts = 100, .initial_backoff = std::chrono::milliseconds(200), .max_backoff = std::chrono::milliseconds(200)};
  auto e = otlp::OtlpExporter::create(o);
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto model = test::telemetry_model(s);
  for (int i = 0; i < 20; ++i) (*e)->publish(test::telemetry_batch(s, model, spans));
  (*e)->shutdown(std::chrono::milliseconds(300));
  const auto losses = (*e)->losses();
  // every span and log record of 20 batches was given up, none was delivered
  EXPECT_EQ(losses.at("otlp_http_dropped_spans"), 20u * 4);
  EXPECT_EQ(losses.at("otlp_http_dropped_log_records"), 20u * 3);
  EXPECT_GT(losses.at("otlp_http_dropped_metric_points"), 0u);
  EXPECT_EQ((*e)->delivered(Signal::Metrics), 0u);
}

// Waits (bounded: a liveness limit, not a timing assertion) until the receiver has read n requests.
bool wait_for_requests(test::ScriptedReceiver& rx, size_t n) {
  for (int i = 0; i < 1000 && rx.requests().size() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return rx.requests().size() >= n;
}

// A batch of metrics only: no new span, no new finding.
telemetry::TelemetryBatch metrics_only(const HostSnapshot& s, const telemetry::MetricModel& m, uint64_t now) {
  auto b = test::telemetry_batch(s, m, {});
  b.new_findings = {};
  b.now_unix_ns = now;
  return b;
}

TEST(OtlpHttp, PublishReturnsWhileTheReceiverHoldsARequest) {
  test::ScriptedReceiver rx;
  rx.hold();  // answers nothing until released (or 20 s)
  auto o = options_for(rx);
  o.queue_requests = 4;
  auto e = otlp::OtlpExporter::create(o);
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto model = test::telemetry_model(s);
  for (int i = 0; i < 20; ++i) (*e)->publish(test::telemetry_batch(s, model, spans));
  // had publish waited on a POST, the receiver would have answered (after its hold) and read more
  EXPECT_LE(rx.requests().size(), 1u);
  EXPECT_GT((*e)->losses().at("otlp_http_dropped_spans"), 0u);  // the queue overflowed instead
  rx.release();
  (*e)->shutdown(std::chrono::seconds(5));
}

TEST(OtlpHttp, OnlyTheNewestWaitingMetricsRequestIsSent) {
  test::ScriptedReceiver rx;
  rx.hold();
  auto e = otlp::OtlpExporter::create(options_for(rx));
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto model = test::telemetry_model(s);
  (*e)->publish(metrics_only(s, model, test::kUnixBase + 1'000'000'000));
  ASSERT_TRUE(wait_for_requests(rx, 1));  // in flight, held
  for (uint64_t i = 2; i <= 5; ++i) (*e)->publish(metrics_only(s, model, test::kUnixBase + i * 1'000'000'000));
  rx.release();
  (*e)->shutdown(std::chrono::seconds(5));
  const auto got = rx.requests();
  ASSERT_EQ(got.size(), 2u);  // the one in flight, then the newest: 2 to 4 were superseded
  EXPECT_NE(got[0].body.find("\"timeUnixNano\":\"" + std::to_string(test::kUnixBase + 1'000'000'000)), std::string::npos);
  EXPECT_NE(got[1].body.find("\"timeUnixNano\":\"" + std::to_string(test::kUnixBase + 5'000'000'000)), std::string::npos);
  EXPECT_GT((*e)->losses().at("otlp_http_dropped_metric_points"), 0u);  // superseded, counted
}

TEST(OtlpHttp, AFullQueueDropsWaitingMetricsBeforeSpansAndLogs) {
  test::ScriptedReceiver rx;
  rx.hold();
  auto o = options_for(rx);
  o.queue_requests = 4;
  auto e = otlp::OtlpExporter::create(o);
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto model = test::telemetry_model(s);
  (*e)->publish(test::telemetry_batch(s, model, spans));  // metrics (in flight), traces, logs
  ASSERT_TRUE(wait_for_requests(rx, 1));
  (*e)->publish(test::telemetry_batch(s, model, spans));  // metrics waits; traces fills; logs evicts the metrics
  rx.release();
  (*e)->shutdown(std::chrono::seconds(5));
  std::map<std::string, int> paths;
  for (const auto& r : rx.requests()) ++paths[r.path];
  EXPECT_EQ(paths["/v1/traces"], 2);
  EXPECT_EQ(paths["/v1/logs"], 2);
  EXPECT_EQ(paths["/v1/metrics"], 1);
  EXPECT_EQ((*e)->losses().at("otlp_http_dropped_log_records"), 0u);
}

TEST(OtlpHttp, RetryAfterIsCappedAtTheLongestBackoff) {
  test::ScriptedReceiver rx({503});
  rx.set_retry_after("3600");  // an hour: honoured as it is, the request would outlive the shutdown
  auto e = otlp::OtlpExporter::create(options_for(rx));  // max_backoff 50 ms
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto model = test::telemetry_model(s);
  (*e)->publish(metrics_only(s, model, test::kUnixBase + 61'000'000'000));
  (*e)->shutdown(std::chrono::seconds(5));
  EXPECT_EQ(rx.requests().size(), 2u);
  EXPECT_EQ((*e)->delivered(Signal::Metrics), 1u);
  EXPECT_EQ((*e)->losses().at("otlp_http_dropped_metric_points"), 0u);
}

TEST(OtlpHttp, ShutdownCutsAPostInFlightShort) {
  test::ScriptedReceiver rx;
  rx.hold();
  auto o = options_for(rx);
  o.endpoints->timeout = std::chrono::seconds(60);  // far beyond the hold: only the shutdown can end it
  auto e = otlp::OtlpExporter::create(o);
  ASSERT_TRUE(e);
  const HostSnapshot s = test::telemetry_snapshot();
  const auto model = test::telemetry_model(s);
  (*e)->publish(metrics_only(s, model, test::kUnixBase + 61'000'000'000));
  ASSERT_TRUE(wait_for_requests(rx, 1));
  (*e)->shutdown(std::chrono::milliseconds(100));
  rx.release();  // had the POST kept its own timeout, it would have waited for this answer
  EXPECT_EQ((*e)->delivered(Signal::Metrics), 0u);
  EXPECT_GT((*e)->losses().at("otlp_http_dropped_metric_points"), 0u);
}

TEST(OtlpFile, OneRequestPerLine) {
  char tmpl[] = "/tmp/gputrace-otlp-XXXXXX";
  const std::string dir = mkdtemp(tmpl);
  otlp::OtlpOptions o{.file = dir + "/out.jsonl", .identity = kIdentity};
  auto e = otlp::OtlpExporter::create(o);
  ASSERT_TRUE(e) << e.error().describe();
  const HostSnapshot s = test::telemetry_snapshot();
  const auto spans = test::telemetry_spans(s);
  const auto model = test::telemetry_model(s);
  (*e)->publish(test::telemetry_batch(s, model, spans));
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
