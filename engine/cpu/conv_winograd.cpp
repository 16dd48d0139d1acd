// Winograd convolution (Lavin & Gray, "Fast Algorithms for Convolutional Neural
// Networks", CVPR 2016) for two kinds of layer:
//
// - F(4×4, 2×2) for 4×4 kernels at stride 2 with padding 1 (DCGAN / WGAN-GP);
// - F(2×2, 3×3) for 3×3 kernels at stride 1 with padding 1 (ResNet, VGG).
//
// F(m×m, r×r): a valid correlation of an n×n tile d (n = m + r − 1) with an r×r
// kernel g gives an m×m output tile as
//
//   Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A                                   (their eq. 8)
//
// with n² multiplies instead of m²r² (25 instead of 64; 16 instead of 36). Summed over
// input channels, the ⊙ becomes n² independent GEMMs, one per transformed point ξ.
// The weight gradient follows from eq. 8 by the chain rule: dg = Gᵀ [(A dY Aᵀ) ⊙ (Bᵀ d B)] G,
// summed over tiles; the input gradient is again a correlation (below).
//
// A 4×4 stride-2 convolution is a 2×2 stride-1 one in disguise. Split the zero-padded
// input into its four stride phases X_pq[c][u][v] = x[c][2u + p − 1][2v + q − 1] and
// the kernel into the matching 2×2 sub-kernels w[o][c][2a + p][2b + q]; then
//
//   y[o][i][j] = Σ_{c, p, q} Σ_{a, b} w[o][c][2a + p][2b + q] · X_pq[c][i + a][j + b],
//
// a valid 2×2 correlation over 4·C "phase planes". Its input gradient: each phase of
// x's gradient is the output gradient, padded by one, correlated with the flipped
// sub-kernels. The 3×3 layer is the same with one phase (step 1): the input padded by
// one, and for the input gradient the output gradient padded by one, correlated with
// the flipped kernel.
//
// F(4×4, 2×2) uses the points 0, 1, −1, 2 and ∞ (Toom-Cook), rows scaled so that Bᵀ
// has integer entries:
//
//        | 2 −1 −2  1  0 |          | 1  1  1  1  0 |          | 1/2    0 |
//        | 0  2  1 −1  0 |          | 0  1 −1  2  0 |          | 1/2  1/2 |
//   Bᵀ = | 0 −2  3 −1  0 |     Aᵀ = | 0  1  1  4  0 |      G = | 1/6 −1/6 |
//        | 0 −1  0  1  0 |          | 0  1 −1  8  1 |          | 1/6  1/3 |
//        | 0  2 −1 −2  1 |                                     |   0    1 |
//
// F(2×2, 3×3) is Lavin & Gray's own (points 0, 1, −1, ∞):
//
//        | 1  0 −1  0 |                                    |   1    0    0 |
//   Bᵀ = | 0  1  1  0 |     Aᵀ = | 1  1  1  0 |        G = | 1/2  1/2  1/2 |
//        | 0 −1  1  0 |          | 0  1 −1 −1 |            | 1/2 −1/2  1/2 |
//        | 0  1  0 −1 |                                    |   0    0    1 |
//
// Rounding: F(4×4, 2×2)'s transforms add terms up to 8× larger than the result, so its
// errors are a few units in the 6th significant digit of the largest output (measured
// in tests/ops_conv_pool_test.cpp), against the 7th for a plain sum, and they grow
// with the input channels (forward, relative to the largest output: 5e-6 at 64,
// 1.2e-5 at 256, 2.2e-5 at 1,024); F(2×2, 3×3)'s are a plain sum's. An inf or NaN
// input reaches every output of the tiles whose windows hold it, as NaN where the
// im2col path would give ±inf or leave an output finite.
//
// Layout: each thread takes a share of the batch in chunks of images. For 8 planes
// at a time, an image's maps are copied channels-last by 8×8 transposes, each tile's
// window is transformed and stored as V[p][ξ][plane]; the n² GEMMs give
// M[p][ξ][c_out] (through a register-blocked kernel that reads the transforms'
// output as it is, no packing), and the output transform writes the m×m tiles back
// into the NCHW tensor, again through transposes.
#include "engine/cpu/conv_winograd.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <cstring>
#include <omp.h>
#include <vector>
#if defined(__AVX__) || defined(__FMA__)
#include <immintrin.h>
#endif

#include "engine/cpu/parallel.h"
#include "engine/cpu/vec8.h"

