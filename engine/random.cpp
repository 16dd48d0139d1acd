#include "engine/random.h"

#include <cmath>

namespace adx {
namespace {

constexpr uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
constexpr uint32_t kKey0 = 0x9E3779B9u, kKey1 = 0xBB67AE85u;

inline void mulhilo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo) {
  const uint64_t p = static_cast<uint64_t>(a) * b;
  hi = static_cast<uint32_t>(p >> 32);
  lo = static_cast<uint32_t>(p);
}

}  // namespace

std::array<uint32_t, 4> Generator::block(uint64_t counter) const {
  std::array<uint32_t, 4> c = {static_cast<uint32_t>(counter),
                               static_cast<uint32_t>(counter >> 32), 0u, 0u};
  uint32_t k0 = static_cast<uint32_t>(seed_), k1 = static_cast<uint32_t>(seed_ >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(kMul0, c[0], hi0, lo0);
    mulhilo(kMul1, c[2], hi1, lo1);
    c = {hi1 ^ c[1] ^ k0, lo1, hi0 ^ c[3] ^ k1, lo0};
    k0 += kKey0;
    k1 += kKey1;
  }
  return c;
}

uint32_t Generator::next_u32() {
  if (cached_ == 4) {
    buffer_ = block(counter_++);
    cached_ = 0;
  }
  return buffer_[cached_++];
}

int Generator::cached_words(uint32_t out[4]) const {
  int count = 0;
  for (int i = cached_; i < 4; ++i) out[count++] = buffer_[static_cast<size_t>(i)];
  return count;
}

void Generator::skip(uint64_t words) {
  const uint64_t cached = static_cast<uint64_t>(4 - cached_);
  if (words <= cached) {
    cached_ += static_cast<int>(words);
    return;
  }
  words -= cached;
  counter_ += words / 4;  // whole blocks
  cached_ = 4;
  if (words % 4 != 0) {
    buffer_ = block(counter_++);
    cached_ = static_cast<int>(words % 4);
  } else {
    buffer_ = block(counter_ - 1);  // as after drawing its last word: the whole state matches
  }
}

bool Generator::take_spare_normal(float& value) {
  if (!has_spare_normal_) return false;
  has_spare_normal_ = false;
  value = spare_normal_;
  return true;
}

float Generator::uniform() {
  // 24 random bits: every value is exactly representable and < 1.
  return static_cast<float>(next_u32() >> 8) * (1.0f / 16777216.0f);
}

float Generator::normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  // Box–Muller on (0, 1] × [0, 1): u1 > 0 keeps log finite.
  const double u1 = (static_cast<double>(next_u32() >> 8) + 1.0) / 16777216.0;
  const double u2 = static_cast<double>(next_u32() >> 8) / 16777216.0;
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 2.0 * M_PI * u2;
  spare_normal_ = static_cast<float>(r * std::sin(theta));
  has_spare_normal_ = true;
  return static_cast<float>(r * std::cos(theta));
}

uint64_t Generator::below(uint64_t n) {
  // Rejection sampling on 64 bits: unbiased for any n.
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
  for (;;) {
    const uint64_t v = (static_cast<uint64_t>(next_u32()) << 32) | next_u32();
    if (v < limit) return v % n;
  }
}

}  // namespace adx

namespace adx {
Generator& default_generator() {
  static Generator gen(0);
  return gen;
}
void manual_seed(uint64_t seed) { default_generator().set_state(seed, 0); }
}  // namespace adx
