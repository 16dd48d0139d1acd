#include "engine/cpu/conv.h"

#include <algorithm>
#include <cstring>
#ifdef __AVX2__
#include <immintrin.h>
#endif
#include <omp.h>
#include <vector>

#include "engine/cpu/conv_direct.h"
#include "engine/cpu/conv_winograd.h"
#include "engine/cpu/gemm.h"
#include "engine/cpu/parallel.h"
#include "engine/cpu/vec8.h"

namespace adx::cpu {
namespace {

// Images are processed in chunks whose im2col matrices are laid side by side,
// col = [col(x_0) | col(x_1) | ...], so that one GEMM covers the whole chunk: small
// feature maps (ResNet's 4×4 and 1×1 stages) would otherwise give matrix-vector
// products. A chunk gets enough images for kMinColumns GEMM columns, and no more,
// so that its col matrix stays in cache; it is capped at kMaxColFloats (32 MB).
constexpr int64_t kMinColumns = 256;
constexpr int64_t kMaxColFloats = int64_t{8} << 20;

thread_local std::vector<float> t_col, t_tmp;
thread_local std::vector<float> t_partial;  // the caller's per-thread weight-gradient sums

int64_t chunk_images(const ConvGeometry& g) {
  if (g.n == 0) return 1;
  const int64_t hw = std::max<int64_t>(g.col_cols(), 1);
  const int64_t by_memory = std::max<int64_t>(kMaxColFloats / std::max<int64_t>(g.col_rows() * hw, 1), 1);
  return std::clamp<int64_t>((kMinColumns + hw - 1) / hw, 1, std::min(by_memory, g.n));
}

// Runs body(first_image, images, thread) over images [begin, end) in chunks of at
// most `chunk` images, as equal as possible.
template <class F>
void run_chunks(int64_t begin, int64_t end, int64_t chunk, int thread, F& body) {
  const int64_t count = (end - begin + chunk - 1) / chunk;
  for (int64_t c = 0; c < count; ++c) {
    const int64_t lo = begin + (end - begin) * c / count, hi = begin + (end - begin) * (c + 1) / count;
    body(lo, hi - lo, thread);
  }
}

// Runs body(first_image, images, thread) over the batch in chunks. When there are
// at least as many chunks as threads, each thread takes an equal share of the images
// (±1) and runs its chunks with single-threaded GEMMs, no fork/join inside; otherwise
// chunks run one by one with threaded GEMMs. Tiny convolutions stay serial: a
// parallel region costs more than they do.
template <class F>
int for_each_chunk(const ConvGeometry& g, F&& body) {
  if (g.n == 0) return 1;  // an empty batch: nothing to do
  const int64_t chunk = chunk_images(g), chunks = (g.n + chunk - 1) / chunk;
  const int threads = omp_get_max_threads();
  const int64_t macs = g.n * g.o * g.col_rows() * g.col_cols() / g.opt.groups;
  if (threads > 1 && chunks >= threads && macs >= (int64_t{1} << 17) && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), count = omp_get_num_threads();
      run_chunks(g.n * t / count, g.n * (t + 1) / count, chunk, t, body);
    }
    return threads;
  }
  run_chunks(0, g.n, chunk, 0, body);
  return 1;
}

// The output positions o ∈ [0, out) whose input coordinate o·stride − pad + offset
// lies inside [0, in): one contiguous range [lo, hi), empty when lo == hi.
struct Range {
  int64_t lo, hi;
};
Range valid_outputs(int64_t out, int64_t in, int64_t stride, int64_t pad, int64_t offset) {
  auto ceil_div = [](int64_t a, int64_t b) { return a <= 0 ? -(-a / b) : (a + b - 1) / b; };
  const int64_t lo = std::clamp<int64_t>(ceil_div(pad - offset, stride), 0, out);
  const int64_t hi = std::clamp<int64_t>(ceil_div(in + pad - offset, stride), lo, out);
  return {lo, hi};
}

