#pragma once
// Time as controllers see it: injected, so TTLs, expirations and validation periods are testable without
// sleeping.
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

}  // namespace arca::controller
