// The subcommands. Each takes its arguments (after the subcommand name) and returns the
// process exit code: 0 success, 1 failure of the operation, 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace gputrace {

using Args = std::vector<std::string>;

int cmd_doctor(const Args& args);
int cmd_record(const Args& args);
int cmd_report(const Args& args);
int cmd_live(const Args& args);
int cmd_daemon(const Args& args);
int cmd_top(const Args& args);
int cmd_attach(const Args& args);
int cmd_detach(const Args& args);

// Set by SIGINT/SIGTERM; long-running commands poll it.
bool stop_requested();
void install_stop_handlers();

}  // namespace gputrace