// Kernel tap (i, j) reads, for output position (oy, ox), the input pixel
// (oy·SH − PH + i·DH, ox·SW − PW + j·DW): inside the input exactly for the output rows
// and columns in the ranges below, padding elsewhere. Taps that read only padding for
// every output position (a 3×3 kernel on a 1×1 map has eight) contribute nothing:
// they are left out of the col matrix and the GEMM, which then runs over
// K = C/groups · |active| instead of C/groups · KH·KW.
struct Tap {
  int64_t i, j;      // kernel row and column
  Range rows, cols;  // output rows and columns that read inside the input
};
struct TapTable {
  std::vector<Tap> active;  // the taps that read the input somewhere
  bool compact = false;     // some taps are left out
  int64_t rows = 0;         // col rows: C/groups · |active|
  // Output rows shorter than kMinStretch go element by element instead, through
  // offset[t·OH·OW + p]: the input pixel active tap t reads at output position p
  // within a channel plane, or −1 for padding. A stretch costs a few branches and a
  // vector loop's set-up, which short rows do not pay back.
  bool by_stretch = true;
  std::vector<int32_t> offset;
  // col2im's view of the same table, per input pixel q of a plane: the (tap, position)
  // pairs that read q, at most `per_pixel` of them, in increasing tap order, at
  // reader_tap/reader_pos[e·H·W + q] (tap −1: no e-th reader). col2im then gathers
  // into each pixel instead of scattering from each col element.
  int64_t per_pixel = 0;
  std::vector<int32_t> reader_tap, reader_pos;
  std::vector<int32_t> readers;  // scratch: readers per pixel (kept, so that a step allocates nothing)
};
constexpr int64_t kMinStretch = 8;

// `with_readers`: also col2im's reader table (only backward-data reads it).
void build_taps(const ConvGeometry& g, TapTable& t, bool with_readers = false) {
  const auto& o = g.opt;
  t.active.clear();
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j) {
      const Range rows = valid_outputs(g.oh, g.h, o.stride_h, o.pad_h, i * o.dilation_h);
      const Range cols = valid_outputs(g.ow, g.w, o.stride_w, o.pad_w, j * o.dilation_w);
      if (rows.lo < rows.hi && cols.lo < cols.hi) t.active.push_back({i, j, rows, cols});
    }
  t.compact = static_cast<int64_t>(t.active.size()) < g.kh * g.kw;
  t.rows = g.c_group() * static_cast<int64_t>(t.active.size());
  t.by_stretch = g.ow >= kMinStretch;
  if (t.by_stretch) return;
  const int64_t hw = g.col_cols();
  t.offset.resize(t.active.size() * static_cast<size_t>(hw));
  for (size_t a = 0; a < t.active.size(); ++a) {
    const Tap& tap = t.active[a];
    int32_t* row = t.offset.data() + static_cast<int64_t>(a) * hw;
    for (int64_t oy = 0; oy < g.oh; ++oy)
      for (int64_t ox = 0; ox < g.ow; ++ox) {
        const bool inside = oy >= tap.rows.lo && oy < tap.rows.hi && ox >= tap.cols.lo && ox < tap.cols.hi;
        const int64_t y = oy * o.stride_h - o.pad_h + tap.i * o.dilation_h;
        const int64_t x = ox * o.stride_w - o.pad_w + tap.j * o.dilation_w;
        row[oy * g.ow + ox] = inside ? static_cast<int32_t>(y * g.w + x) : -1;
      }
  }
  t.per_pixel = 0;
  if (!with_readers) return;
  const int64_t plane = g.h * g.w;
  std::vector<int32_t>& readers = t.readers;
  readers.assign(static_cast<size_t>(plane), 0);
  for (int32_t q : t.offset)
    if (q >= 0) ++readers[static_cast<size_t>(q)];
  t.per_pixel = plane > 0 ? *std::max_element(readers.begin(), readers.end()) : 0;
  t.reader_tap.assign(static_cast<size_t>(t.per_pixel * plane), -1);
  t.reader_pos.assign(static_cast<size_t>(t.per_pixel * plane), 0);
  std::fill(readers.begin(), readers.end(), 0);
  for (int64_t a = 0; a < static_cast<int64_t>(t.active.size()); ++a)  // taps in increasing order
    for (int64_t p = 0; p < hw; ++p) {
      const int32_t q = t.offset[static_cast<size_t>(a * hw + p)];
      if (q < 0) continue;
      const size_t at = static_cast<size_t>(readers[static_cast<size_t>(q)]++ * plane + q);
      t.reader_tap[at] = static_cast<int32_t>(a);
      t.reader_pos[at] = static_cast<int32_t>(p);
    }
}

