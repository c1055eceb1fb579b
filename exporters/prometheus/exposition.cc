#include "exporters/prometheus/exposition.h"

#include "exporters/telemetry/utf8.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace gputrace::prometheus {
namespace {

using telemetry::Labels;
using telemetry::MetricFamily;
using telemetry::MetricKind;
using telemetry::MetricModel;
using telemetry::MetricPoint;

const char* type_name(MetricKind k) {
  switch (k) {
    case MetricKind::Counter: return "counter";
    case MetricKind::Gauge: return "gauge";
    case MetricKind::Histogram: return "histogram";
  }
  return "untyped";
}

std::string value_text(const MetricPoint& p) {
  // counts stay exact integers (a double would round above 2^53)
  return p.integer ? std::to_string(p.int_value) : format_value(p.double_value);
}

void append_labels(std::string& out, const Labels& labels) {
  bool any = false;
  for (const auto& [k, v] : labels) {
    if (v.empty()) continue;  // an empty value is the same series as no label at all
    out += any ? ',' : '{';
    any = true;
    out += k;
    out += "=\"";
    out += escape_label_value(v);
    out += '"';
  }
  if (any) out += '}';
}

void sample(std::string& out, const std::string& name, const Labels& labels, const std::string& value) {
  out += name;
  append_labels(out, labels);
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::string escape_label_value(std::string_view v) {
  const std::string valid = telemetry::valid_utf8(v);
  std::string out;
  out.reserve(valid.size());
  for (char c : valid) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(std::string_view v) {
  const std::string valid = telemetry::valid_utf8(v);
  std::string out;
  for (char c : valid) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{}", v);
}

bool valid_metric_name(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

bool valid_label_name(std::string_view name) {
  if (name.empty() || name.starts_with("__")) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    if (!alpha && !(i > 0 && c >= '0' && c <= '9')) return false;
  }
  return true;
}

std::string render_prometheus_text(const MetricModel& model) {
  std::vector<const MetricFamily*> families;
  for (const MetricFamily& f : model.families) families.push_back(&f);
  std::stable_sort(families.begin(), families.end(), [](const MetricFamily* a, const MetricFamily* b) {
    return a->prometheus_name() < b->prometheus_name();
  });
  std::string out;
  for (const MetricFamily* f : families) {
    const std::string name = f->prometheus_name();
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, escape_help(f->help), name, type_name(f->kind));
    for (const MetricPoint& p : f->points) {
      const Labels labels = model.labels_of(p);
      switch (f->kind) {
        case MetricKind::Counter:
        case MetricKind::Gauge:
          sample(out, name, labels, value_text(p));
          break;
        case MetricKind::Histogram: {
          for (size_t i = 0; i < p.bounds.size(); ++i) {
            Labels with_le = labels;
            with_le.emplace_back("le", format_value(p.bounds[i]));
            sample(out, name + "_bucket", with_le, std::to_string(i < p.cumulative.size() ? p.cumulative[i] : p.count));
          }
          Labels inf = labels;
          inf.emplace_back("le", "+Inf");
          sample(out, name + "_bucket", inf, std::to_string(p.count));
          sample(out, name + "_sum", labels, format_value(p.sum));
          sample(out, name + "_count", labels, std::to_string(p.count));
          break;
        }
      }
    }
  }
  return out;
}

}  // namespace gputrace::prometheus
