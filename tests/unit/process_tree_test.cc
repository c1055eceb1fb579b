#include "userspace/session/process_tree.h"

#include "userspace/host/synthesized.h"

#include <gtest/gtest.h>

namespace gputrace {
namespace {

OwnedRecord fork_record(uint32_t parent, uint32_t child) {
  gt_fork_event e{};
  e.hdr.kind = GT_EV_PROC_FORK;
  e.hdr.size = sizeof(e);
  e.hdr.pid = parent;
  e.child_pid = child;
  return OwnedRecord::of(e);
}

TEST(ProcessTree, FollowsForksFromTheRootDown) {
  ProcessTree tree(100);
  tree.on_record(fork_record(1, 100).view());  // the spawn of the root, read after rooting
  tree.on_record(fork_record(100, 101).view());
  tree.on_record(fork_record(101, 102).view());
  tree.on_record(fork_record(7, 8).view());  // elsewhere on the host
  EXPECT_TRUE(tree.contains(100));
  EXPECT_TRUE(tree.contains(101));
  EXPECT_TRUE(tree.contains(102));
  EXPECT_FALSE(tree.contains(8));
  EXPECT_FALSE(tree.contains(7));
}

// A member stays through its exit (its last batch may be read after the exit record) and
// leaves when a process outside the tree gets its pid.
TEST(ProcessTree, ForgetsAPidReusedOutsideTheTree) {
  ProcessTree tree(100);
  tree.on_record(fork_record(100, 101).view());
  gt_exit_event exit{};
  exit.hdr.kind = GT_EV_PROC_EXIT;
  exit.hdr.size = sizeof(exit);
  exit.hdr.pid = 101;
  tree.on_record(OwnedRecord::of(exit).view());
  EXPECT_TRUE(tree.contains(101));
  tree.on_record(fork_record(7, 101).view());
  EXPECT_FALSE(tree.contains(101));
}

}  // namespace
}  // namespace gputrace
