// Batches of an in-memory image set: seeded shuffling per epoch, and a prefetch
// thread that assembles the next batch while the caller trains on the current one.
// Two batch buffers are allocated once and reused, so after warm-up no batch
// allocates. A batch stays valid until the next call to next(); refilling a buffer
// bumps its version, so a graph that still holds an old batch fails loudly in
// backward() instead of computing a wrong gradient.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/tensor.h"

namespace adx::io {

struct Batch {
  Tensor x;                      // (B, C, H, W), a view of a reused buffer
  Tensor y;                      // (B) labels as floats (empty when no labels)
  std::vector<int64_t> indices;  // which rows of the set, in batch order
};

struct LoaderOptions {
  int64_t batch = 64;
  bool shuffle = true;
  bool drop_last = false;  // drop a final partial batch
  uint64_t seed = 0;       // epoch e is shuffled by a generator seeded from (seed, e)
  bool prefetch = true;    // assemble the next batch on a background thread
};

class Loader {
 public:
  // `rows`: the rows of `images` (and `labels`) to serve, e.g. a protocol's training
  // indices; empty = all rows.
  Loader(Tensor images, std::vector<int> labels, std::vector<int64_t> rows, LoaderOptions options);
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  int64_t size() const { return static_cast<int64_t>(rows_.size()); }
  int64_t batches_per_epoch() const;
  // Starts epoch `epoch` (0-based): reshuffles and rewinds. Epochs can be revisited,
  // so a resumed run sees the same order as an uninterrupted one.
  void start_epoch(int64_t epoch);
  // The next batch of the current epoch; false when the epoch is over.
  bool next(Batch& out);

 private:
  void fill(int slot, int64_t batch_index);
  void worker();

  Tensor images_;
  std::vector<int> labels_;
  std::vector<int64_t> rows_;
  std::vector<int64_t> order_;
  LoaderOptions opt_;
  int64_t sample_size_;
  Batch slots_[2];
  int64_t slot_batch_[2] = {-1, -1};  // which batch each slot holds
  int64_t next_batch_ = 0;
  int64_t epoch_ = -1;

  std::mutex mutex_;
  std::condition_variable cv_;
  std::thread thread_;
  int64_t requested_ = -1;  // batch the worker should fill, into slot requested_ % 2
  bool busy_ = false;
  bool stop_ = false;
};

}  // namespace adx::io
