// OTLP over TLS, against a local HTTPS receiver (cpp-httplib's SSLServer) whose certificate a
// self-signed CA made here issued (openssl(1)): the client verifies the chain and the host
// name, takes the CA from --otlp-ca-file or OTEL_EXPORTER_OTLP_CERTIFICATE, presents a
// client certificate when the receiver asks for one (mutual TLS), and `gputrace daemon
// --replay` delivers all three signals over https://. Each refusal is shown too: an unknown
// CA, a certificate for another name, a missing client certificate.
#include "child_process.h"

#include "exporters/otlp/otlp_http.h"

#include <httplib.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>
#include <thread>

namespace gputrace {
namespace {

namespace fs = std::filesystem;

// A CA and a server certificate for "localhost" it signed, a client certificate it signed,
// and a second CA that signed nothing here.
class Pki {
 public:
  Pki() {
    char tmpl[] = "/tmp/gputrace-tls-XXXXXX";
    dir_ = mkdtemp(tmpl);
    const std::string script = "set -e; cd " + dir_ + R"(
      req() { openssl req -new -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout $2.key -out $2.csr 2>/dev/null; }
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=gputrace test CA" -keyout ca.key -out ca.pem 2>/dev/null
      openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=another CA" -keyout other.key -out other.pem 2>/dev/null
      req localhost server
      printf 'subjectAltName=DNS:localhost\n' > server.ext
      openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.pem 2>/dev/null
      req gputrace-client client
      openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out client.pem 2>/dev/null
    )";
    const auto [rc, out] = test::run_shell(script);
    ok_ = rc == 0;
    log_ = out;
  }
  ~Pki() { fs::remove_all(dir_); }
  bool ok() const { return ok_; }
  const std::string& log() const { return log_; }
  std::string file(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_, log_;
  bool ok_ = false;
};

struct Received {
  std::string path, content_type, body;
};

// An HTTPS OTLP receiver on localhost that records each POST and answers {} (success).
class TlsReceiver {
 public:
  TlsReceiver(const Pki& pki, bool require_client_certificate)
      : server_(pki.file("server.pem").c_str(), pki.file("server.key").c_str(),
                require_client_certificate ? pki.file("ca.pem").c_str() : nullptr) {
    server_.Post(R"(/v1/.*)", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mu_);
      received_.push_back({req.path, req.get_header_value("Content-Type"), req.body});
      res.set_content("{}", "application/json");
    });
    server_.set_keep_alive_timeout(1);  // stop() waits for connections our client keeps open
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (port_ > 0 && !server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TlsReceiver() {
    server_.stop();
    thread_.join();
  }
  bool valid() const { return server_.is_valid() && port_ > 0; }
  std::string url(const std::string& host = "localhost") const { return "https://" + host + ":" + std::to_string(port_); }
  std::vector<Received> received() {
    std::lock_guard lock(mu_);
    return received_;
  }

 private:
  httplib::SSLServer server_;
  int port_ = -1;
  std::thread thread_;
  std::mutex mu_;
  std::vector<Received> received_;
};

class OtlpTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (test::have_program("openssl")) shared_pki_ = new Pki();
  }
  static void TearDownTestSuite() {
    delete shared_pki_;
    shared_pki_ = nullptr;
  }
  void SetUp() override {
    if (!shared_pki_) GTEST_SKIP() << "openssl(1) is not installed (apt-get install openssl)";
    ASSERT_TRUE(pki_.ok()) << pki_.log();
  }
  Result<otlp::HttpResponse> post(const std::string& base, const otlp::TlsFiles& tls) {
    auto url = otlp::parse_http_url(base + "/v1/metrics");
    EXPECT_TRUE(url) << url.error().describe();
    return otlp::http_post(*url, "application/json", R"({"resourceMetrics":[]})", {}, tls, std::chrono::seconds(10));
  }
  static inline Pki* shared_pki_ = nullptr;  // RSA keys take a while: one set for the suite
  const Pki& pki_ = *shared_pki_;
};

TEST_F(OtlpTls, VerifiesTheChainAgainstTheGivenCa) {
  TlsReceiver rx(pki_, false);
  ASSERT_TRUE(rx.valid());
  auto ok = post(rx.url(), {.ca_file = pki_.file("ca.pem")});
  ASSERT_TRUE(ok) << ok.error().describe();
  EXPECT_EQ(ok->status, 200);
  ASSERT_EQ(rx.received().size(), 1u);
  EXPECT_EQ(rx.received()[0].path, "/v1/metrics");
  EXPECT_EQ(rx.received()[0].content_type, "application/json");
  EXPECT_EQ(rx.received()[0].body, R"({"resourceMetrics":[]})");

  // the system's CAs do not know ours; nor does another CA
  auto system = post(rx.url(), {});
  ASSERT_FALSE(system);
  EXPECT_NE(system.error().message.find("certificate"), std::string::npos) << system.error().message;
  EXPECT_NE(system.error().message.find("--otlp-ca-file"), std::string::npos) << system.error().message;
  auto other = post(rx.url(), {.ca_file = pki_.file("other.pem")});
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find(pki_.file("other.pem")), std::string::npos) << other.error().message;
  EXPECT_EQ(rx.received().size(), 1u) << "nothing is sent to a peer that failed verification";
}

TEST_F(OtlpTls, ChecksTheHostName) {
  TlsReceiver rx(pki_, false);
  ASSERT_TRUE(rx.valid());
  // the certificate names localhost only: the same server reached as 127.0.0.1 is refused
  auto by_address = post(rx.url("127.0.0.1"), {.ca_file = pki_.file("ca.pem")});
  ASSERT_FALSE(by_address);
  EXPECT_TRUE(rx.received().empty());
}

