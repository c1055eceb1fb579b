// Paths another local user controls: report directories reached through their symbolic
// links, directories they own or can write, and an OTLP file that is theirs or a FIFO. gputrace
// runs as root; each of these once let a user redirect or read what it wrote.
#include "exporters/otlp/otlp_exporter.h"
#include "exporters/report/report_files.h"
#include "userspace/capture/capture.h"
#include "report_scenario.h"
#include "userspace/util/safe_dir.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>

namespace gputrace {
namespace {

constexpr uid_t kNobody = 65534;

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// /tmp in miniature: a sticky world-writable directory next to a root-only one.
class HostilePaths : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root to create another user's files";
    char tmpl[] = "/tmp/gputrace-hostile-XXXXXX";
    root_ = mkdtemp(tmpl);
    world_ = root_ + "/world";
    secret_ = root_ + "/secret";
    ASSERT_EQ(::mkdir(world_.c_str(), 0777), 0);
    ASSERT_EQ(::chmod(world_.c_str(), 01777), 0);
    ASSERT_EQ(::mkdir(secret_.c_str(), 0700), 0);
    std::ofstream(secret_ + "/report.html") << "precious";
  }
  void TearDown() override {
    if (!root_.empty()) std::filesystem::remove_all(root_);
  }
  // A symbolic link at world/name pointing at target, owned by the unprivileged user.
  std::string users_link(const std::string& name, const std::string& target) {
    const std::string link = world_ + "/" + name;
    EXPECT_EQ(::symlink(target.c_str(), link.c_str()), 0);
    EXPECT_EQ(::lchown(link.c_str(), kNobody, kNobody), 0);
    return link;
  }
  std::string root_, world_, secret_;
};

const HostSnapshot& snapshot() {
  static const HostSnapshot s = [] {
    Pipeline p;
    p.set_input(test::scenario_input());
    test::scenario().feed(p);
    return p.snapshot();
  }();
  return s;
}

TEST_F(HostilePaths, ReportDirThatIsAUsersSymlinkIsRefusedAndTheTargetUntouched) {
  const std::string link = users_link("reports", secret_);
  auto written = write_report_files(link, snapshot(), Timeline{});
  ASSERT_FALSE(written);
  EXPECT_NE(written.error().describe().find("symbolic link owned by uid 65534"), std::string::npos)
      << written.error().describe();
  EXPECT_EQ(slurp(secret_ + "/report.html"), "precious");
  EXPECT_FALSE(std::filesystem::exists(secret_ + "/report.json"));
}

TEST_F(HostilePaths, ReportDirBelowAUsersSymlinkIsRefused) {
  const std::string link = users_link("up", root_);
  auto written = write_report_files(link + "/secret", snapshot(), Timeline{});
  ASSERT_FALSE(written);
  EXPECT_EQ(slurp(secret_ + "/report.html"), "precious");
}

TEST_F(HostilePaths, ReportDirOwnedByAnotherUserOrWritableByOthersIsRefused) {
  const std::string theirs = world_ + "/theirs";
  ASSERT_EQ(::mkdir(theirs.c_str(), 0755), 0);
  ASSERT_EQ(::chown(theirs.c_str(), kNobody, kNobody), 0);
  auto a = write_report_files(theirs, snapshot(), Timeline{});
  ASSERT_FALSE(a);
  EXPECT_NE(a.error().describe().find("belongs to uid 65534"), std::string::npos) << a.error().describe();
  const std::string open_dir = root_ + "/open";
  ASSERT_EQ(::mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
  auto b = write_report_files(open_dir, snapshot(), Timeline{});
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().describe().find("writable by other users"), std::string::npos) << b.error().describe();
  EXPECT_TRUE(std::filesystem::is_empty(open_dir));
}

TEST_F(HostilePaths, RootsOwnSymlinkAndANewDirInTheStickyDirAreFine) {
  const std::string link = world_ + "/mine";
  ASSERT_EQ(::symlink(secret_.c_str(), link.c_str()), 0);  // root's link: /var/run -> /run
  ASSERT_TRUE(write_report_files(link, snapshot(), Timeline{}));
  EXPECT_NE(slurp(secret_ + "/report.html"), "precious");
  auto fresh = write_report_files(world_ + "/fresh", snapshot(), Timeline{});
  ASSERT_TRUE(fresh) << fresh.error().describe();
  size_t files = 0;
  for (const auto& e : std::filesystem::directory_iterator(world_ + "/fresh")) files += e.is_regular_file();
  EXPECT_EQ(files, 4u);  // no temporary left behind
}

TEST_F(HostilePaths, NewFilesAreNotCreatedBelowAUsersSymlink) {
  const std::string link = users_link("d", secret_);
  auto capture = CaptureWriter::create(link + "/run.gtrace", {});
  ASSERT_FALSE(capture);
  EXPECT_NE(capture.error().describe().find("symbolic link owned by uid 65534"), std::string::npos)
      << capture.error().describe();
  EXPECT_FALSE(std::filesystem::exists(secret_ + "/run.gtrace"));
  auto mine = create_new_file(world_ + "/mine.txt", 0600);  // a new file in the sticky dir itself: fine
  ASSERT_TRUE(mine) << mine.error().describe();
  EXPECT_FALSE(create_new_file(world_ + "/mine.txt", 0600));  // never twice
}

const otlp::OtlpIdentity kIdentity{.service_version = "0.1.0", .service_instance_id = "infer-07"};

TEST_F(HostilePaths, OtlpFileOwnedByAnotherUserIsNotAppendedTo) {
  const std::string file = world_ + "/otlp.jsonl";
  std::ofstream(file) << "theirs\n";
  ASSERT_EQ(::chown(file.c_str(), kNobody, kNobody), 0);
  auto e = otlp::OtlpExporter::create({.file = file, .identity = kIdentity});
  ASSERT_FALSE(e);
  EXPECT_NE(e.error().describe().find("another user's file"), std::string::npos) << e.error().describe();
  EXPECT_EQ(slurp(file), "theirs\n");
}

TEST_F(HostilePaths, OtlpFileThatIsAFifoIsRefusedAtOnceWithOrWithoutAReader) {
  const std::string fifo = world_ + "/otlp.fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0666), 0);
  auto attempt = [&] {
    return std::async(std::launch::async, [&] { return open_own_file_for_append(fifo); });
  };
  auto no_reader = attempt();
  ASSERT_EQ(no_reader.wait_for(std::chrono::seconds(5)), std::future_status::ready) << "open() blocked on the FIFO";
  EXPECT_FALSE(no_reader.get());
  const int reader = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  auto with_reader = attempt();
  ASSERT_EQ(with_reader.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  auto r = with_reader.get();
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().describe().find("not a regular file"), std::string::npos) << r.error().describe();
  ::close(reader);
}

TEST_F(HostilePaths, OtlpFileOfOurOwnIsAppendedToAndASymlinkIsRefused) {
  const std::string file = root_ + "/ours.jsonl";
  std::ofstream(file) << "earlier\n";
  auto fd = open_own_file_for_append(file);
  ASSERT_TRUE(fd) << fd.error().describe();
  ASSERT_EQ(::write(fd->get(), "later\n", 6), 6);
  EXPECT_EQ(slurp(file), "earlier\nlater\n");
  const std::string link = users_link("otlp-link", file);
  EXPECT_FALSE(open_own_file_for_append(link));
}

}  // namespace
}  // namespace gputrace
