// Command-line entry: parses the subcommand and runs it. Returns the process exit code.
#pragma once

namespace gputrace {

int run_cli(int argc, char** argv);

}  // namespace gputrace
