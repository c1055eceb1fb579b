// The network halves of the exporters in builds that link without cpp-httplib and libcurl:
// the fully static binary the vm tier copies into its QEMU guests (userspace/CMakeLists.txt).
// Debian ships neither library as a static archive that links (libcurl.a needs Kerberos,
// LDAP, libssh2, nghttp2, librtmp and libpsl archives Debian does not have, and
// cpp-httplib is a shared library only), and the guests only record. So these builds say
// plainly that they have no /metrics server and no OTLP/HTTP client, and what to use instead;
// the textfile and OTLP file exporters work as in every build.
#include "exporters/otlp/otlp_http.h"
#include "exporters/prometheus/http_server.h"

namespace gputrace {
namespace prometheus {

struct MetricsHttpServer::Impl {};

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::start(const std::string& listen) {
  return fail("--listen {}: this gputrace is the static build (gputrace-static, made for the vm tier's guests) and "
              "has no HTTP /metrics server; give --listen none with --textfile PATH.prom, or run the packaged "
              "gputrace (/usr/sbin/gputrace), which has one",
              listen);
}

MetricsHttpServer::MetricsHttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MetricsHttpServer::~MetricsHttpServer() = default;
void MetricsHttpServer::set_metrics(std::string) {}
std::string MetricsHttpServer::address() const { return {}; }
uint64_t MetricsHttpServer::scrapes() const { return 0; }
uint64_t MetricsHttpServer::rejected() const { return 0; }

}  // namespace prometheus

namespace otlp {

bool http_client_available() { return false; }

Result<HttpResponse> http_post(const HttpUrl& url, std::string_view, std::string_view, const Headers&, const TlsFiles&,
                               std::chrono::milliseconds, const Cutoff*) {
  return fail("cannot POST to {}: this gputrace is the static build (gputrace-static) and has no OTLP/HTTP client; "
              "use --otlp-file PATH, or run the packaged gputrace (/usr/sbin/gputrace)",
              url.text());
}

}  // namespace otlp
}  // namespace gputrace