namespace adx::cpu {
namespace {

using v8 = Vec8;  // 8 planes at once: one ymm register under AVX2
// Tiles per chunk: enough GEMM rows to reuse each weight panel, few enough that a
// chunk's V and M (n² × tiles × (planes in + planes out) floats; 2.4 MB for the
// critic's second layer) stay in the last-level cache. A chunk is at least one image.
constexpr int64_t kChunkTiles = 64;
// The weight gradient transforms this many tiles before its products (memory:
// n² × tiles × (C_in + O) floats).
constexpr int64_t kGroupTiles = 512;

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

thread_local std::vector<float> t_u, t_partial;  // the calling thread's weights / weight-gradient sums
thread_local std::vector<float> t_v, t_m, t_block;  // each worker's chunk and channels-last block

// ---------------------------------------------------------------------------------
// The two schemes' transforms, on 8 planes at once. Each 1-D transform reads
// `s`-strided inputs and writes `os`-strided outputs.

// F(4×4, 2×2) after the stride-phase split of a 4×4 stride-2 kernel.
struct F4x2 {
  static constexpr int64_t m = 4, r = 2, n = 5, step = 2;
  // Bᵀ d: 5 → 5.
  static void input_1d(const v8* d, int s, v8* out, int os) {
    const v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s], d4 = d[4 * s];
    out[0] = 2.0f * (d0 - d2) + (d3 - d1);
    out[os] = 2.0f * d1 + d2 - d3;
    out[2 * os] = 3.0f * d2 - 2.0f * d1 - d3;
    out[3 * os] = d3 - d1;
    out[4 * os] = 2.0f * (d1 - d3) - d2 + d4;
  }
  // Aᵀ m: 5 → 4.
  static void output_1d(const v8* m, int s, v8* out, int os) {
    const v8 m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s], m4 = m[4 * s];
    const v8 sum = m1 + m2, diff = m1 - m2;
    out[0] = m0 + sum + m3;
    out[os] = diff + 2.0f * m3;
    out[2 * os] = sum + 4.0f * m3;
    out[3 * os] = diff + 8.0f * m3 + m4;
  }
  // A y: 4 → 5, for output-gradient tiles (the adjoint of Aᵀ).
  static void gradient_1d(const v8* y, int s, v8* out, int os) {
    const v8 y0 = y[0], y1 = y[s], y2 = y[2 * s], y3 = y[3 * s];
    out[0] = y0;
    out[os] = y0 + y1 + y2 + y3;
    out[2 * os] = y0 - y1 + y2 - y3;
    out[3 * os] = y0 + 2.0f * y1 + 4.0f * y2 + 8.0f * y3;
    out[4 * os] = y3;
  }
  // G g: 2 → 5.
  static void kernel_1d(const v8* g, int s, v8* out, int os) {
    const v8 a = g[0], b = g[s];
    out[0] = a / 2.0f;
    out[os] = (a + b) / 2.0f;
    out[2 * os] = (a - b) / 6.0f;
    out[3 * os] = (a + 2.0f * b) / 6.0f;
    out[4 * os] = b;
  }
  // Gᵀ s: 5 → 2, the adjoint of G, for weight gradients.
  static void kernel_adjoint_1d(const v8* s, int st, v8* out, int os) {
    const v8 s0 = s[0], s1 = s[st], s2 = s[2 * st], s3 = s[3 * st], s4 = s[4 * st];
    out[0] = (s0 + s1) / 2.0f + (s2 + s3) / 6.0f;
    out[os] = s1 / 2.0f - s2 / 6.0f + s3 / 3.0f + s4;
  }
};

// F(2×2, 3×3) for a 3×3 stride-1 kernel.
struct F2x3 {
  static constexpr int64_t m = 2, r = 3, n = 4, step = 1;
  // Bᵀ d: 4 → 4.
  static void input_1d(const v8* d, int s, v8* out, int os) {
    const v8 d0 = d[0], d1 = d[s], d2 = d[2 * s], d3 = d[3 * s];
    out[0] = d0 - d2;
    out[os] = d1 + d2;
    out[2 * os] = d2 - d1;
    out[3 * os] = d1 - d3;
  }
  // Aᵀ m: 4 → 2.
  static void output_1d(const v8* m, int s, v8* out, int os) {
    const v8 m0 = m[0], m1 = m[s], m2 = m[2 * s], m3 = m[3 * s];
    out[0] = m0 + m1 + m2;
    out[os] = m1 - m2 - m3;
  }
  // A y: 2 → 4.
  static void gradient_1d(const v8* y, int s, v8* out, int os) {
    const v8 y0 = y[0], y1 = y[s];
    out[0] = y0;
    out[os] = y0 + y1;
    out[2 * os] = y0 - y1;
    out[3 * os] = -y1;
  }
  // G g: 3 → 4.
  static void kernel_1d(const v8* g, int s, v8* out, int os) {
    const v8 a = g[0], b = g[s], c = g[2 * s];
    out[0] = a;
    out[os] = (a + b + c) / 2.0f;
    out[2 * os] = (a - b + c) / 2.0f;
    out[3 * os] = c;
  }
  // Gᵀ s: 4 → 3.
  static void kernel_adjoint_1d(const v8* s, int st, v8* out, int os) {
    const v8 s0 = s[0], s1 = s[st], s2 = s[2 * st], s3 = s[3 * st];
    out[0] = s0 + (s1 + s2) / 2.0f;
    out[os] = (s1 - s2) / 2.0f;
    out[2 * os] = (s1 + s2) / 2.0f + s3;
  }
};

template <class S>
constexpr int64_t kPoints = S::n * S::n;  // transformed points per tile

