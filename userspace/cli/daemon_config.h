// The daemon's configuration file (/etc/gputrace/gputrace.conf in the package, read with
// --config FILE) and its reload. The file holds the daemon's long options, one a line:
//
//   # comments and blank lines are ignored
//   listen = 127.0.0.1:9478       an option and its value ("--listen 127.0.0.1:9478")
//   device = 0000:3b:00.0         repeatable options: one line each
//   all-devices = true            a flag: true or false
//
// An option given on the command line replaces the file's lines for it, so a unit's
// ExecStart or a person at a shell can override one setting without editing the file.
// SIGHUP (systemctl reload) asks the daemon to read the file again; the command's loop
// applies what it can without losing state (cmd_daemon.cc).
#pragma once

#include "userspace/cli/options.h"
#include "userspace/util/result.h"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace gputrace {

inline constexpr const char* kDefaultConfigPath = "/etc/gputrace/gputrace.conf";

// Options that make no sense in the file (the file itself, help).
inline const std::set<std::string> kCommandLineOnly = {"config", "help"};

// The options a reload applies; every other change waits for a restart.
inline const std::vector<std::string> kReloadableDaemonOptions = {"listen", "textfile", "otlp-file", "otlp-endpoint",
                                                                  "otlp-ca-file", "interval", "report-dir"};

// Every option of `gputrace daemon` (its own, the tracing and the analysis options), declared.
Options declare_daemon_options();

// The command line with --config FILE's options under it; nullopt, with the reason logged,
// when either is wrong.
std::optional<Options> daemon_options(const std::vector<std::string>& args);

// Each option a reload cannot apply, with its values: compared before and after a reload.
std::map<std::string, std::vector<std::string>> restart_only_settings(const Options& o);

// Reads `path` into arguments ("--name", "value", ...) for the options declared in
// `declared`, leaving out those the command line set. Unknown names, values for flags,
// flags without true/false and missing values are errors naming the file and line.
Result<std::vector<std::string>> config_file_args(const std::string& path, const Options& declared,
                                                  const Options& command_line);

// SIGHUP sets a flag the daemon's loop takes; never work inside the handler.
void install_reload_handler();
bool take_reload_request();  // true once per SIGHUP since the last call

}  // namespace gputrace