// The weights as the GEMM needs them: unchanged, or (O, C/groups · |active|) with the
// columns of left-out taps dropped.
thread_local std::vector<float> t_packed_weights;
const float* gemm_weights(const ConvGeometry& g, const TapTable& taps, const float* w) {
  if (!taps.compact) return w;
  const int64_t k2 = g.kh * g.kw, a = static_cast<int64_t>(taps.active.size());
  t_packed_weights.resize(static_cast<size_t>(g.o * taps.rows));
  float* packed = t_packed_weights.data();  // the caller's buffer (thread-local)
  // In parallel: ResNet's layer4 reads 9.4 MB of weights here to keep a ninth of them,
  // and run serially that kept the other thread waiting.
  parallel_for(0, g.o, g.c_group() * k2, [&](int64_t o) {
    for (int64_t c = 0; c < g.c_group(); ++c)
      for (int64_t t = 0; t < a; ++t) {
        const Tap& tap = taps.active[static_cast<size_t>(t)];
        packed[(o * g.c_group() + c) * a + t] = w[(o * g.c_group() + c) * k2 + tap.i * g.kw + tap.j];
      }
  });
  return packed;
}

// One stretch of a col row: the `count` elements from col[col_at] on read the input
// pixels in_at, in_at + SW, in_at + 2·SW, ...
struct Stretch {
  int64_t col_at, in_at, count;
};

// Walks the col matrix of one image by stretches: in_row(s) for each output row that
// reads inside the input, padding(col_at, from, to) for the columns that read padding.
// im2col and col2im are both this walk (one copies, the other adds back), so neither
// needs a per-element branch or index table, and stride-1 rows are plain copies.
template <class InRow, class Padding>
void walk_col(const ConvGeometry& g, const TapTable& taps, int64_t ld, InRow&& in_row, Padding&& padding) {
  const auto& o = g.opt;
  const int64_t a = static_cast<int64_t>(taps.active.size());
  for (int64_t c = 0; c < g.c_group(); ++c)
    for (int64_t t = 0; t < a; ++t) {
      const Tap& tap = taps.active[static_cast<size_t>(t)];
      const int64_t row_at = (c * a + t) * ld;
      const int64_t x0 = tap.j * o.dilation_w - o.pad_w;
      for (int64_t oy = 0; oy < g.oh; ++oy) {
        const int64_t col_at = row_at + oy * g.ow;
        if (oy < tap.rows.lo || oy >= tap.rows.hi) {
          padding(col_at, int64_t{0}, g.ow);
          continue;
        }
        const int64_t y = oy * o.stride_h - o.pad_h + tap.i * o.dilation_h;
        padding(col_at, int64_t{0}, tap.cols.lo);
        in_row(Stretch{col_at + tap.cols.lo, (c * g.h + y) * g.w + x0 + tap.cols.lo * o.stride_w,
                       tap.cols.hi - tap.cols.lo});
        padding(col_at, tap.cols.hi, g.ow);
      }
    }
}