// 2-D forms: columns first, then rows (row-major tiles).
template <class S>
void input_2d(const v8* d, v8* out) {  // Bᵀ d B: n×n → n×n
  constexpr int n = S::n;
  v8 t[n * n];
  for (int j = 0; j < n; ++j) S::input_1d(d + j, n, t + j, n);
  for (int i = 0; i < n; ++i) S::input_1d(t + n * i, 1, out + n * i, 1);
}
template <class S>
void output_2d(const v8* points, v8* out) {  // Aᵀ M A: n×n → m×m
  constexpr int m = S::m, n = S::n;
  v8 t[m * n];
  for (int j = 0; j < n; ++j) S::output_1d(points + j, n, t + j, n);
  for (int i = 0; i < m; ++i) S::output_1d(t + n * i, 1, out + m * i, 1);
}
template <class S>
void gradient_2d(const v8* y, v8* out) {  // A dY Aᵀ: m×m → n×n
  constexpr int m = S::m, n = S::n;
  v8 t[n * m];
  for (int j = 0; j < m; ++j) S::gradient_1d(y + j, m, t + j, m);
  for (int i = 0; i < n; ++i) S::gradient_1d(t + m * i, 1, out + n * i, 1);
}
template <class S>
void kernel_2d(const v8* g, v8* out) {  // G g Gᵀ: r×r → n×n
  constexpr int r = S::r, n = S::n;
  v8 t[n * r];
  for (int j = 0; j < r; ++j) S::kernel_1d(g + j, r, t + j, r);
  for (int i = 0; i < n; ++i) S::kernel_1d(t + r * i, 1, out + n * i, 1);
}
template <class S>
void kernel_adjoint_2d(const v8* s, v8* out) {  // Gᵀ S G: n×n → r×r
  constexpr int r = S::r, n = S::n;
  v8 t[r * n];
  for (int j = 0; j < n; ++j) S::kernel_adjoint_1d(s + j, n, t + j, n);
  for (int i = 0; i < r; ++i) S::kernel_adjoint_1d(t + n * i, 1, out + r * i, 1);
}

// ---------------------------------------------------------------------------------
// Planes: a batch of maps seen as step² groups of `channels` planes. Element (u, v)
// of plane (group p·step + q, c) of image n is element (step·u + p + offset,
// step·v + q + offset) of map (n, c); outside the map it reads as zero and writes are
// dropped. x's four stride phases: step 2, offset −1 (X_pq[u][v] = x[2u + p − 1][2v + q − 1]);
// a map padded by k before: step 1, offset −k.
struct Planes {
  float* data;  // const for sources (the constructors take const and cast)
  int64_t image_stride, channel_stride, rows, cols, step, offset, channels;
  int64_t groups() const { return step * step; }
  int64_t planes() const { return groups() * channels; }
};

inline v8 fmadd(v8 a, v8 b, v8 c) {
#ifdef __FMA__
  return std::bit_cast<v8>(_mm256_fmadd_ps(std::bit_cast<__m256>(a), std::bit_cast<__m256>(b), std::bit_cast<__m256>(c)));
#else
  return a * b + c;
#endif
}

// ---------------------------------------------------------------------------------
// The 25 GEMMs. Their operands come straight from the transforms, so they need no
// packing: C (rows × cols) (+)= A · B, where A's element (r, k) is a[r·a_row + k·a_step]
// and B is stored in panels of 16 columns, panel j's row k at b + j·b_panel + k·b_step.
// A block of up to 6 rows × 16 columns is 12 accumulators held in registers; each k
// loads 16 floats of B and broadcasts one float of A per row.
constexpr int64_t kPanel = 16, kBlockRows = 6;

template <int kRows>
void multiply_block(int64_t depth, const float* a, int64_t a_row, int64_t a_step, const float* b, int64_t b_step,
                    float* c, int64_t ldc, bool accumulate) {
  v8 acc[kRows][2];
  for (int r = 0; r < kRows; ++r) {
    acc[r][0] = accumulate ? load(c + r * ldc) : v8{};
    acc[r][1] = accumulate ? load(c + r * ldc + kLanes) : v8{};
  }
  for (int64_t k = 0; k < depth; ++k) {
    const v8 b0 = load(b + k * b_step), b1 = load(b + k * b_step + kLanes);
    const float* ak = a + k * a_step;
    for (int r = 0; r < kRows; ++r) {
      const v8 ar = splat(ak[r * a_row]);
      acc[r][0] = fmadd(ar, b0, acc[r][0]);
      acc[r][1] = fmadd(ar, b1, acc[r][1]);
    }
  }
  for (int r = 0; r < kRows; ++r) {
    store(c + r * ldc, acc[r][0]);
    store(c + r * ldc + kLanes, acc[r][1]);
  }
}

struct Operand {
  const float* data;
  int64_t row, step;  // A: row and k strides; B: k stride and panel stride
};

