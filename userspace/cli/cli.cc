#include "cli/cli.h"

#include <cstdio>

namespace gputrace {

int run_cli(int, char**) {
  std::fputs("gputrace: under construction\n", stderr);
  return 2;
}

}  // namespace gputrace
