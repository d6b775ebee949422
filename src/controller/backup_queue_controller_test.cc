#include "controller/backup_queue_controller.h"

#include <gtest/gtest.h>

using namespace arca;
using namespace arca::controller;
using api::BackupPhase;

namespace {

api::Backup backup(const std::string& name, BackupPhase phase, int position = 0, const std::string& created = "") {
  api::Backup b;
  b.metadata.name = name;
  b.status.phase = phase;
  b.status.queue_position = position;
  if (!created.empty()) b.metadata.creation_timestamp = parse_rfc3339(created);
  return b;
}

}  // namespace

// A new backup with nothing running goes straight through Queued to ReadyToStart.
TEST(BackupQueue, FirstNewBackupIsReadyToStart) {
  auto changes = next_queue_state({backup("a", BackupPhase::unset), backup("done", BackupPhase::Completed)});
  EXPECT_EQ(changes, (std::map<std::string, QueueChange>{{"a", {BackupPhase::ReadyToStart, 0}}}));
}

// While one runs, new ones queue behind the highest position, in creation order.
TEST(BackupQueue, NewBackupsQueueBehindTheRunningOne) {
  auto changes = next_queue_state({backup("running", BackupPhase::InProgress), backup("q1", BackupPhase::Queued, 1),
                                   backup("later", BackupPhase::New, 0, "2024-01-01T00:00:02Z"),
                                   backup("earlier", BackupPhase::unset, 0, "2024-01-01T00:00:01Z")});
  EXPECT_EQ(changes, (std::map<std::string, QueueChange>{{"earlier", {BackupPhase::Queued, 2}},
                                                         {"later", {BackupPhase::Queued, 3}}}));
  // Nothing changes while the state already is what the queue says.
  EXPECT_TRUE(next_queue_state(
                  {backup("running", BackupPhase::FinalizingPartiallyFailed), backup("q1", BackupPhase::Queued, 1)})
                  .empty());
}

// When the running backup finishes, the first queued one starts and the rest move up.
TEST(BackupQueue, FinishedBackupLetsTheFirstQueuedStart) {
  auto changes =
      next_queue_state({backup("finished", BackupPhase::PartiallyFailed), backup("q2", BackupPhase::Queued, 2),
                        backup("q3", BackupPhase::Queued, 3), backup("q1", BackupPhase::Queued, 1)});
  EXPECT_EQ(changes, (std::map<std::string, QueueChange>{{"q1", {BackupPhase::ReadyToStart, 0}},
                                                         {"q2", {BackupPhase::Queued, 1}},
                                                         {"q3", {BackupPhase::Queued, 2}}}));
  // A ReadyToStart backup that has not been picked up yet counts as running: one at a time.
  EXPECT_TRUE(
      next_queue_state({backup("ready", BackupPhase::ReadyToStart), backup("q1", BackupPhase::Queued, 1)}).empty());
}
