#include "userspace/cli/options.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string_view>

namespace gputrace {

Options& Options::flag(std::string name, char short_name) {
  if (short_name) shorts_[short_name] = name;
  decls_.push_back({std::move(name), false});
  return *this;
}

Options& Options::value(std::string name, char short_name) {
  if (short_name) shorts_[short_name] = name;
  decls_.push_back({std::move(name), true});
  return *this;
}

const Options::Decl* Options::find(const std::string& name) const {
  for (const auto& d : decls_)
    if (d.name == name) return &d;
  return nullptr;
}

std::vector<std::string> Options::declared_names() const {
  std::vector<std::string> out;
  for (const auto& d : decls_) out.push_back(d.name);
  return out;
}

Result<void> Options::parse(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      after_dashdash_.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      return {};
    }
    std::string name, inline_value;
    bool has_inline = false;
    if (a.starts_with("--")) {
      name = a.substr(2);
      if (auto eq = name.find('='); eq != std::string::npos) {
        inline_value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_inline = true;
      }
    } else if (a.size() == 2 && a[0] == '-' && shorts_.count(a[1])) {
      name = shorts_.at(a[1]);
    } else if (a.size() > 1 && a[0] == '-') {
      return fail("unknown option '{}' (see --help)", a);
    } else {
      positional_.push_back(a);
      continue;
    }
    const Decl* d = find(name);
    if (!d) return fail("unknown option '--{}' (see --help)", name);
    if (!d->takes_value) {
      if (has_inline) return fail("option '--{}' takes no value", name);
      values_[name].push_back("");
      continue;
    }
    if (!has_inline) {
      if (i + 1 >= args.size()) return fail("option '--{}' needs a value", name);
      inline_value = args[++i];
    }
    values_[name].push_back(inline_value);
  }
  return {};
}

std::optional<std::string> Options::get(const std::string& name) const {
  auto it = values_.find(name);
  if (it == values_.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Options::all(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::vector<std::string>{} : it->second;
}

Result<std::chrono::nanoseconds> parse_duration(const std::string& text) {
  char* end = nullptr;
  double v = std::strtod(text.c_str(), &end);
  std::string unit(end ? end : "");
  if (end == text.c_str() || !std::isfinite(v) || v < 0)
    return fail("'{}' is not a duration (examples: 30s, 500ms, 2m)", text);
  double scale = 0;
  if (unit.empty() || unit == "s") scale = 1e9;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "us") scale = 1e3;
  else if (unit == "m") scale = 60e9;
  else if (unit == "h") scale = 3600e9;
  else return fail("'{}' has an unknown unit '{}' (use ms, s, m or h)", text, unit);
  // A value past int64 nanoseconds (~292 years) would wrap in the cast (to 1 s, once seen).
  if (v * scale > 3.6e17) return fail("'{}' is too long (at most 100000h)", text);
  return std::chrono::nanoseconds(static_cast<int64_t>(v * scale));
}

namespace {

bool all_digits(const std::string& text) {
  return !text.empty() && text.size() <= 19 && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool hex_digits(std::string_view text, size_t n) {
  return text.size() == n && std::all_of(text.begin(), text.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

}  // namespace

Result<pid_t> parse_pid(const std::string& text) {
  // pid_t is an int: 4294967296 used to wrap to 0. (The kernel's PID_MAX_LIMIT is lower, but
  // a pid in between is "no such process", which the caller says better.)
  if (!all_digits(text) || std::stoull(text) == 0 || std::stoull(text) > 2'147'483'647)
    return fail("'{}' is not a process id", text);
  return static_cast<pid_t>(std::stoull(text));
}

Result<std::string> parse_pci_address(const std::string& text) {
  std::string full = std::count(text.begin(), text.end(), ':') == 1 ? "0000:" + text : text;
  std::transform(full.begin(), full.end(), full.begin(), [](char c) { return static_cast<char>(std::tolower(c)); });
  const std::string_view v(full);
  const bool ok = v.size() == 12 && hex_digits(v.substr(0, 4), 4) && v[4] == ':' && hex_digits(v.substr(5, 2), 2) &&
                  v[7] == ':' && hex_digits(v.substr(8, 2), 2) && v[10] == '.' && v[11] >= '0' && v[11] <= '7';
  if (!ok) return fail("'{}' is not a PCI address (like 0000:3b:00.0, as lspci -D shows them)", text);
  return full;
}

Result<size_t> parse_positive(const std::string& text, size_t max) {
  if (!all_digits(text) || std::stoull(text) == 0 || std::stoull(text) > max)
    return fail("'{}' is not a whole number from 1 to {}", text, max);
  return static_cast<size_t>(std::stoull(text));
}

}  // namespace gputrace
