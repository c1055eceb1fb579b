// Command-line entry: parses the subcommand and runs it. Returns the process exit code.
#pragma once

#include <functional>
#include <string_view>

namespace gputrace {

int run_cli(int argc, char** argv);

// The top-level guard of every command: an exception that escapes (a bug, memory exhausted)
// becomes a logged error and exit status 1 instead of std::terminate. The stack unwinds on
// the way, so what the command holds shuts down cleanly: a capture writer writes its last
// chunk, BPF links and sockets are released.
int run_guarded(std::string_view command, const std::function<int()>& body);

// Exit status once stdout is flushed: a command whose output could not be written (a full
// disk, a closed pipe without SIGPIPE) did not succeed, whatever it returned.
int finish_stdout(int status);

}  // namespace gputrace
