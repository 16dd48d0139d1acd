// Wall-clock timing for progress lines, ETAs and reported training times.
#pragma once

#include <chrono>

namespace adx {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

}  // namespace adx
