#include "userspace/cli/cli.h"

int main(int argc, char** argv) { return gputrace::run_cli(argc, argv); }
