#include "userspace/cli/daemon_exporters.h"

#include <cstdlib>

namespace gputrace {
namespace {

tl::unexpected<ExporterSetupError> usage(Error e) { return tl::unexpected(ExporterSetupError{std::move(e), 2}); }
tl::unexpected<ExporterSetupError> failure(Error e) { return tl::unexpected(ExporterSetupError{std::move(e), 1}); }

}  // namespace

std::vector<telemetry::TelemetrySink*> DaemonExporters::sinks() const {
  std::vector<telemetry::TelemetrySink*> out;
  if (prometheus) out.push_back(prometheus.get());
  if (otlp) out.push_back(otlp.get());
  return out;
}

std::string DaemonExporters::describe() const {
  const bool served = prometheus && !prometheus->address().empty();
  return fmt::format("metrics at {}{}{}{}", served ? "http://" + prometheus->address() + "/metrics" : "(no server)",
                     textfile.empty() ? "" : ", textfile " + textfile, otlp_file.empty() ? "" : ", OTLP file " + otlp_file,
                     otlp_http ? ", OTLP/HTTP on" : "");
}

tl::expected<DaemonExporters, ExporterSetupError> create_daemon_exporters(const Options& o,
                                                                         const otlp::OtlpIdentity& identity) {
  DaemonExporters out;
  const std::string listen = o.get("listen").value_or("127.0.0.1:9478");
  if (listen.empty()) return usage(Error{"--listen '': give HOST:PORT (e.g. 127.0.0.1:9478), or none"});
  out.textfile = o.get("textfile").value_or("");
  out.otlp_file = o.get("otlp-file").value_or("");
  if (!out.textfile.empty() && !out.textfile.ends_with(".prom"))
    return usage(Error{fmt::format("--textfile {}: node_exporter reads only files whose name ends in .prom; name it so",
                                   out.textfile)});
  auto endpoints = otlp::resolve_endpoints(o.get("otlp-endpoint"), [](const char* n) { return std::getenv(n); },
                                           o.get("otlp-ca-file"));
  if (!endpoints) return usage(endpoints.error());
  if (endpoints->any() && !otlp::http_client_available())
    return usage(Error{"this gputrace is the static build (gputrace-static) and has no OTLP/HTTP client: use "
                       "--otlp-file PATH, or the packaged gputrace (/usr/sbin/gputrace)"});
  if (listen == "none" && out.textfile.empty() && out.otlp_file.empty() && !endpoints->any())
    return usage(Error{"nothing to export to: give --listen, --textfile, --otlp-file or --otlp-endpoint"});
  out.notes = endpoints->notes;
  out.otlp_http = endpoints->any();

  if (listen != "none" || !out.textfile.empty()) {
    auto p = prometheus::PrometheusExporter::create({.listen = listen == "none" ? "" : listen, .textfile = out.textfile});
    if (!p) return failure(p.error());
    out.prometheus = std::move(*p);
  }
  if (!out.otlp_file.empty() || endpoints->any()) {
    otlp::OtlpOptions oo{.file = out.otlp_file, .identity = identity};
    if (endpoints->any()) oo.endpoints = *endpoints;
    auto e = otlp::OtlpExporter::create(std::move(oo));
    if (!e) return failure(e.error());
    out.otlp = std::move(*e);
  }
  return out;
}

}  // namespace gputrace
