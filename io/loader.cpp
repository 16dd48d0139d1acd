#include "io/loader.h"

#include <algorithm>
#include <cstring>
#include <fmt/format.h>
#include <numeric>

#include "engine/random.h"

namespace adx::io {

Loader::Loader(Tensor images, std::vector<int> labels, std::vector<int64_t> rows, LoaderOptions opt)
    : images_(std::move(images)), labels_(std::move(labels)), rows_(std::move(rows)), opt_(opt) {
  if (!images_.defined() || images_.dim() < 2 || images_.size(0) == 0)
    throw Error("Loader: images must be a non-empty (N, ...) tensor");
  if (opt_.batch < 1) throw Error("Loader: batch size must be ≥ 1");
  const int64_t n = images_.size(0);
  if (!labels_.empty() && static_cast<int64_t>(labels_.size()) != n)
    throw Error(fmt::format("Loader: {} labels for {} images", labels_.size(), n));
  if (rows_.empty()) {
    rows_.resize(static_cast<size_t>(n));
    std::iota(rows_.begin(), rows_.end(), 0);
  }
  for (int64_t r : rows_)
    if (r < 0 || r >= n) throw Error(fmt::format("Loader: row {} out of range [0, {})", r, n));
  sample_size_ = images_.numel() / n;
  Shape shape = images_.shape();
  shape[0] = opt_.batch;
  for (Batch& b : slots_) {
    b.x = Tensor::empty(shape);
    if (!labels_.empty()) b.y = Tensor::empty({opt_.batch});
    b.indices.reserve(static_cast<size_t>(opt_.batch));
  }
  if (opt_.prefetch) thread_ = std::thread([this] { worker(); });
}

Loader::~Loader() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

int64_t Loader::batches_per_epoch() const {
  const int64_t n = size();
  return opt_.drop_last ? n / opt_.batch : (n + opt_.batch - 1) / opt_.batch;
}

void Loader::start_epoch(int64_t epoch) {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return !busy_; });  // let a prefetch in flight finish
  requested_ = -1;
  epoch_ = epoch;
  order_ = rows_;
  if (opt_.shuffle) {
    Generator gen(opt_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(epoch) + 1);
    for (int64_t i = static_cast<int64_t>(order_.size()) - 1; i > 0; --i)
      std::swap(order_[static_cast<size_t>(i)], order_[gen.below(static_cast<uint64_t>(i + 1))]);
  }
  next_batch_ = 0;
  slot_batch_[0] = slot_batch_[1] = -1;
}

void Loader::fill(int slot, int64_t b) {
  Batch& out = slots_[slot];
  const int64_t begin = b * opt_.batch;
  const int64_t count = std::min(opt_.batch, size() - begin);
  float* dst = out.x.data();
  out.indices.clear();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t row = order_[static_cast<size_t>(begin + i)];
    std::memcpy(dst + i * sample_size_, images_.data() + row * sample_size_,
                static_cast<size_t>(sample_size_) * sizeof(float));
    if (out.y.defined()) out.y.data()[i] = static_cast<float>(labels_[static_cast<size_t>(row)]);
    out.indices.push_back(row);
  }
  slot_batch_[slot] = b;
}

void Loader::worker() {
  std::unique_lock lock(mutex_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || requested_ >= 0; });
    if (stop_) return;
    const int64_t b = requested_;
    requested_ = -1;
    busy_ = true;
    lock.unlock();
    fill(static_cast<int>(b % 2), b);
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

bool Loader::next(Batch& out) {
  if (epoch_ < 0) throw Error("Loader: call start_epoch() before next()");
  const int64_t b = next_batch_;
  if (b >= batches_per_epoch()) return false;
  const int slot = static_cast<int>(b % 2);
  {
    std::unique_lock lock(mutex_);
    // Wait until the prefetch asked for last time has been taken up and finished.
    cv_.wait(lock, [this] { return !busy_ && requested_ < 0; });
    if (slot_batch_[slot] != b) {  // not prefetched (first batch, or no prefetch)
      slots_[slot].x.bump_version();
      if (slots_[slot].y.defined()) slots_[slot].y.bump_version();
      lock.unlock();
      fill(slot, b);
      lock.lock();
    }
    // Ask for the batch after this one, into the other slot. Its version is bumped
    // here, on the caller's thread, before the worker starts overwriting it: a graph
    // still holding that batch then fails in backward() rather than racing.
    if (opt_.prefetch && b + 1 < batches_per_epoch()) {
      Batch& other = slots_[1 - slot];
      other.x.bump_version();
      if (other.y.defined()) other.y.bump_version();
      requested_ = b + 1;
      cv_.notify_all();
    }
  }
  ++next_batch_;
  const Batch& s = slots_[slot];
  const int64_t count = static_cast<int64_t>(s.indices.size());
  Shape shape = s.x.shape();
  shape[0] = count;
  // Views of the slot (no copy); a partial last batch is a shorter view.
  // Fresh views every time, so that autograd state set on one batch (requires_grad,
  // .grad) does not carry over to the next.
  out.x = make_view(s.x, shape, 0);
  out.y = s.y.defined() ? make_view(s.y, {count}, 0) : Tensor();
  out.indices = s.indices;
  return true;
}

}  // namespace adx::io