// im2col and col2im for short rows, element by element through the offset table.
void im2col_elementwise(const ConvGeometry& g, const TapTable& taps, const float* x, float* col, int64_t ld) {
  const int64_t hw = g.col_cols(), plane = g.h * g.w, a = static_cast<int64_t>(taps.active.size());
  for (int64_t c = 0; c < g.c_group(); ++c) {
    const float* in = x + c * plane;
    for (int64_t t = 0; t < a; ++t) {
      const int32_t* __restrict tap = taps.offset.data() + t * hw;
      float* __restrict row = col + (c * a + t) * ld;
      int64_t p = 0;
#ifdef __AVX2__
      // Eight elements per masked gather: lanes whose tap reads padding (offset −1)
      // are not loaded and come out 0. GCC does not vectorise this loop by itself,
      // and one element at a time it is a tenth of a WGAN-GP critic step.
      for (; p + 8 <= hw; p += 8) {
        const __m256i at = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(tap + p));
        const __m256 inside = _mm256_castsi256_ps(_mm256_cmpgt_epi32(at, _mm256_set1_epi32(-1)));
        _mm256_storeu_ps(row + p, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), in, at, inside, 4));
      }
#endif
      for (; p < hw; ++p) row[p] = tap[p] >= 0 ? in[tap[p]] : 0.0f;
    }
  }
}
// x[q] = Σ over the col elements that read q, gathered per pixel in increasing tap
// order: the same sum, in the same order, as scattering tap by tap into zeros, but
// eight pixels per step instead of one element with a branch. Every pixel of x is
// written (0 where nothing reads it), so x need not be zeroed first.
void col2im_elementwise(const ConvGeometry& g, const TapTable& taps, const float* col, int64_t ld, float* x) {
  const int64_t plane = g.h * g.w, a = static_cast<int64_t>(taps.active.size());
  const int64_t readers = taps.per_pixel;
  const bool fits_int32 = a * ld < (int64_t{1} << 31);
  for (int64_t c = 0; c < g.c_group(); ++c) {
    float* out = x + c * plane;
    const float* rows = col + c * a * ld;  // this channel's taps' rows, ld apart
    int64_t q = 0;
#ifdef __AVX2__
    if (fits_int32) {
      const __m256i stride = _mm256_set1_epi32(static_cast<int32_t>(ld));
      for (; q + 8 <= plane; q += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int64_t e = 0; e < readers; ++e) {
          const __m256i tap = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(taps.reader_tap.data() + e * plane + q));
          const __m256i pos = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(taps.reader_pos.data() + e * plane + q));
          const __m256 read = _mm256_castsi256_ps(_mm256_cmpgt_epi32(tap, _mm256_set1_epi32(-1)));
          const __m256i at = _mm256_add_epi32(_mm256_mullo_epi32(tap, stride), pos);
          acc = _mm256_add_ps(acc, _mm256_mask_i32gather_ps(_mm256_setzero_ps(), rows, at, read, 4));
        }
        _mm256_storeu_ps(out + q, acc);
      }
    }
#endif
    for (; q < plane; ++q) {
      float acc = 0.0f;
      for (int64_t e = 0; e < readers; ++e) {
        const int32_t tap = taps.reader_tap[static_cast<size_t>(e * plane + q)];
        if (tap >= 0) acc += rows[tap * ld + taps.reader_pos[static_cast<size_t>(e * plane + q)]];
      }
      out[q] = acc;
    }
  }
}

// col[(c·|active| + t)][p] = x[c][the pixel tap t reads at p], 0 for padding; rows are
// `ld` floats apart (the chunk's total column count).
void im2col(const ConvGeometry& g, const TapTable& taps, const float* x, float* col, int64_t ld) {
  if (!taps.by_stretch) return im2col_elementwise(g, taps, x, col, ld);
  const int64_t sw = g.opt.stride_w;
  walk_col(
      g, taps, ld,
      [=](Stretch s) {
        float* __restrict out = col + s.col_at;
        const float* __restrict in = x + s.in_at;
        if (sw == 1) {
          for (int64_t k = 0; k < s.count; ++k) out[k] = in[k];
        } else if (sw == 2) {  // a constant stride lets the compiler vectorise
          for (int64_t k = 0; k < s.count; ++k) out[k] = in[2 * k];
        } else {
          for (int64_t k = 0; k < s.count; ++k) out[k] = in[k * sw];
        }
      },
      [=](int64_t at, int64_t from, int64_t to) {
        for (int64_t ox = from; ox < to; ++ox) col[at + ox] = 0.0f;
      });
}

