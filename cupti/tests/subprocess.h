// run_program: runs a test program with extra environment and collects its exit status and
// output, for tests that must watch a whole process (injection, socket and USDT bridges).
#pragma once

#include <string>
#include <vector>

namespace gputrace::cupti::testing {

struct ProgramResult {
  int exit_code = -1;  // -1: did not exit normally
  std::string out;
  std::string err;
};

// Starts the program without waiting; wait_program() collects it.
struct RunningProgram {
  int pid = -1;
  int out_fd = -1;
  int err_fd = -1;
};

RunningProgram start_program(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env);
ProgramResult wait_program(RunningProgram p);

inline ProgramResult run_program(const std::vector<std::string>& argv, const std::vector<std::string>& extra_env) {
  return wait_program(start_program(argv, extra_env));
}

}  // namespace gputrace::cupti::testing