void multiply(int64_t rows, int64_t cols, int64_t depth, const Operand& a, const Operand& b, float* c, int64_t ldc,
              bool accumulate) {
  for (int64_t j = 0; j < cols; j += kPanel) {
    const float* panel = b.data + j / kPanel * b.step;
    int64_t r = 0;
    for (; r + kBlockRows <= rows; r += kBlockRows)
      multiply_block<kBlockRows>(depth, a.data + r * a.row, a.row, a.step, panel, b.row, c + r * ldc + j, ldc,
                                 accumulate);
    const float* ar = a.data + r * a.row;
    float* cr = c + r * ldc + j;
    switch (rows - r) {
      case 5: multiply_block<5>(depth, ar, a.row, a.step, panel, b.row, cr, ldc, accumulate); break;
      case 4: multiply_block<4>(depth, ar, a.row, a.step, panel, b.row, cr, ldc, accumulate); break;
      case 3: multiply_block<3>(depth, ar, a.row, a.step, panel, b.row, cr, ldc, accumulate); break;
      case 2: multiply_block<2>(depth, ar, a.row, a.step, panel, b.row, cr, ldc, accumulate); break;
      case 1: multiply_block<1>(depth, ar, a.row, a.step, panel, b.row, cr, ldc, accumulate); break;
      default: break;
    }
  }
}

struct Tiling {
  int64_t rows, cols;  // tiles per image side
  int64_t per_image() const { return rows * cols; }
};

// ---------------------------------------------------------------------------------
// Between the NCHW maps and the transforms, which run on 8 planes at once, 8 planes
// of an image go through a channels-last block, block[group][u][v][8 planes], by
// 8 × 8 transposes: 8 rows of 8 pixels in, 8 pixels of 8 planes out, and back.

// Transposes the 8 × 8 matrix whose rows are r[0..7].
inline void transpose8(v8* r) {
#ifdef __AVX__
  __m256 t[8], u[8];
  for (int k = 0; k < 8; k += 2) {
    t[k] = _mm256_unpacklo_ps(std::bit_cast<__m256>(r[k]), std::bit_cast<__m256>(r[k + 1]));
    t[k + 1] = _mm256_unpackhi_ps(std::bit_cast<__m256>(r[k]), std::bit_cast<__m256>(r[k + 1]));
  }
  for (int k = 0; k < 8; k += 4) {
    u[k] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(1, 0, 1, 0));
    u[k + 1] = _mm256_shuffle_ps(t[k], t[k + 2], _MM_SHUFFLE(3, 2, 3, 2));
    u[k + 2] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(1, 0, 1, 0));
    u[k + 3] = _mm256_shuffle_ps(t[k + 1], t[k + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int k = 0; k < 4; ++k) {
    r[k] = std::bit_cast<v8>(_mm256_permute2f128_ps(u[k], u[k + 4], 0x20));
    r[k + 4] = std::bit_cast<v8>(_mm256_permute2f128_ps(u[k], u[k + 4], 0x31));
  }
#else
  for (int i = 0; i < 8; ++i)
    for (int j = i + 1; j < 8; ++j) std::swap(r[i][j], r[j][i]);
#endif
}

// The first `count` floats at p (0 < count ≤ 8), zero after: a row's tail, never
// reading past it.
inline v8 load_first(const float* p, int64_t count) {
  if (count == kLanes) return load(p);
#ifdef __AVX2__
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return std::bit_cast<v8>(_mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(count)), lanes)));
#else
  v8 v{};
  for (int64_t l = 0; l < count; ++l) v[l] = p[l];
  return v;
#endif
}
// Stores the first `count` lanes of v at p.
inline void store_first(float* p, v8 v, int64_t count) {
  if (count == kLanes) return store(p, v);
  for (int64_t l = 0; l < count; ++l) p[l] = v[l];
}

// Where pixel `pos` of a map lands in the planes: group coordinate and index.
struct Place {
  int64_t phase, index;
};
Place place(const Planes& pl, int64_t pos) { return {(pos - pl.offset) % pl.step, (pos - pl.offset) / pl.step}; }

// Planes [c, c + 8) of every group of image n into block[group][u][v][8] for u < rows,
// v < cols, zero where the element lies outside the map.
void gather_block(const Planes& in, int64_t n, int64_t c, int64_t rows, int64_t cols, float* block) {
  // Zeros first where the windows reach past the map: whole rows of the block, or
  // single columns.
  auto outside = [](int64_t pos, int64_t extent) { return pos < 0 || pos >= extent; };
  for (int64_t p = 0; p < in.step; ++p)
    for (int64_t q = 0; q < in.step; ++q)
      for (int64_t u = 0; u < rows; ++u) {
        float* line = block + ((p * in.step + q) * rows + u) * cols * kLanes;
        if (outside(in.step * u + p + in.offset, in.rows)) {
          std::fill_n(line, cols * kLanes, 0.0f);
          continue;
        }
        for (int64_t v = 0; v < cols; ++v)
          if (outside(in.step * v + q + in.offset, in.cols)) store(line + v * kLanes, v8{});
      }
  const float* maps = in.data + n * in.image_stride + c * in.channel_stride;
  v8 column[kLanes];
  for (int64_t row = 0; row < in.rows; ++row) {
    const Place r = place(in, row);
    if (r.index >= rows) continue;
    for (int64_t w0 = 0; w0 < in.cols; w0 += kLanes) {
      const int64_t count = std::min(kLanes, in.cols - w0);
      for (int64_t k = 0; k < kLanes; ++k)  // plane k's pixels w0 … w0 + 7
        column[k] = load_first(maps + k * in.channel_stride + row * in.cols + w0, count);
      transpose8(column);  // column[j]: pixel w0 + j of the 8 planes
      for (int64_t j = 0; j < count; ++j) {
        const Place q = place(in, w0 + j);
        if (q.index < cols)
          store(block + (((r.phase * in.step + q.phase) * rows + r.index) * cols + q.index) * kLanes, column[j]);
      }
    }
  }
}