// The adjoint of im2col: x[...] += col[...] (x must be zeroed first, except for short
// rows: col2im_elementwise writes every pixel). Within one stretch the input pixels
// are distinct, so the adds never collide.
void col2im(const ConvGeometry& g, const TapTable& taps, const float* col, int64_t ld, float* x) {
  if (!taps.by_stretch) return col2im_elementwise(g, taps, col, ld, x);
  const int64_t sw = g.opt.stride_w;
  walk_col(
      g, taps, ld,
      [=](Stretch s) {
        const float* __restrict in = col + s.col_at;
        float* __restrict out = x + s.in_at;
        if (sw == 1) {
          for (int64_t k = 0; k < s.count; ++k) out[k] += in[k];
        } else {
          for (int64_t k = 0; k < s.count; ++k) out[k * sw] += in[k];
        }
      },
      [](int64_t, int64_t, int64_t) {});
}

thread_local TapTable t_taps;  // the calling thread's table, shared read-only by workers

// Pointers for image n, group gr.
const float* input_at(const ConvGeometry& g, const float* x, int64_t n, int64_t gr) {
  return x + (n * g.c + gr * g.c_group()) * g.h * g.w;
}
int64_t output_offset(const ConvGeometry& g, int64_t n, int64_t gr) {
  return (n * g.o + gr * g.o_group()) * g.col_cols();
}

// Copies a group's output rows between the (N, O, OH·OW) tensor layout and the
// chunk's (og, images·OH·OW) GEMM layout.
void gather_rows(const ConvGeometry& g, const float* y, int64_t n0, int64_t images, int64_t gr,
                 float* tmp) {
  const int64_t og = g.o_group(), hw = g.col_cols(), ld = images * hw;
  parallel_for(0, images, og * hw, [&](int64_t i) {
    for (int64_t oc = 0; oc < og; ++oc)
      std::memcpy(tmp + oc * ld + i * hw, y + output_offset(g, n0 + i, gr) + oc * hw,
                  static_cast<size_t>(hw) * sizeof(float));
  });
}

}  // namespace

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y) {
  if (conv2d_direct_applies(g)) return conv2d_direct_forward(g, x, w, bias, y);
  if (conv2d_winograd_applies(g)) return conv2d_winograd_forward(g, x, w, bias, y);
  TapTable& taps = t_taps;
  build_taps(g, taps);
  const int64_t og = g.o_group(), k = taps.rows, hw = g.col_cols();
  const float* wk = gemm_weights(g, taps, w);
  for_each_chunk(g, [&](int64_t n0, int64_t images, int) {
    const int64_t ld = images * hw;
    float* col = scratch(t_col, k * ld);
    for (int64_t gr = 0; gr < g.opt.groups; ++gr) {
      parallel_for(0, images, k * hw, [&](int64_t i) {
        im2col(g, taps, input_at(g, x, n0 + i, gr), col + i * hw, ld);
      });
      const float* wg = wk + gr * og * k;
      if (images == 1) {  // the GEMM can write the output directly
        gemm(false, false, og, hw, k, 1.0f, wg, k, col, ld, 0.0f, y + output_offset(g, n0, gr), hw);
        continue;
      }
      float* tmp = scratch(t_tmp, og * ld);
      gemm(false, false, og, ld, k, 1.0f, wg, k, col, ld, 0.0f, tmp, ld);
      parallel_for(0, images, og * hw, [&](int64_t i) {
        for (int64_t oc = 0; oc < og; ++oc)
          std::memcpy(y + output_offset(g, n0 + i, gr) + oc * hw, tmp + oc * ld + i * hw,
                      static_cast<size_t>(hw) * sizeof(float));
      });
    }
  });
  if (!bias) return;
  parallel_for(0, g.n * g.o, hw, [&](int64_t row) {
    const float b = bias[row % g.o];
    float* out = y + row * hw;
    for (int64_t i = 0; i < hw; ++i) out[i] += b;
  });
}

