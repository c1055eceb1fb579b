// NameTable: ids, re-sends, and its two bounds.
#include "cupti/name_table.h"

#include <gtest/gtest.h>

#include <string>

namespace gputrace::cupti {
namespace {

TEST(NameTable, BoundedByBytesAsWellAsByCount) {
  NameTable table(/*max_names=*/100, /*max_bytes=*/10);
  EXPECT_EQ(table.intern("abcdef", 1).id, 1u);
  EXPECT_EQ(table.intern("ghij", 1).id, 2u);  // exactly 10 bytes held
  EXPECT_EQ(table.bytes(), 10u);
  EXPECT_EQ(table.intern("k", 1).id, 0u);  // one byte too many
  EXPECT_EQ(table.overflowed(), 1u);
  EXPECT_EQ(table.intern("abcdef", 1).id, 1u);  // known names keep their ids
  EXPECT_EQ(table.size(), 2u);
}

TEST(NameTable, BoundedByCount) {
  NameTable table(/*max_names=*/2);
  EXPECT_NE(table.intern("a", 1).id, 0u);
  EXPECT_NE(table.intern("b", 1).id, 0u);
  EXPECT_EQ(table.intern("c", 1).id, 0u);
  EXPECT_EQ(table.overflowed(), 1u);
}

TEST(NameTable, SendsOncePerReceiverAndGeneration) {
  NameTable table;
  EXPECT_TRUE(table.intern("a", 1).send);
  EXPECT_FALSE(table.intern("a", 1).send);
  EXPECT_TRUE(table.intern("a", 2).send);  // a new receiver
  table.resend_all();
  EXPECT_TRUE(table.intern("a", 2).send);
  EXPECT_FALSE(table.intern("a", 2).send);
}

}  // namespace
}  // namespace gputrace::cupti
