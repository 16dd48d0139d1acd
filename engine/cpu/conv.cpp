#include "engine/cpu/conv.h"

#include <algorithm>
#include <cstring>
#include <omp.h>
#include <vector>

#include "engine/cpu/gemm.h"

namespace adx::cpu {
namespace {

// col[(c·KH + i)·KW + j][oy·OW + ox] = x[c][oy·sh − ph + i·dh][ox·sw − pw + j·dw], 0 outside.
void im2col(const ConvGeometry& g, const float* x, float* col) {
  const auto& o = g.opt;
  for (int64_t c = 0; c < g.c_group(); ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        float* row = col + ((c * g.kh + i) * g.kw + j) * g.col_cols();
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t y = oy * o.stride_h - o.pad_h + i * o.dilation_h;
          float* out = row + oy * g.ow;
          if (y < 0 || y >= g.h) {
            std::fill_n(out, g.ow, 0.0f);
            continue;
          }
          const float* in = x + (c * g.h + y) * g.w;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t xx = ox * o.stride_w - o.pad_w + j * o.dilation_w;
            out[ox] = (xx >= 0 && xx < g.w) ? in[xx] : 0.0f;
          }
        }
      }
}

// The adjoint of im2col: x[...] += col[...] (x must be zeroed first).
void col2im(const ConvGeometry& g, const float* col, float* x) {
  const auto& o = g.opt;
  for (int64_t c = 0; c < g.c_group(); ++c)
    for (int64_t i = 0; i < g.kh; ++i)
      for (int64_t j = 0; j < g.kw; ++j) {
        const float* row = col + ((c * g.kh + i) * g.kw + j) * g.col_cols();
        for (int64_t oy = 0; oy < g.oh; ++oy) {
          const int64_t y = oy * o.stride_h - o.pad_h + i * o.dilation_h;
          if (y < 0 || y >= g.h) continue;
          float* out = x + (c * g.h + y) * g.w;
          const float* in = row + oy * g.ow;
          for (int64_t ox = 0; ox < g.ow; ++ox) {
            const int64_t xx = ox * o.stride_w - o.pad_w + j * o.dilation_w;
            if (xx >= 0 && xx < g.w) out[xx] += in[ox];
          }
        }
      }
}

// Threads for_each_image runs the images on: all of them when the batch can feed
// every thread and the convolution is big enough to pay for a parallel region, else 1.
// (Below ~2^17 multiply-adds a fork/join costs more than it saves, and far more when
// the cores are shared: gradient checks run thousands of tiny convolutions.)
int image_threads(const ConvGeometry& g) {
  const int threads = omp_get_max_threads();
  const int64_t macs = g.n * g.o * g.col_rows() * g.col_cols();
  return (threads > 1 && g.n >= threads && macs >= (int64_t{1} << 17) && !omp_in_parallel())
             ? threads
             : 1;
}

// Runs body(image, col_buffer, thread) over the batch: images in parallel (each GEMM
// on one thread) when image_threads allows, else one by one with threaded GEMMs.
template <class F>
void for_each_image(const ConvGeometry& g, F&& body) {
  const size_t col_size = static_cast<size_t>(g.col_rows() * g.col_cols());
  if (image_threads(g) > 1) {
#pragma omp parallel
    {
      std::vector<float> col(col_size);
#pragma omp for schedule(static)
      for (int64_t n = 0; n < g.n; ++n) body(n, col.data(), omp_get_thread_num());
    }
  } else {
    std::vector<float> col(col_size);
    for (int64_t n = 0; n < g.n; ++n) body(n, col.data(), 0);
  }
}

}  // namespace

void conv2d_forward(const ConvGeometry& g, const float* x, const float* w, const float* bias,
                    float* y) {
  const int64_t groups = g.opt.groups, og = g.o_group(), k = g.col_rows(), cols = g.col_cols();
  for_each_image(g, [&](int64_t n, float* col, int) {
    for (int64_t gr = 0; gr < groups; ++gr) {
      const float* xg = x + (n * g.c + gr * g.c_group()) * g.h * g.w;
      float* yg = y + (n * g.o + gr * og) * cols;
      im2col(g, xg, col);
      gemm(false, false, og, cols, k, 1.0f, w + gr * og * k, k, col, cols, 0.0f, yg, cols);
      if (bias)
        for (int64_t oc = 0; oc < og; ++oc) {
          const float b = bias[gr * og + oc];
          float* row = yg + oc * cols;
          for (int64_t i = 0; i < cols; ++i) row[i] += b;
        }
    }
  });
}

void conv2d_backward_data(const ConvGeometry& g, const float* y_grad, const float* w,
                          float* x_grad) {
  const int64_t groups = g.opt.groups, og = g.o_group(), k = g.col_rows(), cols = g.col_cols();
  std::fill_n(x_grad, g.n * g.c * g.h * g.w, 0.0f);
  for_each_image(g, [&](int64_t n, float* col, int) {
    for (int64_t gr = 0; gr < groups; ++gr) {
      const float* gy = y_grad + (n * g.o + gr * og) * cols;
      // col = W_gᵀ · gy  (K × cols)
      gemm(true, false, k, cols, og, 1.0f, w + gr * og * k, k, gy, cols, 0.0f, col, cols);
      col2im(g, col, x_grad + (n * g.c + gr * g.c_group()) * g.h * g.w);
    }
  });
}

void conv2d_backward_weight(const ConvGeometry& g, const float* x, const float* y_grad,
                            float* w_grad) {
  const int64_t groups = g.opt.groups, og = g.o_group(), k = g.col_rows(), cols = g.col_cols();
  const int64_t w_size = g.o * k;
  const int threads = image_threads(g);
  // One partial sum per thread, added at the end: no races, same result every run.
  std::vector<float> partial(static_cast<size_t>(w_size * threads), 0.0f);
  for_each_image(g, [&](int64_t n, float* col, int thread) {
    float* acc = partial.data() + thread * w_size;
    for (int64_t gr = 0; gr < groups; ++gr) {
      im2col(g, x + (n * g.c + gr * g.c_group()) * g.h * g.w, col);
      const float* gy = y_grad + (n * g.o + gr * og) * cols;
      // dW_g += gy · colᵀ  (og × K)
      gemm(false, true, og, k, cols, 1.0f, gy, cols, col, cols, 1.0f, acc + gr * og * k, k);
    }
  });
  std::copy_n(partial.data(), w_size, w_grad);
  for (int t = 1; t < threads; ++t)
    for (int64_t i = 0; i < w_size; ++i) w_grad[i] += partial[static_cast<size_t>(t * w_size + i)];
}

}  // namespace adx::cpu