// The inverse: block[group][u][v][8] into planes [c, c + 8) of image n's maps. Every
// pixel of the maps must lie inside the block.
void scatter_block(const float* block, int64_t rows, int64_t cols, const Planes& out, int64_t n, int64_t c) {
  float* maps = out.data + n * out.image_stride + c * out.channel_stride;
  v8 column[kLanes];
  for (int64_t row = 0; row < out.rows; ++row) {
    const Place r = place(out, row);
    for (int64_t w0 = 0; w0 < out.cols; w0 += kLanes) {
      const int64_t count = std::min(kLanes, out.cols - w0);
      for (int64_t j = 0; j < kLanes; ++j) {
        const Place q = place(out, w0 + j);
        column[j] = j < count ? load(block + (((r.phase * out.step + q.phase) * rows + r.index) * cols + q.index) * kLanes)
                              : v8{};
      }
      transpose8(column);  // column[k]: plane k's pixels w0 … w0 + 7
      for (int64_t k = 0; k < kLanes; ++k) store_first(maps + k * out.channel_stride + row * out.cols + w0, column[k], count);
    }
  }
}

// Floats of one image's block for side × side windows at tiles m apart.
int64_t block_floats(const Planes& pl, const Tiling& t, int64_t m, int64_t side) {
  return pl.groups() * (m * (t.rows - 1) + side) * (m * (t.cols - 1) + side) * kLanes;
}

// How transformed tiles are stored: by tile, out[p][ξ][plane] (a tile's points
// contiguous, for the output transform that reads them back); by point,
// out[ξ][p][plane]; or in panels, out[ξ][plane / 16][p][plane % 16] (a GEMM's B,
// whose rows are then contiguous).
enum class Layout { kByTile, kByPoint, kPanels };

// For every tile of images [n0, n0 + images): the kSide × kSide window of every
// plane at (m·th, m·tw), through `transform` (window → n² points), stored in
// `layout`, tiles numbered p = (image − n0, tile row, tile column). Each (image,
// 8 planes) is one job for parallel_for, which runs them on the calling thread inside
// a parallel region and shares them out otherwise (a batch smaller than the thread
// count, or the weight gradient's).
template <class S, int64_t kSide>
void transform_windows(const Planes& in, const Tiling& t, int64_t n0, int64_t images, void (*transform)(const v8*, v8*),
                       float* out, Layout layout) {
  constexpr int64_t m = S::m, points_per_tile = kPoints<S>;
  const int64_t planes = in.planes(), tiles = images * t.per_image(), xi_stride = layout == Layout::kByTile ? planes : tiles * planes;
  const int64_t rows = m * (t.rows - 1) + kSide, cols = m * (t.cols - 1) + kSide, blocks = in.channels / kLanes;
  parallel_for(0, images * blocks, in.groups() * t.per_image() * points_per_tile * kLanes, [&](int64_t job) {
    const int64_t i = job / blocks, c = job % blocks * kLanes;
    float* block = scratch(t_block, block_floats(in, t, m, kSide));
    v8 window[kSide * kSide], points[points_per_tile];
    gather_block(in, n0 + i, c, rows, cols, block);
    for (int64_t group = 0; group < in.groups(); ++group)
      for (int64_t th = 0; th < t.rows; ++th)
        for (int64_t tw = 0; tw < t.cols; ++tw) {
          const float* corner = block + ((group * rows + m * th) * cols + m * tw) * kLanes;
          for (int64_t du = 0; du < kSide; ++du)
            for (int64_t dv = 0; dv < kSide; ++dv) window[du * kSide + dv] = load(corner + (du * cols + dv) * kLanes);
          transform(window, points);
          const int64_t p = (i * t.rows + th) * t.cols + tw, plane = group * in.channels + c;
          float* dst = out + (layout == Layout::kPanels  ? (plane / kPanel * tiles + p) * kPanel + plane % kPanel
                              : layout == Layout::kByTile ? p * points_per_tile * planes + plane
                                                          : p * planes + plane);
          for (int64_t k = 0; k < points_per_tile; ++k) store(dst + k * xi_stride, points[k]);
        }
  });
}

