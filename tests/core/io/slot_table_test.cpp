// What a completion or a timer relies on: a handle finds its entry only while the slot still
// holds the entry it was taken for.
#include "core/io/slot_table.hpp"

#include <gtest/gtest.h>

#include <string>

namespace ringlb {
namespace {

TEST(SlotTable, AHandleFindsItsEntryWhileItLives) {
  SlotTable<std::string, 4> table;
  auto [handle, value] = table.emplace("first");
  EXPECT_EQ(&value, table.find(handle));
  EXPECT_EQ(*table.find(handle), "first");
  EXPECT_EQ(table.size(), 1u);
}

TEST(SlotTable, AStaleGenerationIsRefused) {
  SlotTable<std::string, 4> table;
  const SlotHandle handle = table.emplace("gone").first;
  table.erase(handle.slot);
  EXPECT_EQ(table.find(handle), nullptr);
  EXPECT_EQ(table.at(handle.slot), nullptr);
  EXPECT_EQ(table.size(), 0u);
}

TEST(SlotTable, AFreedSlotIsReusedWithANewGeneration) {
  SlotTable<std::string, 4> table;
  const SlotHandle old_handle = table.emplace("old").first;
  table.erase(old_handle.slot);
  const SlotHandle new_handle = table.emplace("new").first;
  EXPECT_EQ(new_handle.slot, old_handle.slot);
  EXPECT_NE(new_handle.generation, old_handle.generation);
  EXPECT_EQ(table.find(old_handle), nullptr);  // the late completion of the old entry
  EXPECT_EQ(*table.find(new_handle), "new");
}

TEST(SlotTable, SlotsOutOfRangeAndNeverUsedFindNothing) {
  SlotTable<std::string, 4> table;
  EXPECT_EQ(table.find({0, 0}), nullptr);
  table.emplace("one");
  EXPECT_EQ(table.find({1, 0}), nullptr);  // in the chunk, free
  EXPECT_EQ(table.find({99, 0}), nullptr);
  EXPECT_EQ(table.at(99), nullptr);
}

TEST(SlotTable, EntriesNeverMoveWhenTheTableGrows) {
  SlotTable<std::string, 2> table;
  auto [first, value] = table.emplace("stays");
  const std::string* address = &value;
  for (int i = 0; i < 10; ++i) table.emplace("more");
  EXPECT_EQ(table.find(first), address);
  EXPECT_EQ(table.capacity(), 12u);
  EXPECT_EQ(table.size(), 11u);
}

TEST(SlotTable, GenerationsWrapWithinWhatATagKeeps) {
  SlotTable<int, 1> table;
  SlotHandle handle;
  for (uint32_t i = 0; i <= SlotTable<int, 1>::kGenerationMask; ++i) {
    handle = table.emplace(1).first;
    table.erase(handle.slot);
  }
  handle = table.emplace(2).first;
  EXPECT_EQ(handle.generation, 0u);  // wrapped: 24 bits, as OpTag keeps
  // A tag carries only 24 bits; a full 32-bit generation compares by those.
  EXPECT_EQ(*table.find(handle.slot, handle.generation | 0xFF000000u), 2);
}

TEST(SlotTable, TheLowestSlotOfANewChunkComesFirst) {
  SlotTable<int, 4> table;
  EXPECT_EQ(table.emplace(0).first.slot, 0u);
  EXPECT_EQ(table.emplace(1).first.slot, 1u);
  table.erase(0);
  EXPECT_EQ(table.emplace(2).first.slot, 0u);  // the slot freed last is reused first
}

}  // namespace
}  // namespace ringlb
