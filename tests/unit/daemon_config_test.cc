// The daemon's configuration file: lines to options, the command line winning, and errors that
// name the file and line.
#include "userspace/cli/daemon_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace gputrace {
namespace {

Options declared() {
  Options o;
  o.value("listen").value("interval").value("device").value("config").flag("all-devices").flag("help", 'h');
  return o;
}

std::string write_file(const std::string& text) {
  char path[] = "/tmp/gputrace-conf-XXXXXX";
  const int fd = mkstemp(path);
  (void)!::write(fd, text.data(), text.size());
  ::close(fd);
  return path;
}

Result<std::vector<std::string>> args_of(const std::string& text, const std::vector<std::string>& command_line = {}) {
  Options cl = declared();
  EXPECT_TRUE(cl.parse(command_line));
  const std::string path = write_file(text);
  auto r = config_file_args(path, declared(), cl);
  std::remove(path.c_str());
  return r;
}

TEST(DaemonConfig, LinesBecomeOptionsAndTheCommandLineWins) {
  auto a = args_of("# where metrics go\nlisten = 127.0.0.1:9478   # loopback\n\ninterval=5s\ndevice = a\ndevice = b\n"
                   "all-devices = true\n");
  ASSERT_TRUE(a) << a.error().describe();
  EXPECT_EQ(*a, (std::vector<std::string>{"--listen", "127.0.0.1:9478", "--interval", "5s", "--device", "a", "--device",
                                          "b", "--all-devices"}));
  auto b = args_of("listen = 127.0.0.1:9478\ndevice = a\nall-devices = false\n", {"--listen", ":9478", "--device", "c"});
  ASSERT_TRUE(b) << b.error().describe();
  EXPECT_TRUE(b->empty()) << "the command line replaces a repeatable option's lines too";
}

TEST(DaemonConfig, MistakesNameTheFileAndLine) {
  auto unknown = args_of("listen = :9478\nlisten-on = :1\n");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find(":2: 'listen-on' is not an option"), std::string::npos) << unknown.error().message;
  auto dashes = args_of("--listen = :9478\n");
  ASSERT_FALSE(dashes);
  EXPECT_NE(dashes.error().message.find("without its dashes"), std::string::npos);
  EXPECT_FALSE(args_of("listen =\n"));
  EXPECT_FALSE(args_of("all-devices = maybe\n"));
  EXPECT_FALSE(args_of("config = /etc/other.conf\n")) << "the file cannot name another file";
  Options cl = declared();
  auto missing = config_file_args("/nonexistent/gputrace.conf", declared(), cl);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().errnum, ENOENT);
}

}  // namespace
}  // namespace gputrace