// out = Aᵀ M A (+ bias) for M[p][ξ][plane] (tiles numbered as in transform_windows),
// each m×m tile written where it falls inside the output planes; jobs as there.
template <class S>
void transform_output(const float* mt, const Tiling& t, int64_t n0, int64_t images, const Planes& out,
                      const float* bias) {
  constexpr int64_t m = S::m, points_per_tile = kPoints<S>;
  const int64_t planes = out.planes(), rows = m * t.rows, cols = m * t.cols, blocks = out.channels / kLanes;
  parallel_for(0, images * blocks, out.groups() * t.per_image() * points_per_tile * kLanes, [&](int64_t job) {
    const int64_t i = job / blocks, c = job % blocks * kLanes;
    float* block = scratch(t_block, block_floats(out, t, m, m));
    v8 points[points_per_tile], tile[m * m];
    for (int64_t group = 0; group < out.groups(); ++group) {
      const int64_t plane = group * out.channels + c;
      const v8 b = bias ? load(bias + plane) : v8{};
      for (int64_t th = 0; th < t.rows; ++th)
        for (int64_t tw = 0; tw < t.cols; ++tw) {
          const float* src = mt + ((i * t.rows + th) * t.cols + tw) * points_per_tile * planes + plane;
          for (int64_t k = 0; k < points_per_tile; ++k) points[k] = load(src + k * planes);
          output_2d<S>(points, tile);
          float* corner = block + ((group * rows + m * th) * cols + m * tw) * kLanes;
          for (int64_t di = 0; di < m; ++di)
            for (int64_t dj = 0; dj < m; ++dj) store(corner + (di * cols + dj) * kLanes, tile[di * m + dj] + b);
        }
    }
    scatter_block(block, rows, cols, out, n0 + i, c);
  });
}

// Sub-kernel tap (a, b) of plane group (p, q) is kernel tap (step·a + p, step·b + q);
// for the input gradient, flipped: (step·(r − 1 − a) + p, step·(r − 1 − b) + q).
template <class S>
int64_t kernel_tap(int64_t a, int64_t p, bool flipped) {
  return S::step * (flipped ? S::r - 1 - a : a) + p;
}

// U = (G g Gᵀ) for every r×r sub-kernel g (eq. 8's U), stored as the GEMMs' B:
// U[ξ][c_out / 16][c_in][c_out % 16]. Forward: c_out = o, c_in = (p·step + q)·C + c.
// Input gradient: c_out = (p·step + q)·C + c, c_in = o, the sub-kernels flipped.
// 8 c_out at a time.
template <class S>
void transform_weights(const ConvGeometry& g, const float* w, bool for_input_gradient, float* u) {
  constexpr int64_t r = S::r, groups = S::step * S::step, points_per_tile = kPoints<S>;
  const int64_t k2 = g.kh * g.kw, phases = groups * g.c;
  const int64_t c_out = for_input_gradient ? phases : g.o, c_in = for_input_gradient ? g.o : phases;
  parallel_for(0, c_out / kLanes, c_in * k2 * points_per_tile * kLanes, [&](int64_t block) {
    const int64_t first = block * kLanes;
    float lanes[r * r][kLanes];
    v8 sub[r * r], points[points_per_tile];
    for (int64_t i = 0; i < c_in; ++i) {
      // Lane l's kernel (o, c) and phase.
      const int64_t phase = (for_input_gradient ? first : i) / g.c, p = phase / S::step, q = phase % S::step;
      const float* kernel = for_input_gradient ? w + (i * g.c + first % g.c) * k2 : w + (first * g.c + i % g.c) * k2;
      const int64_t lane_stride = for_input_gradient ? k2 : g.c * k2;
      for (int64_t a = 0; a < r; ++a)
        for (int64_t b = 0; b < r; ++b) {
          const int64_t tap = kernel_tap<S>(a, p, for_input_gradient) * g.kw + kernel_tap<S>(b, q, for_input_gradient);
          for (int64_t l = 0; l < kLanes; ++l) lanes[a * r + b][l] = kernel[l * lane_stride + tap];
        }
      for (int64_t e = 0; e < r * r; ++e) sub[e] = load(lanes[e]);
      kernel_2d<S>(sub, points);
      for (int64_t k = 0; k < points_per_tile; ++k)
        store(u + ((k * (c_out / kPanel) + first / kPanel) * c_in + i) * kPanel + first % kPanel, points[k]);
    }
  });
}

// Runs body(first_image, images) over the batch: each thread an equal share of the
// images (±1) in chunks of about kChunkTiles tiles. A batch smaller than the thread
// count runs on the calling thread, whose products then thread themselves.
template <class F>
void for_each_chunk(int64_t n, int64_t tiles_per_image, F&& body) {
  const int64_t chunk = std::max<int64_t>(kChunkTiles / tiles_per_image, 1);
  auto run = [&](int64_t begin, int64_t end) {
    const int64_t count = ceil_div(end - begin, chunk);
    for (int64_t k = 0; k < count; ++k) {
      const int64_t lo = begin + (end - begin) * k / count, hi = begin + (end - begin) * (k + 1) / count;
      body(lo, hi - lo);
    }
  };
  const int threads = omp_get_max_threads();
  if (threads > 1 && n >= threads && !omp_in_parallel()) {
#pragma omp parallel num_threads(threads)
    {
      const int t = omp_get_thread_num(), count = omp_get_num_threads();
      run(n * t / count, n * (t + 1) / count);
    }
    return;
  }
  run(0, n);
}

