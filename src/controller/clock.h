#pragma once
// Time as controllers see it: every controller reads it from ServerContext::clock (as LevelDB routes time through
// its Env), so TTLs, expirations, schedules and validation periods are tested by advancing a ManualClock rather
// than by sleeping (src/controller/clock_driven_test.cc).
#include <atomic>

#include "util/timestamp.h"

namespace arca::controller {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual Timestamp now() const = 0;
};

class SystemClock : public Clock {
 public:
  Timestamp now() const override { return now_seconds(); }
};

// A clock that stands still until a test moves it; safe to read from controller threads while a test advances it.
class ManualClock : public Clock {
 public:
  explicit ManualClock(Timestamp start) : seconds_(start.time_since_epoch().count()) {}
  Timestamp now() const override { return Timestamp(std::chrono::seconds(seconds_.load())); }
  void advance(std::chrono::seconds by) { seconds_ += by.count(); }

 private:
  std::atomic<long long> seconds_;
};

}  // namespace arca::controller
