// The engine's random numbers: Philox4x32-10 (Salmon et al., SC'11), a
// counter-based generator. One seeded Generator per run; the same seed gives the
// same numbers on any thread count, and a CUDA kernel can produce the same stream.
#pragma once

#include <array>
#include <cstdint>

namespace adx {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}

  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return counter_; }  // how many 4-word blocks were drawn
  void set_state(uint64_t seed, uint64_t offset) {
    seed_ = seed;
    counter_ = offset;
    cached_ = 4;
    has_spare_normal_ = false;
  }

  // The complete state, for checkpoints: restoring it continues the exact stream.
  struct State {
    uint64_t seed = 0, counter = 0;
    std::array<uint32_t, 4> buffer{};
    int cached = 4;
    bool has_spare_normal = false;
    float spare_normal = 0.0f;
  };
  State state() const { return {seed_, counter_, buffer_, cached_, has_spare_normal_, spare_normal_}; }
  void restore(const State& s) {
    seed_ = s.seed;
    counter_ = s.counter;
    buffer_ = s.buffer;
    cached_ = s.cached;
    has_spare_normal_ = s.has_spare_normal;
    spare_normal_ = s.spare_normal;
  }

  uint32_t next_u32();
  float uniform();                           // [0, 1)
  float normal();                            // N(0, 1), Box–Muller
  uint64_t below(uint64_t n);                // uniform integer in [0, n)
  std::array<uint32_t, 4> block(uint64_t counter) const;  // the raw Philox output

  // For a device kernel that draws the same stream (engine/cuda/random.cu): the words
  // still cached from the last block, in order (count ≤ 4), then skipping `words` words
  // as that many next_u32() calls would, and the spare of the last normal() pair.
  int cached_words(uint32_t out[4]) const;
  void skip(uint64_t words);
  bool take_spare_normal(float& value);

 private:
  uint64_t seed_;
  uint64_t counter_ = 0;
  std::array<uint32_t, 4> buffer_{};
  int cached_ = 4;  // words left unused in buffer_ (4 = empty)
  bool has_spare_normal_ = false;
  float spare_normal_ = 0.0f;
};

}  // namespace adx

namespace adx {
// The process-wide generator that layer initialisers and dropout use by default.
Generator& default_generator();
void manual_seed(uint64_t seed);
}  // namespace adx