// y (or x_grad) from in-planes through weights u: the common body of the forward
// pass and the input gradient.
template <class S>
void correlate(const Planes& in, const Tiling& t, const float* u, const Planes& out, const float* bias,
               int64_t n) {
  constexpr int64_t points_per_tile = kPoints<S>;
  const int64_t c_in = in.planes(), c_out = out.planes();
  for_each_chunk(n, t.per_image(), [&](int64_t n0, int64_t images) {
    const int64_t tiles = images * t.per_image();
    float* v = scratch(t_v, points_per_tile * tiles * c_in);
    float* mt = scratch(t_m, points_per_tile * tiles * c_out);
    transform_windows<S, S::n>(in, t, n0, images, input_2d<S>, v, Layout::kByTile);
    // M_ξ = V_ξ U_ξ: (tiles × c_in)·(c_in × c_out). Threaded only when the batch was too
    // small to share out (inside the threads' region parallel_for runs serially).
    parallel_for(0, points_per_tile, tiles * c_in * c_out, [&](int64_t xi) {
      multiply(tiles, c_out, c_in, {v + xi * c_in, points_per_tile * c_in, 1},
               {u + xi * c_out * c_in, kPanel, kPanel * c_in}, mt + xi * c_out, points_per_tile * c_out,
               /*accumulate=*/false);
    });
    transform_output<S>(mt, t, n0, images, out, bias);
  });
}

// The planes each scheme correlates: the input padded by one (in stride phases for
// F4x2) for the forward pass and the weight gradient; the planes of the input
// gradient (the phases of x_grad, or x_grad itself for F2x3), with the extent they
// need and the output gradient's padding.
template <class S>
Planes input_planes(const ConvGeometry& g, const float* x) {
  return {const_cast<float*>(x), g.c * g.h * g.w, g.h * g.w, g.h, g.w, S::step, -1, g.c};
}
Planes plain_planes(const float* y, int64_t channels, int64_t rows, int64_t cols, int64_t pad) {
  return {const_cast<float*>(y), channels * rows * cols, rows * cols, rows, cols, 1, -pad, channels};
}
struct InputGradient {
  Planes planes;
  int64_t rows, cols, pad;  // plane extent to cover; the output gradient's padding
};
template <class S>
InputGradient input_gradient_planes(const ConvGeometry& g, float* x_grad) {
  if constexpr (S::step == 2)  // X_pq[u] for u ≤ oh: each phase (oh + 1) × (ow + 1)
    return {input_planes<S>(g, x_grad), g.oh + 1, g.ow + 1, 1};
  else  // x_grad[h] = Σ_a w[2 − a] · dy[h − 1 + a]
    return {plain_planes(x_grad, g.c, g.h, g.w, 0), g.h, g.w, 1};
}

template <class S>
void forward(const ConvGeometry& g, const float* x, const float* w, const float* bias, float* y) {
  const Tiling t{ceil_div(g.oh, S::m), ceil_div(g.ow, S::m)};
  float* u = scratch(t_u, kPoints<S> * g.o * S::step * S::step * g.c);
  transform_weights<S>(g, w, /*for_input_gradient=*/false, u);
  correlate<S>(input_planes<S>(g, x), t, u, plain_planes(y, g.o, g.oh, g.ow, 0), bias, g.n);
}

template <class S>
void backward_data(const ConvGeometry& g, const float* y_grad, const float* w, float* x_grad) {
  // Every pixel of x_grad is one element of one plane, inside the tiles: all are written.
  const InputGradient out = input_gradient_planes<S>(g, x_grad);
  const Tiling t{ceil_div(out.rows, S::m), ceil_div(out.cols, S::m)};
  float* u = scratch(t_u, kPoints<S> * g.o * S::step * S::step * g.c);
  transform_weights<S>(g, w, /*for_input_gradient=*/true, u);
  correlate<S>(plain_planes(y_grad, g.o, g.oh, g.ow, out.pad), t, u, out.planes, nullptr, g.n);
}

