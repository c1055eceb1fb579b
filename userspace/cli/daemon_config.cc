#include "userspace/cli/daemon_config.h"

#include "userspace/cli/analysis_options.h"
#include "userspace/cli/tracing_options.h"
#include "userspace/util/log.h"

#include <signal.h>

#include <algorithm>
#include <atomic>
#include <fstream>

namespace gputrace {
namespace {

std::atomic<bool> g_reload_requested{false};

std::string trim(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

// "name = value" or "name" (a flag): the arguments it stands for.
Result<std::vector<std::string>> line_args(const std::string& where, const std::string& line, const Options& declared) {
  const size_t eq = line.find('=');
  const std::string name = trim(line.substr(0, eq));
  const std::string value = eq == std::string::npos ? "" : trim(line.substr(eq + 1));
  if (name.starts_with("-")) return fail("{}: write the option without its dashes: '{} = ...'", where, name.substr(name.find_first_not_of('-')));
  if (!declared.declared(name) || kCommandLineOnly.count(name))
    return fail("{}: '{}' is not an option of gputrace daemon (see gputrace daemon --help)", where, name);
  if (declared.takes_value(name)) {
    if (eq == std::string::npos || value.empty()) return fail("{}: '{}' needs a value: '{} = VALUE'", where, name, name);
    return std::vector<std::string>{"--" + name, value};
  }
  if (value == "true" || value == "yes") return std::vector<std::string>{"--" + name};
  if (value == "false" || value == "no") return std::vector<std::string>{};
  return fail("{}: '{}' is a flag: write '{} = true' or '{} = false'", where, name, name, name);
}

}  // namespace

Result<std::vector<std::string>> config_file_args(const std::string& path, const Options& declared,
                                                  const Options& command_line) {
  std::ifstream in(path);
  if (!in) return fail_errno(errno, "cannot read the configuration file {}", path);
  std::vector<std::string> args;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line.substr(0, line.find('#')));
    if (line.empty()) continue;
    auto more = line_args(path + ":" + std::to_string(number), line, declared);
    if (!more) return tl::unexpected(more.error());
    if (!more->empty() && command_line.has(more->front().substr(2))) continue;  // the command line wins
    args.insert(args.end(), more->begin(), more->end());
  }
  if (in.bad()) return fail_errno(errno, "cannot read the configuration file {}", path);
  return args;
}

Options declare_daemon_options() {
  Options o;
  o.value("config").value("listen").value("textfile").value("otlp-file").value("otlp-endpoint").value("otlp-ca-file");
  o.value("interval").value("duration").value("top-processes").value("max-spans").value("min-span").value("replay");
  o.value("report-dir").flag("help", 'h');
  declare_tracing_options(o);
  declare_analysis_options(o);
  return o;
}

std::optional<Options> daemon_options(const std::vector<std::string>& args) {
  Options command_line = declare_daemon_options();
  if (auto r = command_line.parse(args); !r) {
    log_error("{}", r.error().describe());
    return std::nullopt;
  }
  const auto config = command_line.get("config");
  if (!config || command_line.has("help")) return command_line;
  auto file_args = config_file_args(*config, declare_daemon_options(), command_line);
  if (!file_args) {
    log_error("{}", file_args.error().describe());
    return std::nullopt;
  }
  Options merged = declare_daemon_options();
  file_args->insert(file_args->end(), args.begin(), args.end());
  if (auto r = merged.parse(*file_args); !r) {
    log_error("{}: {}", *config, r.error().describe());
    return std::nullopt;
  }
  return merged;
}

std::map<std::string, std::vector<std::string>> restart_only_settings(const Options& o) {
  std::map<std::string, std::vector<std::string>> out;
  for (const auto& name : o.declared_names())
    if (std::find(kReloadableDaemonOptions.begin(), kReloadableDaemonOptions.end(), name) == kReloadableDaemonOptions.end())
      out[name] = o.all(name);
  return out;
}

void install_reload_handler() {
  struct sigaction sa {};
  sa.sa_handler = [](int) { g_reload_requested = true; };
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &sa, nullptr);
}

bool take_reload_request() { return g_reload_requested.exchange(false); }

}  // namespace gputrace