TEST_F(OtlpTls, PresentsAClientCertificateWhenAsked) {
  TlsReceiver rx(pki_, true);
  ASSERT_TRUE(rx.valid());
  auto anonymous = post(rx.url(), {.ca_file = pki_.file("ca.pem")});
  EXPECT_FALSE(anonymous && anonymous->status == 200) << "a receiver requiring client certificates let us in without one";
  auto mutual = post(rx.url(), {.ca_file = pki_.file("ca.pem"), .client_cert = pki_.file("client.pem"),
                                .client_key = pki_.file("client.key")});
  ASSERT_TRUE(mutual) << mutual.error().describe();
  EXPECT_EQ(mutual->status, 200);
  EXPECT_EQ(rx.received().size(), 1u);
}

TEST_F(OtlpTls, EnvironmentAndFlagNameTheCa) {
  std::map<std::string, std::string> env{{"OTEL_EXPORTER_OTLP_ENDPOINT", "https://localhost:4318"},
                                         {"OTEL_EXPORTER_OTLP_CERTIFICATE", pki_.file("ca.pem")}};
  auto get = [&](const char* n) -> const char* { return env.count(n) ? env[n].c_str() : nullptr; };
  auto from_env = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_TRUE(from_env) << from_env.error().describe();
  EXPECT_EQ(from_env->tls.ca_file, pki_.file("ca.pem"));
  auto flag = otlp::resolve_endpoints(std::nullopt, get, pki_.file("other.pem"));
  ASSERT_TRUE(flag);
  EXPECT_EQ(flag->tls.ca_file, pki_.file("other.pem")) << "--otlp-ca-file wins over the environment";
  env["OTEL_EXPORTER_OTLP_CERTIFICATE"] = "/nonexistent/ca.pem";
  auto missing = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("OTEL_EXPORTER_OTLP_CERTIFICATE /nonexistent/ca.pem"), std::string::npos);
  env["OTEL_EXPORTER_OTLP_CERTIFICATE"] = pki_.file("ca.pem");
  env["OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE"] = pki_.file("client.pem");
  auto half = otlp::resolve_endpoints(std::nullopt, get);
  ASSERT_FALSE(half) << "a client certificate without its key";
}

// The daemon end to end: a replay's metrics, traces and logs (the guest capture's findings)
// over https://, the CA named once by the flag and once by the environment.
TEST_F(OtlpTls, DaemonDeliversEverySignalOverHttps) {
  for (const bool by_flag : {true, false}) {
    TlsReceiver rx(pki_, false);
    ASSERT_TRUE(rx.valid());
    std::vector<std::string> argv{GPUTRACE_BINARY, "daemon", "--replay",
                                  std::string(GPUTRACE_SOURCE_DIR) + "/tests/fixtures/scenarios/guest-6.12-strict.gtrace",
                                  "--listen", "none", "--otlp-endpoint", rx.url(), "--interval", "500ms",
                                  "--duration", "2s"};
    std::vector<std::string> env;
    if (by_flag)
      argv.insert(argv.end(), {"--otlp-ca-file", pki_.file("ca.pem")});
    else
      env.push_back("OTEL_EXPORTER_OTLP_CERTIFICATE=" + pki_.file("ca.pem"));
    test::ChildProcess daemon(argv, env);
    ASSERT_TRUE(daemon.started());
    const auto status = daemon.wait_exit(std::chrono::seconds(30));
    ASSERT_TRUE(status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << daemon.stderr_text();
    EXPECT_EQ(daemon.stderr_text().find("warning"), std::string::npos) << daemon.stderr_text();
    std::set<std::string> paths;
    for (const auto& r : rx.received()) paths.insert(r.path);
    EXPECT_EQ(paths, (std::set<std::string>{"/v1/metrics", "/v1/traces", "/v1/logs"})) << daemon.stderr_text();
  }
}

// Without the CA the daemon keeps running, says why each POST failed, and counts what it gave up.
TEST_F(OtlpTls, DaemonWithoutTheCaCountsWhatItCouldNotSend) {
  TlsReceiver rx(pki_, false);
  ASSERT_TRUE(rx.valid());
  const std::string textfile = pki_.file("gputrace.prom");
  test::ChildProcess daemon({GPUTRACE_BINARY, "daemon", "--replay",
                             std::string(GPUTRACE_SOURCE_DIR) + "/tests/fixtures/scenarios/host-python-gc.gtrace",
                             "--listen", "none", "--textfile", textfile, "--otlp-endpoint", rx.url(), "--interval",
                             "500ms", "--duration", "2s"},
                            {"OTEL_EXPORTER_OTLP_CERTIFICATE="});
  ASSERT_TRUE(daemon.wait_exit(std::chrono::seconds(60)));
  const std::string log = daemon.stderr_text();
  EXPECT_NE(log.find("certificate"), std::string::npos) << log;
  EXPECT_TRUE(rx.received().empty());
  const auto [rc, counters] = test::run_shell("grep 'otlp_http_dropped' " + textfile);
  EXPECT_EQ(rc, 0);
  EXPECT_NE(counters.find("otlp_http_dropped_metric_points\"} "), std::string::npos) << counters;
  EXPECT_EQ(counters.find("otlp_http_dropped_metric_points\"} 0\n"), std::string::npos) << counters;
}

}  // namespace
}  // namespace gputrace