template <class S>
void backward_weight(const ConvGeometry& g, const float* x, const float* y_grad, float* w_grad) {
  constexpr int64_t r = S::r, points_per_tile = kPoints<S>;
  const Tiling t{ceil_div(g.oh, S::m), ceil_div(g.ow, S::m)};
  const Planes in = input_planes<S>(g, x), grad = plain_planes(y_grad, g.o, g.oh, g.ow, 0);
  const int64_t c_in = in.planes(), panels = c_in / kPanel, per_image = t.per_image();
  // S[ξ][o][c_in] = Σ_p (A dY Aᵀ)[ξ][p][o] · (Bᵀ d B)[ξ][p][c_in] over every tile p:
  // the transforms split over threads by (image, 8 planes), then the products by
  // (ξ, panel of 16 c_in), each summing all tiles in order, so the result does not
  // depend on the thread count. Images go in groups of at most kGroupTiles tiles, to bound memory.
  const int64_t group = std::max<int64_t>(kGroupTiles / per_image, 1);
  float* s = scratch(t_partial, points_per_tile * g.o * c_in);
  if (g.n == 0) std::fill_n(s, points_per_tile * g.o * c_in, 0.0f);
  for (int64_t n0 = 0; n0 < g.n; n0 += group) {
    const int64_t images = std::min(group, g.n - n0), tiles = images * per_image;
    float* v = scratch(t_v, points_per_tile * tiles * c_in);
    float* d = scratch(t_m, points_per_tile * tiles * g.o);
    transform_windows<S, S::n>(in, t, n0, images, input_2d<S>, v, Layout::kPanels);
    transform_windows<S, S::m>(grad, t, n0, images, gradient_2d<S>, d, Layout::kByPoint);
    parallel_for(0, points_per_tile * panels, g.o * kPanel * tiles, [&](int64_t job) {
      const int64_t xi = job / panels, j = job % panels;
      // S_ξ (+)= D_ξᵀ V_ξ: (o × tiles)·(tiles × 16 c_in)
      multiply(g.o, kPanel, tiles, {d + xi * tiles * g.o, 1, g.o}, {v + (xi * panels + j) * tiles * kPanel, kPanel, 0},
               s + xi * g.o * c_in + j * kPanel, c_in, /*accumulate=*/n0 > 0);
    });
  }
  // dW[o][c][kernel_tap(a, p)][kernel_tap(b, q)] = (Gᵀ S G)[a][b].
  parallel_for(0, g.o, c_in * points_per_tile * 4, [&](int64_t o) {
    v8 points[points_per_tile], sub[r * r];
    for (int64_t phase = 0; phase < c_in; phase += kLanes) {
      const int64_t p = phase / g.c / S::step, q = phase / g.c % S::step, c = phase % g.c;
      for (int64_t k = 0; k < points_per_tile; ++k) points[k] = load(s + (k * g.o + o) * c_in + phase);
      kernel_adjoint_2d<S>(points, sub);
      for (int64_t l = 0; l < kLanes; ++l) {
        float* kernel = w_grad + (o * g.c + c + l) * g.kh * g.kw;
        for (int64_t a = 0; a < r; ++a)
          for (int64_t b = 0; b < r; ++b)
            kernel[kernel_tap<S>(a, p, false) * g.kw + kernel_tap<S>(b, q, false)] = sub[a * r + b][l];
      }
    }
  });
}

enum class Scheme { kNone, kF4x2, kF2x3 };

Scheme scheme_for(const ConvGeometry& g) {
  static const bool enabled = [] {
    const char* flag = std::getenv("ADX_WINOGRAD");
    return !(flag && std::strcmp(flag, "0") == 0);
  }();
  const Conv2dOptions& o = g.opt;
  const bool plain = enabled && o.pad_h == 1 && o.pad_w == 1 && o.dilation_h == 1 && o.dilation_w == 1 &&
                     o.groups == 1 && g.kh == g.kw && o.stride_h == o.stride_w && g.c >= 16 && g.o >= kPanel && g.o % kPanel == 0;
  if (!plain) return Scheme::kNone;
  // F4x2: 4·C planes, 8 at a time, and O outputs in panels of 16.
  // (The output sizes follow from the rest; checked, since the tiling relies on them.)
  if (g.kh == 4 && o.stride_h == 2 && g.c % kLanes == 0 && g.oh >= 1 && g.ow >= 1 && g.oh == g.h / 2 &&
      g.ow == g.w / 2)
    return Scheme::kF4x2;
  // F2x3: C and O both serve as outputs (of the input gradient and of the forward pass).
  // On 1-pixel maps a 2×2 tile would do 16 products for one output, against the
  // im2col path's single tap, so maps must be at least 2×2.
  if (g.kh == 3 && o.stride_h == 1 && g.c % kPanel == 0 && g.oh >= 2 && g.ow >= 2 && g.oh == g.h && g.ow == g.w)
    return Scheme::kF2x3;
  return Scheme::kNone;
}

}  // namespace

bool conv2d_winograd_applies(const ConvGeometry& g) { return scheme_for(g) != Scheme::kNone; }

void conv2d_winograd_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                             float* y) {
  if (scheme_for(g) == Scheme::kF4x2) forward<F4x2>(g, x, w, bias, y);
  else forward<F2x3>(g, x, w, bias, y);
}

void conv2d_winograd_backward_data(const ConvGeometry& g, const float* y_grad, const float* w,
                                   float* x_grad) {
  if (scheme_for(g) == Scheme::kF4x2) backward_data<F4x2>(g, y_grad, w, x_grad);
  else backward_data<F2x3>(g, y_grad, w, x_grad);
}

void conv2d_winograd_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                                     float* w_grad) {
  if (scheme_for(g) == Scheme::kF4x2) backward_weight<F4x2>(g, x, y_grad, w_grad);
  else backward_weight<F2x3>(g, x, y_grad, w_grad);
}

}  // namespace adx::cpu