void conv2d_backward_data(const ConvGeometry& g, const float* y_grad, const float* w,
                          float* x_grad) {
  if (conv2d_winograd_applies(g)) return conv2d_winograd_backward_data(g, y_grad, w, x_grad);
  TapTable& taps = t_taps;
  build_taps(g, taps, /*with_readers=*/true);
  const int64_t og = g.o_group(), k = taps.rows, hw = g.col_cols();
  const float* wk = gemm_weights(g, taps, w);
  if (taps.by_stretch) std::fill_n(x_grad, g.n * g.c * g.h * g.w, 0.0f);
  for_each_chunk(g, [&](int64_t n0, int64_t images, int) {
    const int64_t ld = images * hw;
    float* col = scratch(t_col, k * ld);
    for (int64_t gr = 0; gr < g.opt.groups; ++gr) {
      const float* gy = y_grad + output_offset(g, n0, gr);
      if (images > 1) {
        float* tmp = scratch(t_tmp, og * ld);
        gather_rows(g, y_grad, n0, images, gr, tmp);
        gy = tmp;
      }
      // col = W_gᵀ · gy  (K × images·OH·OW)
      gemm(true, false, k, ld, og, 1.0f, wk + gr * og * k, k, gy, ld, 0.0f, col, ld);
      parallel_for(0, images, k * hw, [&](int64_t i) {
        col2im(g, taps, col + i * hw, ld, x_grad + (((n0 + i) * g.c) + gr * g.c_group()) * g.h * g.w);
      });
    }
  });
}

void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                            float* w_grad) {
  if (conv2d_direct_applies(g)) return conv2d_direct_backward_weight(g, x, y_grad, w_grad);
  if (conv2d_winograd_applies(g)) return conv2d_winograd_backward_weight(g, x, y_grad, w_grad);
  TapTable& taps = t_taps;
  build_taps(g, taps);
  const int64_t og = g.o_group(), k = taps.rows, hw = g.col_cols(), w_size = g.o * k;
  // One partial sum per thread, added in thread order at the end: no races, and the
  // same result on every run with the same thread count.
  const int max_threads = omp_get_max_threads();
  std::vector<float>& partial = t_partial;
  partial.assign(static_cast<size_t>(w_size * max_threads), 0.0f);
  const int used = for_each_chunk(g, [&](int64_t n0, int64_t images, int thread) {
    const int64_t ld = images * hw;
    float* col = scratch(t_col, k * ld);
    float* acc = partial.data() + thread * w_size;
    for (int64_t gr = 0; gr < g.opt.groups; ++gr) {
      parallel_for(0, images, k * hw, [&](int64_t i) {
        im2col(g, taps, input_at(g, x, n0 + i, gr), col + i * hw, ld);
      });
      const float* gy = y_grad + output_offset(g, n0, gr);
      if (images > 1) {
        float* tmp = scratch(t_tmp, og * ld);
        gather_rows(g, y_grad, n0, images, gr, tmp);
        gy = tmp;
      }
      // dW_g += gy · colᵀ  (og × K), summed over the chunk's columns by the GEMM.
      gemm(false, true, og, k, ld, 1.0f, gy, ld, col, ld, 1.0f, acc + gr * og * k, k);
    }
  });
  for (int t = 1; t < used; ++t)
    for (int64_t i = 0; i < w_size; ++i) partial[static_cast<size_t>(i)] += partial[static_cast<size_t>(t * w_size + i)];
  if (!taps.compact) {
    std::copy_n(partial.data(), w_size, w_grad);
    return;
  }
  // Spread the active taps' columns back; left-out taps have zero gradient.
  const int64_t k2 = g.kh * g.kw, a = static_cast<int64_t>(taps.active.size());
  std::fill_n(w_grad, g.o * g.c_group() * k2, 0.0f);
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t c = 0; c < g.c_group(); ++c)
      for (int64_t t = 0; t < a; ++t) {
        const Tap& tap = taps.active[static_cast<size_t>(t)];
        w_grad[(o * g.c_group() + c) * k2 + tap.i * g.kw + tap.j] =
            partial[static_cast<size_t>((o * g.c_group() + c) * a + t)];
      }
}

}  // namespace adx::cpu
